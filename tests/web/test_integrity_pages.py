"""The integrity pages through their forms, on SQLite and PostgreSQL: the staff risk page
(and opening a case from it), the alert queue (bulk dismiss with a reason, confirm, merge),
the case list and the case page (workflow, assignment, tasks, notes, evidence, timeline,
audit trail, stale versions, unmasking, the PDF) — each action what the services say, every
form refused without the session's CSRF token, and no real actor id unless unmasked.

Which role may open which page is test_pages' table; these test what the pages do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from custodes.access.principal import Principal
from custodes.access.roles import Role
from custodes.cases.service import CaseService
from custodes.cases.views import CaseCreate
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.store.events import EventStore
from custodes.store.schema import AuditEntry, Case
from tests.web.conftest import Api, TestClient, running_api
from tests.web.pages import browser, csrf_of, fill
from tests.web.test_pages import EXPECTED
from tests.web.world import ACTORS, add_alert

DASH = "\u2013"  # an en dash, as in showing(1, 50, 58)
STRIP = re.compile(r"<title>.*?</title>|content=\"[^\"]*\"|value=\"[^\"]*\"", re.S)


@pytest.fixture
def site(case_url: str, tmp_path: Path) -> Iterator[Api]:
    with running_api(case_url, tmp_path / "data") as api:
        fill(api)
        yield api


def showing(first: int, last: int, total: int) -> str:
    """What a list says it shows, like ``1 to 50 of 58`` with an en dash."""
    return f"{first}{DASH}{last} of {total}"


def _who(api: Api, role: Role) -> Principal:
    return Principal(api.ids[role], role.value.replace("_", "-"), role)


def _name(api: Api, actor: str) -> str:
    return Pseudonyms.load(api.store, api.settings).of(actor)


def _audits(api: Api, action: str) -> list[AuditEntry]:
    with api.store.read() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
        ).all()
        session.expunge_all()
        return list(rows)


def _verdicts(api: Api) -> int:
    with EventStore.open(api.settings.data_dir, read_only=True) as events:
        return int(events.fetch_value("SELECT count(*) FROM alert_verdicts") or 0)


def _opened(client: TestClient, path: str) -> tuple[str, str]:
    """The page's HTML and its CSRF token."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    return page.text, csrf_of(page.text)


def _post(client: TestClient, path: str, data: dict[str, Any], csrf: str) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf}, follow_redirects=False)


