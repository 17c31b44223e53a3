"""The escalation pages over real stores (SQLite and PostgreSQL): the queue's order,
filters, pages and countdowns; the detail with its rating explained; every form — override
(a reason required), the lifecycle moves, attachments, intake — answering bad input with
the error beside the field and nothing stored, a stale version with "changed meanwhile"
and nothing changed, and a missing CSRF token with 403 and nothing changed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from custodes.access.principal import Principal
from custodes.access.roles import Role
from custodes.cases.service import CaseService
from custodes.cases.views import CaseCreate
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.store.schema import AuditEntry, Escalation, EscalationAttachment
from custodes.triage.intake import EscalationService
from custodes.web.pages import escalations as pages
from tests.web.conftest import Api, TestClient, running_api
from tests.web.pages import browser, csrf_of, fill
from tests.web.world import ACTORS

TRIAGE = Role.triage_analyst


@pytest.fixture
def site(case_url: str, tmp_path: Path) -> Iterator[Api]:
    with running_api(case_url, tmp_path / "data") as api:
        fill(api)
        yield api


def _principal(api: Api, role: Role) -> Principal:
    return Principal(api.ids[role], role.value.replace("_", "-"), role)


def _detail(api: Api, pk: int) -> Any:
    return EscalationService(api.store, settings=api.settings).get(_principal(api, Role.admin), pk)


def _post(client: TestClient, path: str, data: dict[str, Any], **kw: Any) -> Any:
    """A form posted as a browser does: with the CSRF token of the page it came from."""
    token = csrf_of(client.get("/escalations").text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False, **kw)


def _count(api: Api, model: Any, *where: Any) -> int:
    with api.store.read() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _audits(api: Api, action: str) -> int:
    return _count(api, AuditEntry, AuditEntry.action == action)


def _rows(html: str) -> list[str]:
    """The escalation ids of the queue's rows, in order."""
    return re.findall(r'<span class="sub">([^<·]+?)(?: · [^<]*)?</span>', html)


# --- the queue -------------------------------------------------------------------------------


def test_queue_is_ordered_by_time_to_breach_with_countdowns(site: Api) -> None:
    html = browser(site, TRIAGE).get("/escalations").text
    service = EscalationService(site.store, settings=site.settings)
    expected, total = service.queue(_principal(site, TRIAGE))
    assert total == 3
    assert _rows(html) == [e.escalation_id for e in expected]
    dues = re.findall(r'<time class="sla[^"]*" datetime="([^"]+)" data-due', html)
    assert dues == sorted(dues) and len(dues) == 3
    # Without JavaScript the countdown is text; the month-old one is long overdue.
    assert re.search(r'class="sla breached"[^>]*>\d+ d \d+ h overdue</time>', html)
    assert 'href="/escalations/new"' in html  # a triage analyst may submit


