"""The escalations API over a real app and case store (SQLite and PostgreSQL): intake
(201 new, 200 repeat), malformed bodies refused with nothing stored, the queue, overrides,
and who may call what."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from custodes.access.principal import Principal
from custodes.access.roles import Role
from custodes.cases.service import CaseService
from custodes.cases.views import CaseCreate
from custodes.store.schema import (
    AuditEntry,
    Escalation,
    EscalationAttachment,
    EscalationBlob,
    EscalationRevision,
)
from custodes.triage import attachments
from tests.web.conftest import Api, running_api
from tests.web.world import ACTORS

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
    # Filters: the effective band and the route, as the queue page offers them.
    band = page["items"][0]["band"]
    route = page["items"][-1]["route"]
    by_band = api.client.get(f"/api/escalations?band={band}", headers=api.auth(TRIAGE)).json()
    assert {i["escalation_id"] for i in by_band["items"]} == {
        i["escalation_id"] for i in page["items"] if i["band"] == band
    }
    by_route = api.client.get("/api/escalations", params={"route": route}, headers=api.auth(TRIAGE))
    assert {i["route"] for i in by_route.json()["items"]} == {route}
    assert api.client.get("/api/escalations?band=P9", headers=api.auth(TRIAGE)).status_code == 422


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


# --- the lifecycle: status moves, breaches, attachments, the integrity case link ------------


def moved(api: Api, pk: int, step: str, body: dict[str, Any], role: Role = TRIAGE) -> Any:
    return api.client.post(f"/api/escalations/{pk}/{step}", json=body, headers=api.auth(role))


def test_status_moves_stale_versions_and_bad_moves(api: Api) -> None:
    made = post(api, record(received_at=datetime.now(UTC).isoformat())).json()
    acked = moved(api, made["id"], "acknowledge", {"version": made["version"]})
    assert acked.status_code == 200, acked.text
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged"]["by"] == "triage-analyst"
    stale = moved(api, made["id"], "action", {"version": made["version"], "note": "x"})
    assert stale.status_code == 409 and "version" in stale.json()["detail"]
    again = moved(api, made["id"], "acknowledge", {"version": acked.json()["version"]})
    assert again.status_code == 409 and "already acknowledged" in again.json()["detail"]
    version = acked.json()["version"]
    for body, loc in [
        ({"version": version}, ["body", "resolution"]),
        ({"version": version, "resolution": "nuked"}, ["body", "resolution"]),
        ({"version": version, "resolution": "no_action", "owner": "me"}, ["body", "owner"]),
        ({"version": version, "resolution": "no_action", "note": "x" * 10_001}, ["body", "note"]),
        ({"version": version, "resolution": "no_action", "note": "a\u0000b"}, ["body", "note"]),
    ]:
        bad = moved(api, made["id"], "resolve", body)
        assert bad.status_code == 422, body
        assert bad.json()["detail"][0]["loc"] == loc
    acted = moved(api, made["id"], "action", {"version": version, "note": "asked to preserve"})
    assert acted.status_code == 200 and acted.json()["actioned"]["note"] == "asked to preserve"
    done = moved(
        api,
        made["id"],
        "resolve",
        {"version": acted.json()["version"], "resolution": "referred_to_law_enforcement"},
    )
    assert done.status_code == 200, done.text
    out = done.json()
    assert out["status"] == "resolved" and out["breaches"] == []
    assert out["resolved"]["resolution"] == "referred_to_law_enforcement"
    assert [r["kind"] for r in out["revisions"]][-3:] == ["status", "status", "status"]
    assert moved(api, 999_999, "acknowledge", {"version": 1}).status_code == 404
    assert moved(api, made["id"], "acknowledge", {"version": 1}, Role.lead).status_code == 403


def test_a_late_acknowledge_records_the_breach_with_its_cause(api: Api) -> None:
    made = post(api, record(received_at="2026-01-05T10:00:00Z")).json()
    acked = moved(api, made["id"], "acknowledge", {"version": made["version"]}).json()
    [breach] = acked["breaches"]
    assert breach["clock"] == "acknowledge" and breach["step"] == "acknowledge"
    assert breach["cause"].startswith(f"{made['band']} acknowledge")
    assert breach["overdue_seconds"] > 0 and breach["actor"] == "triage-analyst"
    assert acked["sla_due_at"] == min(v for k, v in made["clocks"].items() if k != "acknowledge")


def attach(api: Api, pk: int, content: bytes, role: Role = TRIAGE, **params: Any) -> Any:
    headers = {**api.auth(role), "Content-Type": params.pop("content_type", "application/pdf")}
    return api.client.post(
        f"/api/escalations/{pk}/attachments",
        content=content,
        params={"filename": "order.pdf", **params},
        headers=headers,
    )


def attachment_rows(api: Api) -> tuple[int, int]:
    with api.store.read() as session:
        return (
            session.scalar(select(func.count()).select_from(EscalationAttachment)) or 0,
            session.scalar(select(func.count()).select_from(EscalationBlob)) or 0,
        )


def test_attachments_upload_list_download_and_repeat(api: Api) -> None:
    made = post(api, record()).json()
    data = b"%PDF-1.7\n police preservation order"
    added = attach(api, made["id"], data)
    assert added.status_code == 201, added.text
    first = added.json()
    assert first["sha256"] == hashlib.sha256(data).hexdigest()
    assert (first["size"], first["content_type"], first["filename"]) == (
        len(data),
        "application/pdf",
        "order.pdf",
    )
    audits = stored(api)[2]
    repeat = attach(api, made["id"], data, filename="again.pdf")
    assert repeat.status_code == 200 and repeat.json() == first
    assert attachment_rows(api) == (1, 1) and stored(api)[2] == audits  # nothing new
    listed = api.client.get(
        f"/api/escalations/{made['id']}/attachments", headers=api.auth(Role.auditor)
    )
    assert listed.status_code == 200 and listed.json() == [first]
    got = api.client.get(
        f"/api/escalations/{made['id']}/attachments/{first['id']}", headers=api.auth(Role.lead)
    )
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith('attachment; filename="order.pdf"')
    assert got.headers["content-security-policy"] == "sandbox"
    missing = api.client.get(
        f"/api/escalations/{made['id']}/attachments/999", headers=api.auth(TRIAGE)
    )
    assert missing.status_code == 404
    assert attach(api, made["id"], b"x", Role.investigator).status_code == 403


def test_bad_attachments_are_refused_and_store_nothing(api: Api) -> None:
    made = post(api, record()).json()
    pk = made["id"]
    huge = attach(api, pk, b"x" * (attachments.MAX_SIZE + 1))
    assert huge.status_code == 413 and "at most" in huge.json()["detail"]
    for answer, loc in [
        (attach(api, pk, b""), ["body", "body"]),
        (attach(api, pk, b"x", filename="../../etc/passwd"), ["body", "filename"]),
        (attach(api, pk, b"x", filename=" "), ["body", "filename"]),
        (attach(api, pk, b"x", filename="n" * 256), ["query", "filename"]),
        (attach(api, pk, b"x", content_type="not a type"), ["body", "content_type"]),
    ]:
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["loc"] == loc
    nameless = api.client.post(
        f"/api/escalations/{pk}/attachments", content=b"x", headers=api.auth(TRIAGE)
    )
    assert nameless.status_code == 422
    assert nameless.json()["detail"][0]["loc"] == ["query", "filename"]
    assert attach(api, 999_999, b"x").status_code == 404
    assert attachment_rows(api) == (0, 0)


def test_the_integrity_case_link_is_shown_only_to_who_may_see_the_case(api: Api) -> None:
    cases = CaseService(api.store, api.settings)
    admin = Principal(api.ids[Role.admin], "admin", Role.admin)
    case = cases.create(admin, CaseCreate(title="Snooping on a streamer", subjects=[ACTORS[0]]))
    made = post(api, record(subject_ids=["acct:7", ACTORS[0]])).json()
    assert made["staff_involved"] is True
    assert made["case_id"] is None and made["integrity_case"] is None
    seen = {}
    for role in (Role.admin, Role.lead, Role.auditor, Role.triage_analyst):
        answer = api.client.get(f"/api/escalations/{made['id']}", headers=api.auth(role))
        assert answer.status_code == 200
        seen[role] = answer.json()
        assert seen[role]["staff_involved"] is True
    for role in (Role.admin, Role.lead, Role.auditor):
        assert seen[role]["case_id"] == case.id
        assert seen[role]["integrity_case"] == {
            "id": case.id,
            "title": "Snooping on a streamer",
            "status": "new",
        }
    analyst = seen[Role.triage_analyst]
    assert analyst["case_id"] is None and analyst["integrity_case"] is None
    assert "Snooping" not in json.dumps(analyst)
    queue = api.client.get("/api/escalations", headers=api.auth(TRIAGE)).json()
    assert queue["items"][0]["case_id"] is None and queue["items"][0]["staff_involved"]
    # A staff member of the directory with no open case: the flag, and no link for anyone.
    other = post(api, record(escalation_id="api-2", subject_ids=[ACTORS[1]])).json()
    assert other["staff_involved"] is True
    shown = api.client.get(f"/api/escalations/{other['id']}", headers=api.auth(Role.admin))
    assert shown.json()["case_id"] is None and shown.json()["integrity_case"] is None
    plain = post(api, record(escalation_id="api-3", subject_ids=["acct:8"])).json()
    assert plain["staff_involved"] is False


def test_api_intake_rates_with_the_adjustment_in_force_and_notices_a_revert(
    case_url: str, tmp_path: Path
) -> None:
    """With a configured rules-only policy (CUSTODES_TRIAGE_POLICY), an adjustment applied
    or reverted on disk is used by the next intake without a restart."""
    from custodes.triage import adjustment
    from custodes.triage.calibration import Suggestion
    from custodes.triage.policy import default_text, load_policy

    rules = tmp_path / "rules.yaml"
    rules.write_text(default_text().replace("use: lift", "use: off"), encoding="utf-8")
    with running_api(case_url, tmp_path / "data", triage_policy=rules) as api:
        base = load_policy(rules)
        before = post(api, record(escalation_id="adj-1", subject_ids=["acct:adj1"])).json()
        assert before["engine"]["policy_version"] == base.version
        assert not any(f["name"] == "text_model" for f in before["factors"])  # rules alone
        category = before["category"]
        severity = base.severity[category]
        raised = Suggestion(
            field=f"severity.{category}",
            current=severity,
            proposed=severity + 1 if severity < 5 else severity - 1,
            base=severity,
            ratings=20,
            overrides=8,
            up=8,
            down=0,
            p_value=0.01,
            why="test",
        )
        entry = adjustment.apply(
            api.settings.data_dir, base, [raised], analyst="lead", reason="analysts agree"
        )
        after = post(api, record(escalation_id="adj-2", subject_ids=["acct:adj2"])).json()
        assert after["engine"]["policy_version"] == entry.version
        assert any(f["name"] == "adjustment" for f in after["factors"])
        adjustment.revert(api.settings.data_dir, base, 0, analyst="lead", reason="undo")
        again = post(api, record(escalation_id="adj-3", subject_ids=["acct:adj3"])).json()
        assert again["engine"]["policy_version"] == base.version
        assert again["score"] == before["score"]


def test_the_shipped_policy_shows_the_band_models_reading(api: Api) -> None:
    made = post(api, record(escalation_id="model-1", subject_ids=["acct:m1"])).json()
    [factor] = [f for f in made["factors"] if f["name"] == "text_model"]
    assert factor["input"].split()[0] in ("P0", "P1", "P2", "P3", "P4")


def test_staff_named_in_an_escalation_appear_as_pseudonyms_unless_unmasked(api: Api) -> None:
    from custodes.privacy.pseudonyms import Pseudonyms

    actor = ACTORS[0]
    pseudonym = Pseudonyms.load(api.store, api.settings).of(actor)
    body = f"Moderator {actor} keeps reading my private messages."
    made = post(
        api, record(escalation_id="staff-1", subject_ids=["acct:7", actor], body=body)
    ).json()
    assert made["staff_involved"] is True
    post(api, record(escalation_id="staff-1", subject_ids=["acct:7", actor], body=body + "!"))
    for role in (Role.admin, Role.lead, Role.auditor, Role.triage_analyst):
        detail = api.client.get(f"/api/escalations/{made['id']}", headers=api.auth(role))
        queue = api.client.get("/api/escalations", headers=api.auth(role))
        for answer in (detail, queue):
            assert answer.status_code == 200
            assert actor not in answer.text, (role, answer.text)
        assert pseudonym in detail.json()["subject_ids"]
        assert pseudonym in detail.json()["body"]
    assert actor not in json.dumps(made)

    # A lead who unmasks the pseudonym (with a justification; the reverse mapping lives in
    # the integrity case about them) reads the real id, and the read's audit row says which
    # pseudonym was seen through.
    admin = Principal(api.ids[Role.admin], "admin", Role.admin)
    CaseService(api.store, api.settings).create(
        admin, CaseCreate(title="Snooping", subjects=[actor])
    )
    granted = api.client.post(
        "/api/unmask",
        json={"pseudonym": pseudonym, "justification": "Escalation names this moderator"},
        headers=api.auth(Role.lead),
    )
    assert granted.status_code in (200, 201), granted.text
    if granted.json().get("status") != "active":
        pytest.skip("this installation requires a second approver")
    seen = api.client.get(f"/api/escalations/{made['id']}", headers=api.auth(Role.lead)).json()
    assert actor in seen["subject_ids"] and actor in seen["body"]
    audit = api.client.get(
        "/api/audit?action=escalation.read&sort=-seq&limit=1", headers=api.auth(Role.auditor)
    ).json()
    assert audit["items"][0]["detail"]["unmasked"] == [pseudonym]
    still = api.client.get(f"/api/escalations/{made['id']}", headers=api.auth(TRIAGE))
    assert actor not in still.text