def _version(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found, "no version field"
    return found.group(1)


def _no_real_ids(html: str, *, except_: tuple[str, ...] = ()) -> None:
    for actor in ACTORS:
        if actor not in except_:
            assert actor not in html, actor


# --- the staff risk page -----------------------------------------------------------------------


def test_staff_page_shows_risk_peers_alerts_and_activity(site: Api) -> None:
    subject = _name(site, ACTORS[0])
    client = browser(site, Role.investigator)
    home = client.get("/").text
    assert f'href="/integrity/staff/{subject}"' in home  # the riskiest list links here
    html, _csrf = _opened(client, f"/integrity/staff/{subject}")
    for part in (
        'data-chart="risk-history-spec"',
        'id="peer-scores-title"',
        'id="peer-activity-title"',
        'id="alerts-heading"',
        'id="activity-heading"',
        "/integrity/cases/1",  # the case about them
    ):
        assert part in html, part
    assert _name(site, ACTORS[1]) in html  # the alert's reason names a colleague: masked
    _no_real_ids(html)
    read = _audits(site, "staff.activity")
    assert [(r.actor, r.target_id) for r in read] == [("investigator", subject)]
    assert '"events":' in read[0].detail
    # A pseudonym of nobody, or not a pseudonym at all: the plain 404 page.
    assert client.get("/integrity/staff/S-AAAAAAAAAA").status_code == 404
    assert client.get("/integrity/staff/staff-mallory-7391").status_code == 404
    assert browser(site, Role.triage_analyst).get(f"/integrity/staff/{subject}").status_code == 403


def test_staff_activity_reloads_alone_and_filters(site: Api) -> None:
    subject = _name(site, ACTORS[0])
    client = browser(site, Role.lead)
    hx = {"HX-Request": "true", "HX-Target": "activity"}
    url = f"/integrity/staff/{subject}?start=2026-03-01&end=2026-03-05"
    part = client.get(url, headers=hx)
    assert part.status_code == 200
    assert part.text.lstrip().startswith('<section id="activity"')
    assert "<html" not in part.text and "risk-history" not in part.text
    assert part.text.count("view_profile") == 6  # their events of days 0 and 1
    none = client.get(url + "&family=session", headers=hx).text
    assert "0 events" in none and "view_profile" not in none
    backwards = client.get(
        f"/integrity/staff/{subject}?start=2026-03-05&end=2026-03-01", headers=hx
    )
    assert backwards.status_code == 200
    assert "Those dates do not make a window" in backwards.text
    assert client.get(f"/integrity/staff/{subject}?family=nonsense").status_code == 400
    assert client.get(f"/integrity/staff/{subject}?start=yesterday").status_code == 400
    whole = client.get(url)  # without HTMX: the whole page, filter kept
    assert 'id="risk-heading"' in whole.text and 'value="2026-03-01"' in whole.text


def test_open_case_from_the_staff_page(site: Api) -> None:
    subject = _name(site, ACTORS[1])
    client = browser(site, Role.investigator)
    html, csrf = _opened(client, f"/integrity/staff/{subject}")
    (alert_id,) = re.findall(r'name="alert_ids" value="([^"]+)"', html)
    assert f'value="{alert_id}" id="pick-{alert_id}" checked' in html  # open: ticked
    url = f"/integrity/staff/{subject}/case"
    refused = client.post(url, data={"alert_ids": [alert_id]}, follow_redirects=False)
    assert refused.status_code == 403
    other = add_alert(site.settings.data_dir, ACTORS[2], 7)
    not_theirs = _post(client, url, {"alert_ids": [other.alert_id]}, csrf)
    assert not_theirs.status_code == 422
    assert "Choose at least one of their alerts" in not_theirs.text
    opened = _post(client, url, {"alert_ids": [alert_id], "title": "Snooping?"}, csrf)
    assert opened.status_code == 303
    case_url = opened.headers["location"]
    assert re.fullmatch(r"/integrity/cases/\d+\?done=opened", case_url)
    case = client.get(case_url).text
    assert "Case opened from the alerts." in case and "Snooping?" in case
    again = _post(client, url, {"alert_ids": [alert_id]}, csrf)
    assert again.status_code == 409
    assert "already in an open case" in again.text
    auditor = browser(site, Role.auditor)
    assert (
        _post(auditor, url, {"alert_ids": [alert_id]}, csrf_of(auditor.get("/").text)).status_code
        == 403
    )


# --- the alert queue ---------------------------------------------------------------------------


def test_alert_queue_filters_and_pages(site: Api) -> None:
    data = site.settings.data_dir
    many = [add_alert(data, ACTORS[2], 10 + i, score=0.3 + i / 200) for i in range(55)]
    client = browser(site, Role.auditor)
    first = client.get("/integrity/alerts").text
    assert showing(1, 50, 58) in first
    assert 'href="/integrity/alerts?review=open&amp;page=2" rel="next"' in first
    assert 'id="bulk"' not in first  # an auditor reads; judging is not theirs
    second = client.get("/integrity/alerts?review=open&page=2").text
    assert showing(51, 58, 58) in second
    mine = client.get(f"/integrity/alerts?subject={_name(site, ACTORS[0]).lower()}").text
    assert showing(1, 1, 1) in mine
    strong = client.get("/integrity/alerts?min_score=0.5").text
    assert f"1{DASH}{3 + sum(a.score >= 0.5 for a in many)} of" in strong
    assert "None" in client.get("/integrity/alerts?severity=low").text
    assert showing(1, 3, 3) in client.get("/integrity/alerts?detector=baselines&min_score=0.8").text
    for bad in ("review=maybe", "severity=dire", "min_score=2", "min_score=x", "sort=name"):
        assert client.get(f"/integrity/alerts?{bad}").status_code == 400, bad
    _no_real_ids(first + second + mine)


def test_bulk_dismiss_needs_a_reason_and_teaches_detection(site: Api) -> None:
    client = browser(site, Role.investigator)
    html, csrf = _opened(client, "/integrity/alerts")
    ticked = re.findall(r'form="bulk" name="alert_ids" value="([^"]+)"', html)[:2]
    assert len(ticked) == 2
    url = "/integrity/alerts/verdict"
    form = {"alert_ids": ticked, "verdict": "false_positive", "next": "/integrity/alerts"}
    assert client.post(url, data=form, follow_redirects=False).status_code == 403  # no token
    silent = _post(client, url, {**form, "reason": "  "}, csrf)
    assert silent.status_code == 422
    assert "a verdict needs a reason" in silent.text
    assert silent.text.count(" checked>") == 2  # the ticks are kept
    assert 'aria-describedby="bulk-help bulk-error" aria-invalid="true"' in silent.text
    assert _verdicts(site) == 0
    nothing = _post(client, url, {**form, "alert_ids": [], "reason": "x"}, csrf)
    assert nothing.status_code == 422 and "Tick at least one alert" in nothing.text
    done = _post(client, url, {**form, "reason": "ticketed in the other system"}, csrf)
    assert done.status_code == 303
    assert done.headers["location"] == "/integrity/alerts?review=open&done=dismissed&n=2"
    after = client.get(done.headers["location"]).text
    assert "Dismissed 2 alerts as false positives" in after
    assert not any(a in after for a in ticked)  # off the open queue
    judged = client.get("/integrity/alerts?review=judged").text
    assert all(a in judged for a in ticked) and "false positive" in judged
    assert _verdicts(site) == 2
    audited = _audits(site, "alert.verdict")
    assert sorted(r.target_id for r in audited) == sorted(ticked)
    assert {r.reason for r in audited} == {"ticketed in the other system"}
    confirm = {**form, "alert_ids": ticked[:1], "verdict": "true_positive", "reason": "seen"}
    assert _post(client, url, confirm, csrf).status_code == 303
    assert _verdicts(site) == 3
    gone = _post(client, url, {**form, "alert_ids": ["a-0000000000000000"], "reason": "x"}, csrf)
    assert gone.status_code == 409 and "no longer there" in gone.text
    auditor = browser(site, Role.auditor)
    refused = _post(auditor, url, {**form, "reason": "x"}, csrf_of(auditor.get("/").text))
    assert refused.status_code == 403


def test_merge_ticked_alerts_of_one_person_into_a_case(site: Api) -> None:
    data = site.settings.data_dir
    extra = add_alert(data, ACTORS[1], 5)
    client = browser(site, Role.lead)
    html, csrf = _opened(client, "/integrity/alerts")
    ids = dict(
        re.findall(
            r'value="([^"]+)" id="tick-[^"]+">\s*<label[^>]*>Tick alert [^ ]+ \((S-\w+)', html
        )
    )
    theirs = [a for a, s in ids.items() if s == _name(site, ACTORS[1])]
    assert extra.alert_id in theirs and len(theirs) == 2
    url = "/integrity/alerts/case"
    mixed = _post(client, url, {"alert_ids": list(ids), "next": "/integrity/alerts"}, csrf)
    assert mixed.status_code == 422
    assert "different people" in mixed.text
    none = _post(client, url, {"next": "/integrity/alerts"}, csrf)
    assert none.status_code == 422 and "Tick the alerts" in none.text
    merged = _post(client, url, {"alert_ids": theirs, "title": "Two of a kind"}, csrf)
    assert merged.status_code == 303
    case = client.get(merged.headers["location"]).text
    assert "Two of a kind" in case and all(a in case for a in theirs)


# --- cases -------------------------------------------------------------------------------------


def test_case_list_filters_sorts_pages_and_keeps_need_to_know(site: Api) -> None:
    service = CaseService(site.store, site.settings)
    admin = _who(site, Role.admin)
    for n in range(55):
        service.create(admin, CaseCreate(title=f"Bulk case {n:02d}", tags=["bulk"]))
    client = browser(site, Role.lead)
    first = client.get("/integrity/cases").text
    assert showing(1, 50, 56) in first
    assert "Bulk case 54" in first  # most recently changed first
    assert showing(51, 56, 56) in client.get("/integrity/cases?page=2").text
    assert showing(1, 1, 1) in client.get("/integrity/cases?q=bulk+case+07").text
    by_id = client.get("/integrity/cases?sort=id").text
    assert by_id.index('href="/integrity/cases/1"') < by_id.index('href="/integrity/cases/2"')
    assert 'aria-sort="ascending"' in by_id
    subject = _name(site, ACTORS[0])
    found = client.get(f"/integrity/cases?q={subject}").text
    assert showing(1, 1, 1) in found and subject in found
    assert showing(1, 55, 55) not in client.get("/integrity/cases?status=triage").text
    assert client.get("/integrity/cases?status=limbo").status_code == 400
    assert client.get("/integrity/cases?sort=nonsense").status_code == 400
    investigator = browser(site, Role.investigator).get("/integrity/cases").text
    assert showing(1, 1, 1) in investigator  # only the case they are on
    mine = browser(site, Role.investigator).get("/integrity/cases?mine=1").text
    assert "None" in mine  # on it, not assigned it
    assert browser(site, Role.triage_analyst).get("/integrity/cases").status_code == 403


def test_a_case_the_viewer_may_not_see_is_the_plain_404(site: Api) -> None:
    hidden = CaseService(site.store, site.settings).create(
        _who(site, Role.admin), CaseCreate(title="Not for everyone")
    )
    client = browser(site, Role.investigator)
    secret = client.get(f"/integrity/cases/{hidden.id}")
    missing = client.get("/integrity/cases/999999")
    assert secret.status_code == missing.status_code == 404
    assert "Not for everyone" not in secret.text
    assert STRIP.sub("", secret.text) == STRIP.sub("", missing.text)
    csrf = csrf_of(client.get("/").text)
    note = _post(client, f"/integrity/cases/{hidden.id}/notes", {"body": "x"}, csrf)
    assert note.status_code == 404
    assert client.get(f"/integrity/cases/{hidden.id}/report.pdf").status_code == 404
    triage = browser(site, Role.triage_analyst)
    assert triage.get("/integrity/cases/1").status_code == 403


def test_workflow_through_the_forms_to_closed(site: Api) -> None:
    client = browser(site, Role.lead)
    for target in ("triage", "investigating", "pending_decision"):
        html, csrf = _opened(client, "/integrity/cases/1")
        assert f'name="to_status" value="{target}"' in html
        moved = _post(
            client,
            "/integrity/cases/1/move",
            {"version": _version(html), "to_status": target},
            csrf,
        )
        assert moved.status_code == 303, moved.text
        assert moved.headers["location"] == "/integrity/cases/1?done=moved#workflow"
    html, csrf = _opened(client, "/integrity/cases/1")
    assert 'aria-current="step" class="current">pending decision' in html
    close = {"version": _version(html), "to_status": "closed", "reason": "interviewed"}
    missing = _post(client, "/integrity/cases/1/move", close, csrf)
    assert missing.status_code == 422
    assert "Closing a case needs an outcome." in missing.text
    assert '<p class="field-error" id="move-error">' in missing.text
    assert "interviewed" in missing.text  # what was typed is kept
    closed = _post(client, "/integrity/cases/1/move", {**close, "outcome": "substantiated"}, csrf)
    assert closed.status_code == 303
    page = client.get(closed.headers["location"]).text
    assert "The case is closed" in page and "outcome: substantiated" in page
    assert 'name="to_status"' not in page and 'action="/integrity/cases/1/notes"' not in page
    assert "true positive" in page  # the outcome became its alert's verdict
    trail = browser(site, Role.auditor).get("/integrity/cases/1").text
    assert "case.close" in trail and "interviewed" in trail


def test_a_stale_version_says_changed_meanwhile_not_500(site: Api) -> None:
    first, second = browser(site, Role.lead), browser(site, Role.admin)
    html_a, csrf_a = _opened(first, "/integrity/cases/1")
    html_b, csrf_b = _opened(second, "/integrity/cases/1")
    moved = _post(
        first,
        "/integrity/cases/1/move",
        {"version": _version(html_a), "to_status": "triage"},
        csrf_a,
    )
    assert moved.status_code == 303
    late = _post(
        second,
        "/integrity/cases/1/move",
        {"version": _version(html_b), "to_status": "closed", "outcome": "unsubstantiated"},
        csrf_b,
    )
    assert late.status_code == 409
    assert "changed while you had it open" in late.text
    assert 'href="/integrity/cases/1">Reload the page</a>' in late.text
    assert 'aria-current="step" class="current">triage' in late.text  # the case as it is now
    assert 'role="alert"' in late.text
    assigned = _post(
        second, "/integrity/cases/1/assign", {"version": _version(html_b), "assignee": ""}, csrf_b
    )
    assert assigned.status_code == 409 and "changed while you had it open" in assigned.text
    # Tasks carry their own versions.
    _post(first, "/integrity/cases/1/tasks", {"title": "Pull badge logs"}, csrf_a)
    task_page = first.get("/integrity/cases/1").text
    task = re.search(r'action="/integrity/cases/1/tasks/(\d+)"[^>]*>\s*<input[^>]*>\s*'
                     r'<input type="hidden" name="version" value="(\d+)"', task_page)  # fmt: skip
    assert task
    url = f"/integrity/cases/1/tasks/{task.group(1)}"
    assert _post(first, url, {"version": task.group(2), "done": "true"}, csrf_a).status_code == 303
    stale_task = _post(second, url, {"version": task.group(2), "done": "true"}, csrf_b)
    assert stale_task.status_code == 409 and "changed while you had it open" in stale_task.text


def test_assignment_tasks_and_notes(site: Api) -> None:
    lead = browser(site, Role.lead)
    html, csrf = _opened(lead, "/integrity/cases/1")
    investigator_id = site.ids[Role.investigator]
    assert f'<option value="{investigator_id}">investigator</option>' in html
    assert '<option value="' + str(site.ids[Role.auditor]) not in html  # may not work cases
    given = _post(
        lead,
        "/integrity/cases/1/assign",
        {"version": _version(html), "assignee": str(investigator_id)},
        csrf,
    )
    assert given.status_code == 303
    assert "Assigned to <strong>investigator</strong>" in lead.get("/integrity/cases/1").text
    # An investigator takes an unassigned case themselves.
    case = CaseService(site.store, site.settings).create(
        _who(site, Role.investigator), CaseCreate(title="Mine to take")
    )
    inv = browser(site, Role.investigator)
    html, csrf = _opened(inv, f"/integrity/cases/{case.id}")
    assert 'name="assignee" value="me"' in html and 'id="assignee"' not in html
    taken = _post(
        inv,
        f"/integrity/cases/{case.id}/assign",
        {"version": _version(html), "assignee": "me"},
        csrf,
    )
    assert taken.status_code == 303
    # Tasks.
    added = _post(
        inv, f"/integrity/cases/{case.id}/tasks", {"title": "Call HR", "due": "2026-04-01"}, csrf
    )
    assert added.status_code == 303
    page = inv.get(f"/integrity/cases/{case.id}").text
    assert "Call HR" in page and "due 2026-04-01" in page
    assert _post(inv, f"/integrity/cases/{case.id}/tasks", {"title": " "}, csrf).status_code == 422
    # Notes: markdown, safely; staff ids named in them masked.
    body = (
        f"**Seen** with {ACTORS[2]}.\n\n<script>alert(1)</script>\n\n"
        "[click](javascript:alert(1)) and [docs](https://example.org/x)"
    )
    assert _post(inv, f"/integrity/cases/{case.id}/notes", {"body": body}, csrf).status_code == 303
    page = inv.get(f"/integrity/cases/{case.id}").text
    assert "<strong>Seen</strong>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert 'href="javascript:' not in page and 'href="https://example.org/x"' in page
    assert _name(site, ACTORS[2]) in page
    _no_real_ids(page)
    empty = _post(inv, f"/integrity/cases/{case.id}/notes", {"body": "   "}, csrf)
    assert empty.status_code == 422 and "A note needs a body." in empty.text
    assert 'aria-invalid="true" aria-describedby="note-error"' in empty.text


def test_evidence_saved_from_the_timeline_and_rechecked(site: Api) -> None:
    client = browser(site, Role.investigator)
    html, csrf = _opened(client, "/integrity/cases/1")
    start = re.search(r'name="start" value="([^"]+)"', html)
    end = re.search(r'name="end" value="([^"]+)"', html)
    assert start and end
    subject = _name(site, ACTORS[0])
    saved = _post(
        client,
        "/integrity/cases/1/evidence",
        {"title": "Day one", "subject": subject, "start": start.group(1), "end": end.group(1)},
        csrf,
    )
    assert saved.status_code == 303
    page = client.get("/integrity/cases/1").text
    hashes = re.findall(r'<code class="hash">([0-9a-f]{64})</code>', page)
    assert len(hashes) == 1 and "Day one" in page
    evidence_id = re.search(r"/integrity/cases/1/evidence/(\d+)/check", page)
    assert evidence_id
    check = f"/integrity/cases/1/evidence/{evidence_id.group(1)}/check"
    full = _post(client, check, {}, csrf)
    assert full.status_code == 200 and "Unchanged" in full.text and 'id="timeline"' in full.text
    hx = client.post(check, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert hx.text.strip().startswith('<span class="check ok"')
    with EventStore.open(site.settings.data_dir) as events:  # someone edits the record
        events.execute("UPDATE events SET outcome = 'edited' WHERE actor_id = ?", [ACTORS[0]])
    changed = client.post(check, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert "Changed" in changed.text and hashes[0] not in changed.text
    assert [r.action for r in _audits(site, "evidence.verify")] == ["evidence.verify"] * 3
    wrong = _post(
        client,
        "/integrity/cases/1/evidence",
        {"title": "x", "subject": "S-AAAAAAAAAA", "start": start.group(1), "end": end.group(1)},
        csrf,
    )
    assert wrong.status_code == 422 and "not a subject of this case" in wrong.text


def test_timeline_filters_alone_and_audit_trail_is_for_auditors(site: Api) -> None:
    client = browser(site, Role.investigator)
    hx = {"HX-Request": "true", "HX-Target": "timeline"}
    part = client.get("/integrity/cases/1?family=session", headers=hx)
    assert part.text.lstrip().startswith('<section id="timeline"')
    assert "0 events" in part.text
    data = client.get("/integrity/cases/1?family=data_access", headers=hx).text
    assert "view_profile" in data and 'value="data_access" checked' in data
    assert client.get("/integrity/cases/1?family=nonsense").status_code == 400
    assert 'id="audit-heading"' not in client.get("/integrity/cases/1").text
    for role in (Role.admin, Role.auditor):
        trail = browser(site, role).get("/integrity/cases/1").text
        assert 'id="audit-heading"' in trail and "case.timeline" in trail, role
    assert _audits(site, "audit.read")[-1].target_type == "case"


def test_unmasking_from_the_case_page_shows_the_real_id_to_that_person_only(site: Api) -> None:
    subject = _name(site, ACTORS[0])
    client = browser(site, Role.investigator)
    html, csrf = _opened(client, "/integrity/cases/1")
    assert f'name="pseudonym" value="{subject}"' in html
    form = {"pseudonym": subject, "case_id": "1", "next": "/integrity/cases/1"}
    short = _post(client, "/integrity/unmask", {**form, "justification": "why"}, csrf)
    assert short.headers["location"] == "/integrity/cases/1?problem=unmask-justification"
    assert "justification of at least 10" in client.get(short.headers["location"]).text
    done = _post(
        client, "/integrity/unmask", {**form, "justification": "Interview booked with HR"}, csrf
    )
    assert done.headers["location"] == "/integrity/cases/1?done=unmask-active"
    page = client.get(done.headers["location"]).text
    assert f"({ACTORS[0]})</span>" in page and "Unmasked for you" in page
    _no_real_ids(page, except_=(ACTORS[0],))
    staff = client.get(f"/integrity/staff/{subject}").text
    assert f"({ACTORS[0]})" in staff
    assert [r.target_id for r in _audits(site, "staff.read_unmasked")] == [subject]
    reads = [r.detail for r in _audits(site, "case.read") if "unmasked" in r.detail]
    assert reads and subject in reads[0]
    _no_real_ids(browser(site, Role.lead).get("/integrity/cases/1").text)  # theirs only
    nobody = _name(site, ACTORS[2])  # in no case: nothing to unmask
    refused = _post(
        client,
        "/integrity/unmask",
        {"pseudonym": nobody, "justification": "Long enough reason", "next": "/"},
        csrf,
    )
    assert refused.headers["location"] == "/?problem=unmask-subject"


def test_case_report_pdf_is_an_audited_read(site: Api) -> None:
    client = browser(site, Role.lead)
    pdf = client.get("/integrity/cases/1/report.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert re.fullmatch(
        r'attachment; filename="case-1-\d{8}T\d{6}Z\.pdf"', pdf.headers["content-disposition"]
    )
    assert [(r.actor, r.target_id) for r in _audits(site, "case.report")] == [("lead", "1")]
    assert 'href="/integrity/cases/1/report.pdf"' in client.get("/integrity/cases/1").text


def test_every_integrity_form_refuses_a_missing_or_wrong_csrf_token(site: Api) -> None:
    subject = _name(site, ACTORS[0])
    client = browser(site, Role.admin)
    posts = [
        path.format(pseudonym=subject, case_id=1, task_id=1, evidence_id=1)
        for (method, path) in EXPECTED
        if method == "POST" and path.startswith("/integrity/")
    ]
    assert len(posts) == 11
    with site.store.read() as session:
        before = session.scalar(select(func.count()).select_from(Case))
    for path in posts:
        for token in (None, "forged"):
            data = {"csrf_token": token} if token else {}
            answer = client.post(path, data=data, follow_redirects=False)
            assert answer.status_code == 403, path
            assert "CSRF" in answer.text
    with site.store.read() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == before