def test_queue_filters_and_pages(site: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    client = browser(site, Role.lead)
    service = EscalationService(site.store, settings=site.settings)
    lead = _principal(site, Role.lead)
    items, _ = service.queue(lead)
    band = items[0].band
    by_band = client.get(f"/escalations?band={band}").text
    assert set(_rows(by_band)) == {e.escalation_id for e in items if e.band == band}
    route = items[-1].route
    by_route = client.get("/escalations", params={"route": route}).text
    assert set(_rows(by_route)) == {e.escalation_id for e in items if e.route == route}
    assert f'<option value="{route}" selected>' in by_route
    assert "No escalations match." in client.get("/escalations?status=resolved").text
    assert client.get("/escalations?band=P9").status_code == 400
    for nothing in ("/escalations/abc", "/escalations/0", "/escalations/99999999999999999999"):
        assert client.get(nothing).status_code == 404, nothing
    assert 'href="/escalations/new"' not in by_band  # a lead reads, does not submit
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    first = client.get("/escalations").text
    second = client.get("/escalations?page=2").text
    assert "Showing 1\N{EN DASH}2 of 3 escalations" in first
    assert 'href="/escalations?page=2"' in first
    assert "Showing 3\N{EN DASH}3 of 3 escalations" in second and 'rel="prev"' in second
    assert _rows(first) + _rows(second) == [e.escalation_id for e in items]


def test_staff_subjects_are_flagged_and_masked_and_the_case_shown_to_who_may_see_it(
    site: Api,
) -> None:
    admin = _principal(site, Role.admin)
    case = CaseService(site.store, site.settings).create(
        admin, CaseCreate(title="Snooping on a streamer", subjects=[ACTORS[0]])
    )
    client = browser(site, TRIAGE)
    made = _post(
        client,
        "/escalations/new",
        {
            "received_at": "2026-11-20T09:30",
            "source": "internal_staff",
            "body": f"Moderator {ACTORS[0]} keeps looking up a streamer's private details.",
            "subject_ids": f"acct:1\n{ACTORS[0]}",
        },
    )
    assert made.status_code == 303
    path = made.headers["location"].split("?")[0]
    pseudonym = Pseudonyms.load(site.store, site.settings).of(ACTORS[0])
    for role in (TRIAGE, Role.admin, Role.lead, Role.auditor):
        seen = browser(site, role)
        queue, detail = seen.get("/escalations").text, seen.get(path).text
        for html in (queue, detail):
            assert "staff involved" in html, role
            assert ACTORS[0] not in html, role
        assert pseudonym in detail, role
        linked = f'href="/integrity/cases/{case.id}"'
        assert (linked in detail) == (role is not TRIAGE), role
        assert ("Snooping on a streamer" in detail) == (role is not TRIAGE), role


# --- the detail ------------------------------------------------------------------------------


def test_detail_explains_the_rating(site: Api) -> None:
    e = _detail(site, 2)
    html = browser(site, Role.auditor).get("/escalations/2").text
    assert e.body in html
    assert f"<code>{e.engine.policy_version}</code>" in html
    for factor in e.factors:
        assert factor.input.replace("'", "&#39;") in html
        assert f"{factor.contribution:+.2f}" in html
    for clock in e.clocks:
        assert clock.replace("_", " ") in html
    assert e.route in html
    assert "intake</strong> by admin" in html
    # An auditor reads: no forms to act, override or attach.
    assert "/override" not in html and "/acknowledge" not in html and "multipart" not in html
    manager = browser(site, TRIAGE).get("/escalations/2").text
    for action in ("override", "acknowledge", "attachments"):
        assert f'action="/escalations/2/{action}"' in manager
    assert browser(site, TRIAGE).get("/escalations/999").status_code == 404
    assert browser(site, Role.investigator).get("/escalations/2").status_code == 403


def test_override_needs_a_reason_then_is_stored_beside_the_engine(site: Api) -> None:
    client = browser(site, TRIAGE)
    before = _detail(site, 2)
    band = "P4" if before.band != "P4" else "P3"
    empty = _post(
        client, "/escalations/2/override", {"version": before.version, "band": band, "reason": " "}
    )
    assert empty.status_code == 422
    assert re.search(
        r'id="override-reason"[^>]*aria-describedby="override-reason-hint override-reason-error"'
        r'[^>]*aria-invalid="true"',
        empty.text,
    )
    assert 'id="override-reason-error" role="alert">an override needs a reason' in empty.text
    assert _detail(site, 2).version == before.version
    assert _audits(site, "escalation.override") == 0
    done = _post(
        client,
        "/escalations/2/override",
        {"version": before.version, "band": band, "reason": "Police confirmed it is a hoax."},
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/escalations/2?done=override"
    after = _detail(site, 2)
    assert after.band == band and after.engine.band == before.engine.band
    assert after.override is not None and after.override.reason == "Police confirmed it is a hoax."
    page = client.get(done.headers["location"]).text
    assert "Band overridden" in page and "Police confirmed it is a hoax." in page
    assert f'The engine rated it <span class="band band-{before.engine.band}">' in page
    # The same form again, from the page as it was: stale, refused, nothing changed.
    stale = _post(
        client,
        "/escalations/2/override",
        {"version": before.version, "band": "P0", "reason": "Second thoughts."},
    )
    assert stale.status_code == 409
    assert "changed meanwhile" in stale.text and 'role="alert"' in stale.text
    assert _detail(site, 2).band == band
    assert _audits(site, "escalation.override") == 1


def test_the_lifecycle_through_the_forms(site: Api) -> None:
    client = browser(site, TRIAGE)
    v = _detail(site, 3).version
    # A move the workflow refuses, at the right version: why, 409, nothing done.
    early = _post(client, "/escalations/3/action", {"version": v, "note": "Removed it."})
    assert early.status_code == 409
    assert "acknowledge it first" in early.text and "changed meanwhile" not in early.text
    assert _post(client, "/escalations/3/acknowledge", {"version": v}).status_code == 303
    again = _post(client, "/escalations/3/acknowledge", {"version": v})
    assert again.status_code == 409 and "changed meanwhile" in again.text
    v = _detail(site, 3).version
    acted = _post(client, "/escalations/3/action", {"version": v, "note": "Removed the post."})
    assert acted.status_code == 303 and acted.headers["location"].endswith("done=actioned")
    v = _detail(site, 3).version
    unresolved = _post(client, "/escalations/3/resolve", {"version": v, "resolution": ""})
    assert unresolved.status_code == 422
    assert 'id="resolve-resolution-error" role="alert">resolving an escalation needs' in (
        unresolved.text
    )
    assert _detail(site, 3).status.value == "actioned"
    resolved = _post(
        client,
        "/escalations/3/resolve",
        {"version": v, "resolution": "content_removed", "note": "Gone, account warned."},
    )
    assert resolved.status_code == 303
    after = _detail(site, 3)
    assert after.status.value == "resolved" and after.resolved is not None
    assert after.resolved.resolution.value == "content_removed"
    page = client.get("/escalations/3").text
    assert "content removed: “Gone, account warned.”" in page
    assert "Removed the post." in page
    assert "/escalations/3/resolve" not in page  # nothing more to do
    # Bad form values are a 400 page, not a 500.
    assert _post(client, "/escalations/3/acknowledge", {"version": "x"}).status_code == 400


def test_attachments_upload_and_download(site: Api) -> None:
    client = browser(site, TRIAGE)
    token = csrf_of(client.get("/escalations/1").text)
    sent = client.post(
        "/escalations/1/attachments",
        data={"csrf_token": token},
        files={"file": ("order.pdf", b"%PDF-1.4 court order", "application/pdf")},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"].endswith("done=attached")
    page = client.get("/escalations/1").text
    link = re.search(r'href="(/api/escalations/1/attachments/\d+)" download>order.pdf', page)
    assert link, page
    got = client.get(link.group(1))
    assert got.status_code == 200 and got.content == b"%PDF-1.4 court order"
    assert got.headers["content-disposition"].startswith("attachment")
    same = client.post(
        "/escalations/1/attachments",
        data={"csrf_token": token},
        files={"file": ("copy.pdf", b"%PDF-1.4 court order", "application/pdf")},
        follow_redirects=False,
    )
    assert same.headers["location"].endswith("done=already-attached")
    empty = client.post(
        "/escalations/1/attachments",
        data={"csrf_token": token},
        files={"file": ("empty.txt", b"", "text/plain")},
    )
    assert empty.status_code == 422
    assert 'id="attach-file-error" role="alert">an attachment needs content' in empty.text
    assert _count(site, EscalationAttachment) == 1


# --- intake ----------------------------------------------------------------------------------


def test_intake_shows_every_error_beside_its_field_and_stores_nothing(site: Api) -> None:
    client = browser(site, TRIAGE)
    form = client.get("/escalations/new").text
    for name in ("received_at", "source", "title", "body", "language", "subject_ids"):
        assert f'<label for="in-{name}">' in form
    stored = _count(site, Escalation)
    bad = _post(
        client,
        "/escalations/new",
        {
            "received_at": "last tuesday",
            "source": "a friend",
            "body": "",
            "language": "english",
            "reach": "-3",
            "jurisdiction": "Brazil",
            "title": "Kept as typed",
        },
    )
    assert bad.status_code == 422
    errors = dict(re.findall(r'id="in-(\w+)-error" role="alert">([^<]+)<', bad.text))
    assert set(errors) == {"received_at", "source", "body", "language", "reach", "jurisdiction"}
    assert errors["body"] == "is required"
    assert errors["reach"] == "must not be negative"
    assert 'value="Kept as typed"' in bad.text
    assert "Nothing was stored: 6 fields to fix." in bad.text
    assert _count(site, Escalation) == stored
    assert _audits(site, "escalation.create") == 3


def test_intake_submits_through_the_service(site: Api) -> None:
    client = browser(site, TRIAGE)
    received = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%S")
    record = {
        "escalation_id": "form-1",
        "received_at": received,
        "source": "law_enforcement",
        "title": "Threat to a school",
        "body": "A user posted a credible threat to attack a school tomorrow morning.",
        "jurisdiction": "br",
        "reach": "1200",
        "subject_ids": "acct:9; https://example.org/p/1",
        "requester": "Polícia Federal",
    }
    made = _post(client, "/escalations/new", record)
    assert made.status_code == 303
    pk = int(made.headers["location"].split("/")[2].split("?")[0])
    assert made.headers["location"].endswith("done=new")
    e = _detail(site, pk)
    assert (e.escalation_id, e.source, e.jurisdiction, e.reach) == (
        "form-1",
        "law_enforcement",
        "BR",
        1200,
    )
    assert e.subject_ids == ["acct:9", "https://example.org/p/1"]
    assert e.revisions[0].actor == "triage-analyst"
    page = client.get(made.headers["location"]).text
    assert "Escalation received and rated." in page and "Polícia Federal" in page
    # The same id again is an update of that escalation, as through the API.
    again = _post(client, "/escalations/new", {**record, "reach": "5000"})
    assert again.headers["location"] == f"/escalations/{pk}?done=updated"
    assert _detail(site, pk).reach == 5000
    assert browser(site, Role.lead).get("/escalations/new").status_code == 403


# --- CSRF ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/escalations/new", {"received_at": "2026-11-20T10:00", "source": "press", "body": "x"}),
        ("/escalations/1/override", {"version": "1", "band": "P0", "reason": "because"}),
        ("/escalations/1/acknowledge", {"version": "1"}),
        ("/escalations/1/action", {"version": "1", "note": "x"}),
        ("/escalations/1/resolve", {"version": "1", "resolution": "no_action"}),
        ("/escalations/1/attachments", {}),
    ],
)
def test_forms_without_the_csrf_token_are_refused(
    site: Api, path: str, data: dict[str, str]
) -> None:
    client = browser(site, TRIAGE)
    audits = _count(site, AuditEntry)
    files = {"file": ("a.txt", b"abc", "text/plain")} if path.endswith("attachments") else None
    for token in (None, "not-the-token"):
        sent = {**data, "csrf_token": token} if token else data
        answer = client.post(path, data=sent, files=files, follow_redirects=False)
        assert answer.status_code == 403, answer.text
        assert "CSRF" in answer.text
    assert _count(site, AuditEntry) == audits
    assert _detail(site, 1).version == 1
