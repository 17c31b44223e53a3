"""Cases over HTTP: need-to-know, optimistic concurrency, pseudonyms, unmasking."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from custodes.access.roles import Role
from tests.web.conftest import Api, running_api
from tests.web.world import ACTORS, add_alert


def _case(api: Api, role: Role = Role.lead, **fields: Any) -> dict[str, Any]:
    body = {"title": "Snooping on a creator", "subjects": [ACTORS[0]], **fields}
    answer = api.client.post("/api/cases", json=body, headers=api.auth(role))
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


def test_investigator_guessing_ids_gets_404_like_for_nothing(api: Api) -> None:
    mine = _case(api, assignee_id=api.ids[Role.investigator])
    theirs = _case(api)
    secret = _case(api, Role.admin, restricted=True)
    investigator = api.auth(Role.investigator)
    assert api.client.get(f"/api/cases/{mine['id']}", headers=investigator).status_code == 200
    hidden = api.client.get(f"/api/cases/{theirs['id']}", headers=investigator)
    missing = api.client.get("/api/cases/99999", headers=investigator)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(str(theirs["id"]), "N") == missing.json()[
        "detail"
    ].replace("99999", "N")
    for guess in range(1, 40):
        answer = api.client.get(f"/api/cases/{guess}", headers=investigator)
        assert answer.status_code == (200 if guess == mine["id"] else 404)
        patch = api.client.patch(
            f"/api/cases/{guess}", json={"version": 1, "title": "x"}, headers=investigator
        )
        assert patch.status_code == (200 if guess == mine["id"] else 404)
    listed = api.client.get("/api/cases", headers=investigator).json()
    assert [c["id"] for c in listed["items"]] == [mine["id"]] and listed["total"] == 1
    # A lead sees every case but the restricted one, which does not exist for them.
    lead = api.auth(Role.lead)
    assert api.client.get(f"/api/cases/{secret['id']}", headers=lead).status_code == 404
    assert api.client.get(f"/api/cases/{theirs['id']}", headers=lead).status_code == 200
    # A role without case.read is refused outright (it knows cases exist, not which).
    triage = api.auth(Role.triage_analyst)
    assert api.client.get(f"/api/cases/{mine['id']}", headers=triage).status_code == 403


def test_two_analysts_editing_one_case_lose_nothing(api: Api) -> None:
    case = _case(api, assignee_id=api.ids[Role.investigator])
    url = f"/api/cases/{case['id']}"
    first = api.client.patch(
        url, json={"version": 1, "title": "First analyst"}, headers=api.auth(Role.investigator)
    )
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = api.client.patch(
        url, json={"version": 1, "description": "Second analyst"}, headers=api.auth(Role.lead)
    )
    assert stale.status_code == 409 and "version" in stale.json()["detail"]
    now = api.client.get(url, headers=api.auth(Role.lead)).json()
    assert (now["title"], now["description"], now["version"]) == ("First analyst", "", 2)
    retried = api.client.patch(
        url, json={"version": 2, "description": "Second analyst"}, headers=api.auth(Role.lead)
    )
    assert retried.status_code == 200
    assert (retried.json()["title"], retried.json()["description"]) == (
        "First analyst",
        "Second analyst",
    )


def test_concurrent_edits_of_one_version_one_wins(api: Api) -> None:
    """Many writers race on version 1 at once: exactly one succeeds, the rest get 409."""
    case = _case(api)
    url = f"/api/cases/{case['id']}"
    results: list[int] = []
    barrier = threading.Barrier(6)

    def edit(n: int) -> None:
        barrier.wait()
        answer = api.client.patch(
            url, json={"version": 1, "title": f"writer {n}"}, headers=api.auth(Role.lead)
        )
        results.append(answer.status_code)

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [409] * 5
    final = api.client.get(url, headers=api.auth(Role.lead)).json()
    assert final["version"] == 2 and final["title"].startswith("writer ")


def _every_response(api: Api, role: Role) -> list[str]:
    """Bodies of every GET a role can make over a small world (cases, alerts, timeline,
    evidence, audit, users)."""
    h = api.auth(role)
    bodies = []
    for path in (
        "/api/cases",
        "/api/alerts?include_suppressed=true",
        "/api/audit?limit=500",
        "/api/users",
        "/api/auth/me",
    ):
        bodies.append(api.client.get(path, headers=h).text)
    for case in api.client.get("/api/cases", headers=api.auth(Role.admin)).json()["items"]:
        for tail in ("", "/timeline", "/evidence"):
            bodies.append(api.client.get(f"/api/cases/{case['id']}{tail}", headers=h).text)
    for alert in api.client.get("/api/alerts", headers=api.auth(Role.admin)).json()["items"]:
        bodies.append(api.client.get(f"/api/alerts/{alert['alert_id']}", headers=h).text)
    return bodies


def _world(api: Api, *, bystander_in_case: bool = False) -> None:
    """A case made from an alert, with evidence and a note; alerts whose reasons name other
    staff (as the device-sharing detector's do). With ``bystander_in_case`` the case's own
    alert names another person too."""
    data = api.settings.data_dir
    alert = add_alert(data, ACTORS[0], 0, other=ACTORS[1] if bystander_in_case else None)
    add_alert(data, ACTORS[2], 1, other=ACTORS[0])
    add_alert(data, ACTORS[1], 2, other=ACTORS[2])
    made = api.client.post(
        "/api/cases/from-alerts",
        json={"alert_ids": [alert.alert_id]},
        headers=api.auth(Role.lead),
    )
    assert made.status_code == 201, made.text
    case_id = made.json()["id"]
    evidence = api.client.post(
        f"/api/cases/{case_id}/evidence",
        json={"kind": "events", "title": "views", "event_ids": [f"ev-{ACTORS[0][-4:]}-0-0"]},
        headers=api.auth(Role.lead),
    )
    assert evidence.status_code == 201, evidence.text
    note = api.client.post(
        f"/api/cases/{case_id}/notes",
        json={"body": "called the lead"},
        headers=api.auth(Role.lead),
    )
    assert note.status_code == 201


def test_no_real_actor_id_in_any_response(api: Api) -> None:
    _world(api)
    for role in Role:
        for body in _every_response(api, role):
            for actor in ACTORS:
                assert actor not in body, (role, actor, body[:300])


def test_no_real_actor_id_when_a_case_alert_names_a_bystander(api: Api) -> None:
    _world(api, bystander_in_case=True)
    for role in Role:
        for body in _every_response(api, role):
            for actor in ACTORS:
                assert actor not in body, (role, actor, body[:300])


def test_unmask_flow(case_url: str, tmp_path: Path) -> None:
    with running_api(case_url, tmp_path / "data", unmask_needs_approval=True) as api:
        _world(api)
        investigator = api.auth(Role.investigator)
        cases = api.client.get("/api/cases", headers=api.auth(Role.lead)).json()["items"]
        case_id = cases[0]["id"]
        pseudonym = cases[0]["subjects"][0]["pseudonym"]
        # Too short a justification, a stranger's case, and no grant yet: all refused.
        short = api.client.post(
            "/api/unmask",
            json={"pseudonym": pseudonym, "justification": "because"},
            headers=investigator,
        )
        assert short.status_code == 422
        hidden = api.client.post(
            "/api/unmask",
            json={
                "pseudonym": pseudonym,
                "justification": "interview tomorrow",
                "case_id": case_id,
            },
            headers=investigator,
        )
        assert hidden.status_code == 404
        reveal = f"/api/unmask/reveal/{pseudonym}"
        assert api.client.get(reveal, headers=investigator).status_code == 403
        asked = api.client.post(
            "/api/unmask",
            json={"pseudonym": pseudonym, "justification": "interview with HR tomorrow"},
            headers=investigator,
        )
        assert asked.status_code == 201 and asked.json()["status"] == "pending"
        grant = asked.json()["id"]
        # Pending: still masked. The requester cannot approve their own request.
        assert api.client.get(reveal, headers=investigator).status_code == 403
        assert (
            api.client.post(
                f"/api/unmask/{grant}/approve", headers=api.auth(Role.investigator)
            ).status_code
            == 403
        )
        queue = api.client.get("/api/unmask/pending", headers=api.auth(Role.lead)).json()
        assert [g["id"] for g in queue] == [grant]
        approved = api.client.post(f"/api/unmask/{grant}/approve", headers=api.auth(Role.lead))
        assert approved.status_code == 200 and approved.json()["status"] == "active"
        shown = api.client.get(reveal, headers=investigator)
        assert shown.status_code == 200 and shown.json()["actor_id"] == ACTORS[0]
        # The alert list now carries the real id for this investigator only.
        mine = api.client.get("/api/alerts", headers=investigator).json()["items"]
        assert {a["actor_id"] for a in mine if a["subject"] == pseudonym} == {ACTORS[0]}
        for body in _every_response(api, Role.lead):
            assert ACTORS[0] not in body
        # Revoked: masked again.
        revoked = api.client.post(f"/api/unmask/{grant}/revoke", headers=investigator)
        assert revoked.status_code == 200
        assert api.client.get(reveal, headers=investigator).status_code == 403
        log = api.client.get(
            "/api/audit",
            params={"target_id": pseudonym, "sort": "seq"},
            headers=api.auth(Role.auditor),
        ).json()["items"]
        assert [e["action"] for e in log] == [
            "unmask.request",
            "unmask.approve",
            "unmask.reveal",
            "alert.read_unmasked",
            "unmask.revoke",
        ]
        assert all(ACTORS[0] not in json.dumps(e) for e in log)


def test_audit_reads_are_audited_and_verify(api: Api) -> None:
    auditor = api.auth(Role.auditor)
    first = api.client.get("/api/audit", params={"limit": 1}, headers=auditor).json()
    second = api.client.get("/api/audit", params={"limit": 1}, headers=auditor).json()
    assert second["items"][0]["action"] == "audit.read"
    assert second["total"] == first["total"] + 1
    page = api.client.get(
        "/api/audit",
        params={"limit": 2, "offset": 1, "sort": "seq", "action": "user.add"},
        headers=auditor,
    ).json()
    assert [e["seq"] for e in page["items"]] == [2, 3] or len(page["items"]) == 2
    verified = api.client.get("/api/audit/verify", headers=auditor).json()
    assert verified["ok"] is True and verified["first_break"] is None
