"""`custodes case ...` and `custodes audit verify` end to end, on SQLite and PostgreSQL (the
case store named by CUSTODES_DATABASE_URL) beside a real DuckDB event store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from custodes.access.roles import Role
from custodes.cli.app import app
from custodes.detect.feedback import verdicts
from custodes.errors import ConflictError, InputError, NotFoundError
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from tests.cases.helpers import add_alert, add_events, add_user

runner = CliRunner()


@pytest.fixture
def env(case_url: str, data_dir: Path) -> dict[str, str]:
    with EventStore.open(data_dir) as store:
        ids = add_events(store, "m042", 3, ["login", "view_private_data", "export_data"])
        add_alert(store, "m042", 3, evidence=ids[1:])
        add_alert(store, "m042", 4, detector="rules", score=0.6)
    with CaseStore(case_url) as cases:
        add_user(cases, "ana", Role.investigator)
        add_user(cases, "ivo", Role.investigator)
    return {"CUSTODES_DATABASE_URL": case_url, "CUSTODES_USER": "ana"}


def _run(env: dict[str, str], data_dir: Path, *args: str) -> Any:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir), "-f", "json"], env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def test_a_case_from_alerts_to_verdicts(env: dict[str, str], data_dir: Path, case_url: str) -> None:
    with EventStore.open(data_dir, read_only=True) as store:
        alert_ids = [r[0] for r in store.fetch_all("SELECT alert_id FROM alerts ORDER BY score")]
    case = _run(env, data_dir, "case", "from-alerts", *alert_ids)
    assert case["status"] == "new" and len(case["alerts"]) == 2
    assert "m042" not in json.dumps(case)
    listed = _run(env, data_dir, "case", "list")
    assert [c["id"] for c in listed] == [case["id"]]
    assert listed[0]["subjects"] == [case["subjects"][0]["pseudonym"]]
    moved = _run(env, data_dir, "case", "move", str(case["id"]), "triage")
    assert moved["status"] == "triage" and moved["version"] == 2
    _run(env, data_dir, "case", "note", str(case["id"]), "Badge logs match.")
    events = _run(env, data_dir, "case", "timeline", str(case["id"]), "--family", "data_access")
    assert [e["action"] for e in events] == ["view_private_data", "export_data"]
    assert all(e["alert_evidence"] for e in events)
    stale = runner.invoke(
        app,
        [
            "case",
            "close",
            str(case["id"]),
            "substantiated",
            "--version",
            "1",
            "--data-dir",
            str(data_dir),
        ],
        env=env,
    )
    assert isinstance(stale.exception, ConflictError)
    closed = _run(
        env,
        data_dir,
        "case",
        "close",
        str(case["id"]),
        "substantiated",
        "--reason",
        "confirmed with HR",
    )
    assert closed["outcome"] == "substantiated"
    # `custodes detect` would sync too; `case sync` does it on its own.
    assert _run(env, data_dir, "case", "sync") == {"synced_alerts": 2}
    with EventStore.open(data_dir, read_only=True) as store:
        assert {v.verdict.value for v in verdicts(store)} == {"true_positive"}
    report = _run(env, data_dir, "audit", "verify")
    assert report["ok"] and report["rows"] >= 6 and report["break_row"] is None


def test_errors_say_what(env: dict[str, str], data_dir: Path) -> None:
    cases = _run(env, data_dir, "case", "list")
    assert cases == []
    bad = runner.invoke(
        app,
        ["case", "create", "--title", "x", "--severity", "huge", "--data-dir", str(data_dir)],
        env=env,
    )
    assert isinstance(bad.exception, InputError) and bad.exception.field == "severity"
    created = _run(env, data_dir, "case", "create", "--title", "Manual", "--subject", "m042")
    hidden = runner.invoke(
        app,
        ["case", "show", str(created["id"]), "--data-dir", str(data_dir)],
        env={**env, "CUSTODES_USER": "ivo"},
    )
    assert isinstance(hidden.exception, NotFoundError)
    nobody = runner.invoke(
        app, ["case", "list", "--as", "mallory", "--data-dir", str(data_dir)], env=env
    )
    assert isinstance(nobody.exception, NotFoundError)


def test_audit_verify_says_where_the_chain_breaks(
    env: dict[str, str], data_dir: Path, case_url: str
) -> None:
    created = _run(env, data_dir, "case", "create", "--title", "Manual", "--subject", "m042")
    _run(env, data_dir, "case", "show", str(created["id"]))
    with CaseStore(case_url) as cases, cases.write_engine.begin() as conn:
        if cases.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_append_only ON audit_log")
        conn.execute(sa.text("UPDATE audit_log SET actor = 'eve' WHERE seq = 2"))
    broken = runner.invoke(app, ["audit", "verify", "--data-dir", str(data_dir)], env=env)
    assert broken.exit_code == 1
    assert "chain breaks at row 2" in broken.stderr


def test_detect_syncs_case_verdicts_but_never_creates_a_case_store(tmp_path: Path) -> None:
    data = tmp_path / "solo"
    with EventStore.open(data) as store:
        add_events(store, "m042", 3, ["login", "view_private_data"])
    env = {"CUSTODES_DATABASE_URL": ""}
    result = runner.invoke(app, ["detect", "--data-dir", str(data), "-f", "json"], env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    assert not (data / "cases.sqlite").exists()
    with EventStore.open(data) as store:
        add_alert(store, "m042", 3)
        (alert_id,) = [r[0] for r in store.fetch_all("SELECT alert_id FROM alerts")]
    with CaseStore(f"sqlite:///{data / 'cases.sqlite'}") as cases:
        add_user(cases, "ana", Role.investigator)
    me = {"CUSTODES_USER": "ana", **env}
    made = _run(me, data, "case", "from-alerts", alert_id)
    _run(me, data, "case", "close", str(made["id"]), "unsubstantiated")
    result = runner.invoke(app, ["detect", "--data-dir", str(data), "-f", "json"], env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    with EventStore.open(data, read_only=True) as store:
        assert [v.verdict.value for v in verdicts(store)] == ["false_positive"]
