"""Alembic migrations of the case store, on SQLite and PostgreSQL: every revision goes up and
comes down cleanly, and the models match the migrated schema (no drift)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from custodes.audit import append, verify
from custodes.store.cases import MIGRATIONS, CaseStore
from custodes.store.schema import Base


def _revisions() -> list[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def test_every_revision_goes_up_and_down(case_url: str) -> None:
    with CaseStore(case_url, migrate=False) as store:
        assert store.revision() is None
        for revision in _revisions():
            store.upgrade(revision)
            assert store.revision() == revision
        assert {"cases", "audit_log", "users"} <= store.tables()
        store.downgrade("base")
        assert store.revision() is None
        assert store.tables() <= {"alembic_version"}
        store.upgrade()  # and up again from nothing
        assert store.revision() == _revisions()[-1]


def test_models_match_the_migrated_schema(cases: CaseStore) -> None:
    with cases.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_opening_again_keeps_the_data(case_url: str) -> None:
    with CaseStore(case_url) as store, store.write() as session:
        append(session, actor="ana", action="case.read", target_type="case", target_id=1)
    with CaseStore(case_url) as again:  # migrates to head: nothing to do, nothing lost
        report = verify(again)
    assert report.ok and report.rows == 1
