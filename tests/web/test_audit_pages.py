"""The audit log page on SQLite and PostgreSQL: filters and pages, reading it is itself
logged, staff ids typed into the log shown as pseudonyms, and the verify button saying the
chain is intact — or at which row it breaks and why."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from custodes.access.roles import Permission as P
from custodes.access.roles import Role, can
from custodes.audit import append
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.store.schema import AuditEntry
from custodes.web.pages import audit as pages
from tests.web.conftest import Api, running_api
from tests.web.pages import browser, fill
from tests.web.world import ACTORS


@pytest.fixture
def site(case_url: str, tmp_path: Path) -> Iterator[Api]:
    with running_api(case_url, tmp_path / "data") as api:
        fill(api)
        yield api


def _seqs(html: str) -> list[int]:
    return [
        int(s) for s in re.findall(r'<th scope="row" class="num" title="hash \w+">(\d+)</th>', html)
    ]


def _last(api: Api) -> AuditEntry:
    with api.store.read() as session:
        row = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
        session.expunge(row)
        return row


def test_only_auditors_and_admins_see_the_log(site: Api) -> None:
    for role in Role:
        answer = browser(site, role).get("/audit")
        assert answer.status_code == (200 if can(role, P.audit_read) else 403), role


def test_the_log_newest_first_filtered_paged_and_its_reading_logged(
    site: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = browser(site, Role.auditor)
    html = client.get("/audit").text
    seqs = _seqs(html)
    assert seqs == sorted(seqs, reverse=True) and len(seqs) > 3
    read = _last(site)
    assert (read.actor, read.action) == ("auditor", "audit.read")
    created = client.get("/audit", params={"action": "escalation.create"}).text
    assert len(_seqs(created)) == 3 and "of 3, newest first" in created
    assert 'value="escalation.create"' in created  # the filter stays in its field
    logged = _last(site)
    assert logged.action == "audit.read" and '"action":"escalation.create"' in logged.detail
    assert "No rows match." in client.get("/audit?actor=nobody").text
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    first, second = (
        client.get("/audit?action=escalation.create"),
        client.get("/audit?action=escalation.create&page=2"),
    )
    assert len(_seqs(first.text)) == 2 and len(_seqs(second.text)) == 1
    assert 'href="/audit?action=escalation.create&amp;page=2"' in first.text
    assert _seqs(first.text)[-1] > _seqs(second.text)[0]


def test_staff_ids_typed_into_the_log_are_shown_as_pseudonyms(site: Api) -> None:
    with site.store.write() as session:
        append(
            session,
            actor="investigator",
            action="sql.run",
            target_type="sql",
            target_id="abc",
            reason=f"checking {ACTORS[1]}",
            detail={"statement": f"SELECT * FROM events WHERE subject = '{ACTORS[0]}'"},
        )
    html = browser(site, Role.admin).get("/audit?action=sql.run").text
    names = Pseudonyms.load(site.store, site.settings)
    for actor in ACTORS[:2]:
        assert actor not in html
        assert names.of(actor) in html
    # The stored row is untouched (its hash covers it as written).
    assert ACTORS[0] in _last_of(site, "sql.run").detail


def _last_of(api: Api, action: str) -> AuditEntry:
    with api.store.read() as session:
        row = session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq.desc())
        ).first()
        assert row is not None
        session.expunge(row)
        return row


def test_verify_says_intact_or_where_the_chain_breaks(site: Api) -> None:
    client = browser(site, Role.auditor)
    page = client.get("/audit")
    assert 'hx-get="/audit/verify"' in page.text and 'action="/audit/verify"' in page.text
    intact = client.get("/audit/verify")
    assert intact.status_code == 200
    assert "The chain is intact" in intact.text
    assert _last_of(site, "audit.verify").detail == f'{{"ok":true,"rows":{_last(site).seq - 2}}}'
    fragment = client.get("/audit/verify", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="verify-result" role="status">')
    assert "<nav" not in fragment.text
    # Someone with database access edits row 2 behind the log's back.
    with site.store.write_engine.begin() as conn:
        if site.store.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_append_only ON audit_log")
        conn.execute(sa.text("UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 2"))
    broken = client.get("/audit/verify").text
    assert "The chain is broken at row 2:" in broken
    assert "its content was changed after it was written" in broken
