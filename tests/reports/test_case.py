"""The case report, on SQLite and PostgreSQL: an audited read under need-to-know,
pseudonymous unless the requester holds an active unmasking (and then its audit row says
so), evidence hashes as stored, the timeline, and the audit trail for auditors only."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from custodes.access.principal import Principal
from custodes.audit import verify
from custodes.cases.events import naive_utc
from custodes.cases.timeline import MARGIN
from custodes.config import Settings
from custodes.errors import NotFoundError, PermissionDeniedError
from custodes.privacy import unmasking
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.reports.case import CaseReport, build
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from custodes.store.schema import AuditEntry, Evidence
from tests.reports.world import Clock, IntegrityWorld, integrity_world
from tests.web.world import ACTORS

MALLORY, TRUDY, WALTER = ACTORS


def report_for(
    cases: CaseStore, settings: Settings, who: Principal, case_id: int, reason: str = ""
) -> CaseReport:
    with EventStore.open(settings.data_dir, read_only=True) as events:
        return build(who, cases, events, case_id, Pseudonyms.load(cases, settings), reason=reason)


@dataclass(frozen=True)
class Row:
    seq: int
    actor: str
    action: str
    target_type: str
    target_id: str
    reason: str
    detail: str


def last_audit(cases: CaseStore) -> Row:
    with cases.read() as s:
        r = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
        return Row(r.seq, r.actor, r.action, r.target_type, r.target_id, r.reason, r.detail)


@pytest.fixture
def world(
    cases: CaseStore, settings: Settings, people: dict[str, Principal], clock: Clock
) -> IntegrityWorld:
    return integrity_world(cases, settings, people, clock)


def test_a_case_report_is_an_audited_pseudonymous_read(
    cases: CaseStore, settings: Settings, people: dict[str, Principal], world: IntegrityWorld
) -> None:
    report = report_for(cases, settings, people["lead"], world.closed_case, "HR hearing")
    row = last_audit(cases)
    assert (row.actor, row.action, row.target_type, row.target_id) == (
        "lena",
        "case.report",
        "case",
        str(world.closed_case),
    )
    assert row.reason == "HR hearing" and "unmasked" not in json.loads(row.detail)
    assert report.audit_seq == row.seq and verify(cases).ok
    pseudonym = Pseudonyms.load(cases, settings).of(MALLORY)
    assert [(s.pseudonym, s.actor_id) for s in report.subjects] == [(pseudonym, None)]
    assert report.unmasked == ()
    assert report.case.outcome == "substantiated"
    # Free text names staff by pseudonym: the note named mallory, the reasons trudy.
    assert report.notes[0].body == f"Interviewed the team lead; {pseudonym} admitted it."
    assert all(MALLORY not in r and TRUDY not in r for a in report.case.alerts for r in a.reasons)
    # Evidence: the hash as captured; the timeline: the subject's events around the alerts.
    with cases.read() as s:
        stored = s.scalars(select(Evidence.content_hash)).all()
    assert [e.content_hash for e in report.evidence] == list(stored)
    with EventStore.open(settings.data_dir, read_only=True) as events:
        expected = events.fetch_value(
            "SELECT count(*) FROM events WHERE actor_id = ? AND ts >= ? AND ts < ?",
            [MALLORY, naive_utc(report.timeline_start), naive_utc(report.timeline_end)],
        )
    assert len(report.timeline) == report.timeline_total == expected == 9
    assert report.timeline_start == min(a.window_start for a in report.case.alerts) - MARGIN
    assert {e.subject for e in report.timeline} == {pseudonym}
    assert not report.timeline_truncated
    # Leads do not read the audit log.
    assert report.audit is None
    assert MALLORY not in repr(report) and TRUDY not in repr(report)


def test_an_unmasked_report_shows_the_identity_and_its_audit_row_says_so(
    cases: CaseStore, settings: Settings, people: dict[str, Principal], world: IntegrityWorld
) -> None:
    pseudonym = Pseudonyms.load(cases, settings).of(MALLORY)
    admin = people["admin"]
    with cases.write() as session:
        unmasking.request(
            session,
            admin,
            pseudonym,
            "tribunal asked for the name",
            world.closed_case,
            settings=settings,
        )
    report = report_for(cases, settings, admin, world.closed_case)
    assert [(s.pseudonym, s.actor_id) for s in report.subjects] == [(pseudonym, MALLORY)]
    assert report.unmasked == (pseudonym,)
    assert json.loads(last_audit(cases).detail)["unmasked"] == [pseudonym]
    # An admin reads the audit log: the case's trail and the unmasking, in chain order.
    assert report.audit is not None
    actions = [a.action for a in report.audit]
    assert actions[0] == "case.create" and actions[-1] == "unmask.request"
    assert {"note.create", "evidence.add", "case.close"} <= set(actions)
    assert [a.seq for a in report.audit] == sorted(a.seq for a in report.audit)
    # Other staff named in free text stay masked even then.
    assert all(TRUDY not in r for a in report.case.alerts for r in a.reasons)


def test_need_to_know_and_permissions(
    cases: CaseStore, settings: Settings, people: dict[str, Principal], world: IntegrityWorld
) -> None:
    before = last_audit(cases).seq
    with pytest.raises(NotFoundError):
        report_for(cases, settings, people["ivo"], world.closed_case)  # not on the case
    with pytest.raises(PermissionDeniedError):
        report_for(cases, settings, people["tri"], world.closed_case)
    with pytest.raises(NotFoundError):
        report_for(cases, settings, people["admin"], 999)
    assert last_audit(cases).seq == before  # refused reads leave no report row


def test_a_case_without_alerts_looks_back_thirty_days(
    cases: CaseStore, settings: Settings, people: dict[str, Principal], world: IntegrityWorld
) -> None:
    report = report_for(cases, settings, people["lead"], world.open_case)
    assert report.case.alerts == []
    assert (report.timeline_end - report.timeline_start).days == 31
    assert {e.subject for e in report.timeline} == {Pseudonyms.load(cases, settings).of(WALTER)}
