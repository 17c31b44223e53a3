"""The escalations API over a real app and case store (SQLite and PostgreSQL): intake
(201 new, 200 repeat), malformed bodies refused with nothing stored, the queue, overrides,
and who may call what."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from custodes.access.roles import Role
from custodes.store.schema import AuditEntry, Escalation, EscalationRevision
from tests.web.conftest import Api

TRIAGE = Role.triage_analyst


def record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "escalation_id": "api-1",
        "received_at": "2026-11-20T10:00:00Z",
        "source": "ngo",
        "title": "Doxxing",
        "body": "This account keeps posting insults at a streamer.",
        "subject_ids": ["acct:7"],
        "reach": 2_000,
        "x_ticket": "NGO-88",
    }
    return base | fields


def stored(api: Api) -> tuple[int, int, int]:
    with api.store.read() as session:
        return (
            session.scalar(select(func.count()).select_from(Escalation)) or 0,
            session.scalar(select(func.count()).select_from(EscalationRevision)) or 0,
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.target_type == "escalation")
            )
            or 0,
        )


def post(api: Api, body: Any, role: Role = TRIAGE) -> Any:
    return api.client.post("/api/escalations", json=body, headers=api.auth(role))


def test_intake_is_idempotent_and_updates_keep_history(api: Api) -> None:
    made = post(api, record())
    assert made.status_code == 201, made.text
    first = made.json()
    assert first["escalation_id"] == "api-1" and first["attrs"] == {"x_ticket": "NGO-88"}
    assert {"band", "score", "factors", "route", "sla_due_at", "category"} <= set(first)
    again = post(api, record())
    assert again.status_code == 200 and again.json()["version"] == first["version"]
    assert stored(api) == (1, 2, 1)
    grown = post(api, record(reach=9_000_000))
    assert grown.status_code == 200
    body = grown.json()
    assert body["id"] == first["id"] and body["score"] > first["score"]
    assert [r["kind"] for r in body["revisions"]] == ["intake", "rating", "update", "rating"]
    assert body["revisions"][2]["changes"]["reach"] == [2_000, 9_000_000]
    got = api.client.get(f"/api/escalations/{first['id']}", headers=api.auth(TRIAGE))
    assert got.status_code == 200 and got.json()["reach"] == 9_000_000


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({k: v for k, v in record().items() if k != "body"}, ["body", "body"]),
        (record(reach="many"), ["body", "reach"]),
        (record(received_at=12), ["body", "received_at"]),
        (record(subject_ids={"a": 1}), ["body", "subject_ids"]),
        (record(source="martians"), ["body", "source"]),
        ([record()], ["body"]),
    ],
)
def test_malformed_intake_is_422_naming_the_field(api: Api, body: Any, loc: list[str]) -> None:
    answer = post(api, body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == loc
    assert stored(api) == (0, 0, 0)


def test_oversized_bad_encoding_and_non_json_bodies_are_refused(api: Api) -> None:
    headers = {**api.auth(TRIAGE), "Content-Type": "application/json"}
    huge = json.dumps(record(body="x" * (1024 * 1024)))
    answer = api.client.post("/api/escalations", content=huge, headers=headers)
    assert answer.status_code == 413 and "larger than" in answer.json()["detail"]
    latin1 = json.dumps(record(body="café"), ensure_ascii=False).encode("latin-1")
    answer = api.client.post("/api/escalations", content=latin1, headers=headers)
    assert answer.status_code == 400 and "UTF-8" in answer.json()["detail"]
    answer = api.client.post("/api/escalations", content=b'{"body": ', headers=headers)
    assert answer.status_code == 400 and "not JSON" in answer.json()["detail"]
    answer = api.client.post(
        "/api/escalations", content=json.dumps(record(body="a\u0000b")), headers=headers
    )
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "body"]
    assert stored(api) == (0, 0, 0)


def test_override_with_and_without_reason(api: Api) -> None:
    made = post(api, record()).json()
    url = f"/api/escalations/{made['id']}/override"
    band = "P0" if made["band"] != "P0" else "P1"
    missing = api.client.post(
        url, json={"version": made["version"], "band": band}, headers=api.auth(TRIAGE)
    )
    blank = api.client.post(
        url,
        json={"version": made["version"], "band": band, "reason": "  "},
        headers=api.auth(TRIAGE),
    )
    assert missing.status_code == 422 and blank.status_code == 422
    done = api.client.post(
        url,
        json={"version": made["version"], "band": band, "reason": "Police confirmed"},
        headers=api.auth(TRIAGE),
    )
    assert done.status_code == 200, done.text
    out = done.json()
    assert out["band"] == band and out["overridden"] is True
    assert out["engine"]["band"] == made["band"] and out["engine"]["score"] == made["score"]
    assert out["override"]["reason"] == "Police confirmed" and out["override"]["analyst"]
    stale = api.client.post(
        url,
        json={"version": made["version"], "band": "P3", "reason": "again"},
        headers=api.auth(TRIAGE),
    )
    assert stale.status_code == 409
    assert (
        api.client.post(
            "/api/escalations/999999/override",
            json={"version": 1, "band": "P3", "reason": "x"},
            headers=api.auth(TRIAGE),
        ).status_code
        == 404
    )


def test_queue_by_time_to_breach(api: Api) -> None:
    post(api, record(escalation_id="low", body="someone posted spam links", source="user_report"))
    post(api, record(escalation_id="old", received_at="2026-01-01T00:00:00Z"))
    post(api, record(escalation_id="now"))
    answer = api.client.get("/api/escalations", headers=api.auth(TRIAGE))
    assert answer.status_code == 200
    page = answer.json()
    assert page["total"] == 3
    dues = [item["sla_due_at"] for item in page["items"]]
    assert dues == sorted(dues) and page["items"][0]["escalation_id"] == "old"
    assert page["items"][0]["time_to_breach_seconds"] < 0
    bad = api.client.get("/api/escalations?status=nope", headers=api.auth(TRIAGE))
    assert bad.status_code == 422


def test_investigators_may_not_touch_escalations(api: Api) -> None:
    made = post(api, record()).json()
    who = api.auth(Role.investigator)
    assert post(api, record(escalation_id="x"), Role.investigator).status_code == 403
    assert api.client.get("/api/escalations", headers=who).status_code == 403
    assert api.client.get(f"/api/escalations/{made['id']}", headers=who).status_code == 403
    assert (
        api.client.post(
            f"/api/escalations/{made['id']}/override",
            json={"version": made["version"], "band": "P1", "reason": "no"},
            headers=who,
        ).status_code
        == 403
    )
    assert stored(api)[0] == 1
    assert api.client.get("/api/escalations").status_code == 401
