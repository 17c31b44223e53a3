"""POST /api/sql: answers with pseudonyms, refuses escapes with 400 and a reason, stops
slow queries, cuts long answers, audits every query whatever its outcome, and is closed to
roles without ``sql.run``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from custodes.access.roles import Role
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.store.schema import AuditEntry
from tests.web.conftest import Api
from tests.web.world import ACTORS, add_alert


def _sql(api: Api, sql: str, role: Role = Role.investigator, **extra: Any) -> Any:
    return api.client.post("/api/sql", json={"sql": sql, **extra}, headers=api.auth(role))


def _audited(api: Api) -> list[dict[str, Any]]:
    with api.store.read() as session:
        rows = session.execute(
            select(AuditEntry).where(AuditEntry.action == "sql.run").order_by(AuditEntry.seq)
        ).scalars()
        return [{"actor": r.actor, "target_id": r.target_id, **json.loads(r.detail)} for r in rows]


def test_a_query_answers_with_pseudonyms_and_is_audited(api: Api) -> None:
    add_alert(api.settings.data_dir, ACTORS[0], 1, other=ACTORS[1])
    sql = "SELECT subject, count(*) AS n FROM events GROUP BY ALL ORDER BY subject"
    answer = _sql(api, sql)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["columns"] == [
        {"name": "subject", "type": "VARCHAR"},
        {"name": "n", "type": "BIGINT"},
    ]
    names = Pseudonyms.load(api.store, api.settings)
    assert body["rows"] == [[s, 3] for s in sorted(names.of(a) for a in ACTORS)]
    assert body["row_count"] == 3 and body["truncated"] is False and body["limit"] == 1000
    reasons = _sql(api, "SELECT subject, reasons FROM alerts").json()
    for text in (answer.text, json.dumps(reasons)):
        for actor in ACTORS:
            assert actor not in text
    audited = _audited(api)
    assert audited[0]["actor"] == "investigator"
    assert audited[0]["statement"] == sql
    assert audited[0]["outcome"] == "ok"
    assert audited[0]["rows"] == 3
    assert audited[0]["truncated"] is False
    assert audited[0]["duration_ms"] >= 0
    assert len(audited[0]["target_id"]) == 16


ESCAPES = [
    ("COPY (SELECT 1) TO '/tmp/custodes-x.csv'", "COPY is refused"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv() is refused"),
    ("SELECT * FROM read_text('/etc/passwd')", "read_text() is refused"),
    ("SELECT * FROM read_parquet('http://127.0.0.1:9/x.parquet')", "read_parquet() is refused"),
    ("ATTACH '/tmp/custodes-x.db'", "ATTACH is refused"),
    ("INSTALL httpfs", "INSTALL is refused"),
    ("LOAD httpfs", "LOAD is refused"),
    ("SET enable_external_access = true", "SET is refused"),
    ("PRAGMA threads = 64", "PRAGMA is refused"),
    ("SELECT 1; DROP TABLE events", "one statement at a time"),
    ("/* x */ cReAtE TABLE t AS SELECT 1", "CREATE is refused"),
    ("INSERT INTO events (event_id) VALUES ('x')", "INSERT is refused"),
    ("EXPORT DATABASE '/tmp/custodes-dump'", "EXPORT is refused"),
    ("CALL pragma_version()", "CALL is refused"),
    ("SELECT * FROM main.events", "main.events is refused"),
]


def test_every_escape_is_a_400_with_the_reason_and_is_audited(api: Api) -> None:
    """One app for all of them (each is independent: nothing they try can land)."""
    for sql, says in ESCAPES:
        answer = _sql(api, sql)
        assert answer.status_code == 400, (sql, answer.text)
        assert says in answer.json()["detail"], sql
    audited = _audited(api)
    assert [(a["statement"], a["outcome"]) for a in audited] == [
        (sql, "refused") for sql, _ in ESCAPES
    ]
    for row, (_sql_text, says) in zip(audited, ESCAPES, strict=True):
        assert says in row["error"]
    assert not Path("/tmp/custodes-x.csv").exists()
    assert not Path("/tmp/custodes-x.db").exists()
    assert not Path("/tmp/custodes-dump").exists()


def test_a_slow_query_is_stopped_promptly(api: Api) -> None:
    started = time.monotonic()
    answer = _sql(
        api,
        "SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b",
        timeout_seconds=0.5,
    )
    assert answer.status_code == 400
    assert "ran longer than 0.5 s and was stopped" in answer.json()["detail"]
    assert time.monotonic() - started < 30
    assert _audited(api)[0]["outcome"] == "timeout"


def test_the_row_limit_truncates_and_says_so(api: Api) -> None:
    body = _sql(api, "SELECT * FROM events ORDER BY ts", limit=2).json()
    assert body["row_count"] == 2 and len(body["rows"]) == 2
    assert body["truncated"] is True and body["limit"] == 2
    assert _audited(api)[0]["truncated"] is True


def test_a_mistake_is_a_400_and_audited_as_failed(api: Api) -> None:
    answer = _sql(api, "SELECT actor_id FROM events")
    assert answer.status_code == 400
    assert "actor_id" in answer.json()["detail"]
    assert _audited(api)[0]["outcome"] == "failed"


def test_without_an_event_store_a_table_query_says_so(api: Api, tmp_path: Path) -> None:
    api.app.state.settings = api.settings.model_copy(update={"data_dir": tmp_path / "empty"})
    answer = _sql(api, "SELECT count(*) FROM events")
    assert answer.status_code == 400
    assert "no event store yet" in answer.json()["detail"]


def test_only_roles_with_sql_run_may_query(api: Api) -> None:
    for role in Role:
        answer = _sql(api, "SELECT 1", role)
        if role is Role.triage_analyst:
            assert answer.status_code == 403
            assert "sql.run" in answer.json()["detail"]
        else:
            assert answer.status_code == 200, (role, answer.text)
            assert answer.json()["rows"] == [[1]]
    assert "triage-analyst" not in {row["actor"] for row in _audited(api)}
    assert len(_audited(api)) == len(Role) - 1


def test_no_login_no_query(api: Api) -> None:
    assert api.client.post("/api/sql", json={"sql": "SELECT 1"}).status_code == 401


INVALID: list[dict[str, Any]] = [
    {"sql": ""},
    {"sql": "SELECT 1", "limit": 0},
    {"sql": "SELECT 1", "limit": 10_001},
    {"sql": "SELECT 1", "timeout_seconds": 0},
    {"sql": "SELECT 1", "timeout_seconds": 31},
    {"sql": "SELECT 1", "database": "/etc"},
    {"sql": "x" * 20_001},
]


def test_invalid_bodies_are_422_and_run_nothing(api: Api) -> None:
    for body in INVALID:
        answer = api.client.post("/api/sql", json=body, headers=api.auth(Role.admin))
        assert answer.status_code == 422, body
    assert _audited(api) == []


def test_saved_queries_and_dashboards_through_the_api(api: Api) -> None:
    lead, auditor = api.auth(Role.lead), api.auth(Role.auditor)
    body = {"name": "Per subject", "sql": "SELECT subject, count(*) AS n FROM events GROUP BY ALL"}
    made = api.client.post(
        "/api/sql/saved",
        json={**body, "chart": "bar", "chart_x": "subject", "chart_y": "n"},
        headers=lead,
    )
    assert made.status_code == 201, made.text
    saved = made.json()
    assert (saved["owner"], saved["mine"], saved["shared"], saved["version"]) == (
        "lead",
        True,
        False,
        1,
    )
    clash = api.client.post("/api/sql/saved", json=body, headers=lead)
    assert clash.status_code == 422 and clash.json()["detail"][0]["loc"] == ["body", "name"]
    refused = api.client.post(
        "/api/sql/saved", json={"name": "x", "sql": "COPY events TO 'x.csv'"}, headers=lead
    )
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "sql"]
    assert api.client.get(f"/api/sql/saved/{saved['id']}", headers=auditor).status_code == 404
    shared = api.client.post(
        "/api/sql/saved",
        json={"name": "Shared", "sql": "SELECT 1 AS one", "shared": True},
        headers=lead,
    ).json()
    board = api.client.post(
        "/api/sql/dashboards",
        json={"name": "Board", "query_ids": [saved["id"], shared["id"]], "shared": True},
        headers=lead,
    )
    assert board.status_code == 201
    seen = api.client.get(f"/api/sql/dashboards/{board.json()['id']}", headers=auditor).json()
    assert seen["queries"][0] is None and seen["queries"][1]["name"] == "Shared"
    gone = f"/api/sql/saved/{shared['id']}"
    assert api.client.delete(gone, params={"version": 1}, headers=auditor).status_code == 403
    assert api.client.delete(gone, params={"version": 9}, headers=lead).status_code == 409
    assert api.client.delete(gone, params={"version": 1}, headers=lead).status_code == 204
    after = api.client.get(f"/api/sql/dashboards/{board.json()['id']}", headers=lead).json()
    assert [q["name"] for q in after["queries"]] == ["Per subject"]
    names = [q["name"] for q in api.client.get("/api/sql/saved", headers=auditor).json()]
    assert names == []
