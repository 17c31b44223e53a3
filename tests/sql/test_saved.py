"""Saved queries and dashboards on SQLite and PostgreSQL: who sees them, who may change
them, versions, names, the guard at save time, audit rows, and a batch of saved queries run
in one sandbox (each audited, one failing without stopping the others)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from custodes.access import users
from custodes.access.principal import Principal
from custodes.access.roles import Role
from custodes.config import Settings
from custodes.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.sql import QueryRefused
from custodes.sql.audited import run_audited, run_batch
from custodes.sql.saved import ChartChoice, ChartKind, SavedQueries
from custodes.store.cases import CaseStore
from custodes.store.events import DB_FILE
from custodes.store.schema import AuditEntry, DashboardItem
from tests.sql.conftest import STAFF, build_store

COUNT = "SELECT subject, count(*) AS n FROM events GROUP BY ALL ORDER BY subject"
BAR = ChartChoice(ChartKind.bar, "subject", "n")


@pytest.fixture
def people(cases: CaseStore) -> dict[str, Principal]:
    out = {}
    with cases.write() as session:
        for name, role in (
            ("ana", Role.investigator),
            ("bo", Role.lead),
            ("tri", Role.triage_analyst),
        ):
            user = users.add_user(session, username=name, role=role, password="x" * 20).user
            out[name] = Principal(user.id, name, role)
    return out


@pytest.fixture
def saved(cases: CaseStore) -> SavedQueries:
    return SavedQueries(cases)


def _audit(cases: CaseStore, action: str) -> list[dict[str, object]]:
    with cases.read() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        return [{"actor": r.actor, "target": r.target_id, **json.loads(r.detail)} for r in rows]


def test_a_query_is_private_until_shared(saved: SavedQueries, people: dict[str, Principal]) -> None:
    ana, bo = people["ana"], people["bo"]
    mine = saved.save_query(ana, name=" Per subject ", sql=f" {COUNT} ", chart=BAR, shared=False)
    assert (mine.name, mine.sql, mine.chart, mine.mine, mine.version) == (
        "Per subject",
        COUNT,
        BAR,
        True,
        1,
    )
    assert [q.id for q in saved.list_queries(ana)] == [mine.id]
    assert saved.list_queries(bo) == []
    with pytest.raises(NotFoundError):
        saved.get_query(bo, mine.id)
    shared = saved.save_query(
        ana, name="Per subject", sql=COUNT, chart=BAR, shared=True, query_id=mine.id, version=1
    )
    assert shared.version == 2 and shared.shared
    seen = saved.get_query(bo, mine.id)
    assert seen.owner == "ana" and not seen.mine
    with pytest.raises(PermissionDeniedError, match="only its owner"):
        saved.save_query(
            bo, name="Mine now", sql=COUNT, chart=BAR, shared=True, query_id=mine.id, version=2
        )
    with pytest.raises(PermissionDeniedError):
        saved.delete_query(bo, mine.id, 2)
    with pytest.raises(PermissionDeniedError):
        saved.list_queries(people["tri"])  # no sql.run


def test_versions_names_and_the_guard(saved: SavedQueries, people: dict[str, Principal]) -> None:
    ana, bo = people["ana"], people["bo"]
    q = saved.save_query(ana, name="One", sql=COUNT, chart=ChartChoice(), shared=False)
    with pytest.raises(ConflictError, match="changed meanwhile"):
        saved.save_query(
            ana,
            name="One",
            sql="SELECT 1",
            chart=ChartChoice(),
            shared=False,
            query_id=q.id,
            version=7,
        )
    with pytest.raises(InputError) as clash:
        saved.save_query(ana, name="One", sql="SELECT 2", chart=ChartChoice(), shared=False)
    assert clash.value.field == "name"
    saved.save_query(bo, name="One", sql="SELECT 2", chart=ChartChoice(), shared=False)  # theirs
    for bad, field in (
        ("COPY events TO '/tmp/x.csv'", "sql"),
        ("SELECT * FROM read_csv('/etc/passwd')", "sql"),
        ("SELECT 1; SELECT 2", "sql"),
        ("", "sql"),
    ):
        with pytest.raises(InputError) as refused:
            saved.save_query(ana, name="Bad", sql=bad, chart=ChartChoice(), shared=False)
        assert refused.value.field == field
    with pytest.raises(InputError) as unnamed:
        saved.save_query(ana, name="  ", sql=COUNT, chart=ChartChoice(), shared=False)
    assert unnamed.value.field == "name"
    with pytest.raises(InputError) as axis:
        ChartChoice.of("bar", "subject", "")
    assert axis.value.field == "chart_y"
    with pytest.raises(InputError):
        ChartChoice.of("pie", "a", "b")
    assert ChartChoice.of("none", "a", "b") == ChartChoice()
    assert [r["name"] for r in _audit(saved.store, "sql.save")] == ["One", "One"]
    assert saved.get_query(ana, q.id).sql == COUNT  # the refused saves changed nothing


def test_dashboards_show_what_each_viewer_may_see(
    saved: SavedQueries, people: dict[str, Principal]
) -> None:
    ana, bo = people["ana"], people["bo"]
    shared = saved.save_query(ana, name="Shared", sql=COUNT, chart=BAR, shared=True)
    private = saved.save_query(
        ana, name="Private", sql="SELECT 1 AS x", chart=ChartChoice(), shared=False
    )
    with pytest.raises(InputError) as none:
        saved.save_dashboard(ana, name="Empty", query_ids=[], shared=True)
    assert none.value.field == "queries"
    with pytest.raises(InputError, match="no saved query 999"):
        saved.save_dashboard(ana, name="Ghost", query_ids=[shared.id, 999], shared=True)
    with pytest.raises(InputError, match=f"no saved query {private.id}"):
        saved.save_dashboard(bo, name="Not yours", query_ids=[private.id], shared=False)
    board = saved.save_dashboard(
        ana, name="Board", description="Both", query_ids=[private.id, shared.id], shared=True
    )
    assert [q.name for q in board.queries if q] == ["Private", "Shared"]
    seen = saved.get_dashboard(bo, board.id)
    assert seen.queries[0] is None and seen.queries[1] is not None  # not shared with bo
    assert [d.name for d in saved.list_dashboards(bo)] == ["Board"]
    # Deleting a query takes it off the dashboard.
    saved.delete_query(ana, private.id, 1)
    assert [q.name for q in saved.get_dashboard(ana, board.id).queries if q] == ["Shared"]
    with saved.store.read() as session:
        assert session.scalars(select(DashboardItem.saved_query_id)).all() == [shared.id]
    deleted = _audit(saved.store, "sql.delete")
    assert deleted == [
        {"actor": "ana", "target": str(private.id), "name": "Private", "dashboards": [board.id]}
    ]
    with pytest.raises(ConflictError):
        saved.delete_dashboard(ana, board.id, 99)
    with pytest.raises(PermissionDeniedError):
        saved.delete_dashboard(bo, board.id, 1)
    saved.delete_dashboard(ana, board.id, 1)
    assert saved.list_dashboards(ana) == []
    assert [r["name"] for r in _audit(saved.store, "sql.dashboard_delete")] == ["Board"]


@pytest.fixture
def events(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    build_store(data)
    return data / DB_FILE


def test_a_batch_runs_in_one_sandbox_and_audits_each(
    cases: CaseStore, people: dict[str, Principal], events: Path, tmp_path: Path
) -> None:
    settings = Settings(data_dir=events.parent)
    ana = people["ana"]
    outcomes = run_batch(
        cases,
        ana,
        [(1, COUNT), (2, "SELECT * FROM read_csv('/etc/passwd')"), (3, "SELECT nope FROM events")],
        events=events,
        settings=settings,
    )
    names = Pseudonyms.load(cases, settings)
    first = outcomes[0].result
    assert first is not None and [r[0] for r in first.rows] == sorted(names.of(s) for s in STAFF)
    assert isinstance(outcomes[1].error, QueryRefused)
    assert outcomes[2].result is None and "nope" in str(outcomes[2].error)
    audited = _audit(cases, "sql.run")
    assert [(r["saved_query_id"], r["outcome"]) for r in audited] == [
        (1, "ok"),
        (2, "refused"),
        (3, "failed"),
    ]
    with pytest.raises(QueryRefused):
        run_audited(cases, ana, "ATTACH 'x.db'", events=events, settings=settings)
    assert _audit(cases, "sql.run")[-1]["outcome"] == "refused"
    with pytest.raises(PermissionDeniedError):
        run_batch(cases, people["tri"], [(1, COUNT)], events=events, settings=settings)
