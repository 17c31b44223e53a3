"""The escalation lifecycle on a real case store (SQLite and PostgreSQL): each move with who
and when, stale versions and out-of-order moves refused with nothing stored, late moves
recording breaches with the clock's cause, the queue clock following the steps, staff
subjects linked to the open integrity case and that link shown only to who may see it, and
attachments stored whole, once per content."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from custodes.access.principal import Principal
from custodes.audit import verify
from custodes.cases.service import CaseService
from custodes.cases.views import CaseCreate
from custodes.config import Settings
from custodes.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from custodes.store.cases import CaseStore
from custodes.store.schema import (
    AuditEntry,
    Escalation,
    EscalationAttachment,
    EscalationBlob,
    EscalationBreach,
    EscalationOverride,
    EscalationRevision,
)
from custodes.triage import attachments, lifecycle
from custodes.triage.intake import EscalationService
from custodes.triage.views import EscalationDetail, EscalationStatus, Resolution
from tests.cases.helpers import team

STAFF = "staff-mallory-7391"
OTHER_STAFF = "staff-trudy-7392"


def record(**fields: Any) -> dict[str, Any]:
    """An ordinary escalation received just now (no clock has run out)."""
    base: dict[str, Any] = {
        "escalation_id": "esc-1",
        "received_at": datetime.now(UTC).isoformat(),
        "source": "ngo",
        "title": "Doxxing",
        "body": "Coordinated accounts are posting the home address of a reporter.",
        "subject_ids": ["acct:1"],
    }
    return base | fields


LONG_AGO = datetime(2026, 1, 5, 10, 0, tzinfo=UTC).isoformat()


@pytest.fixture
def people(cases: CaseStore) -> dict[str, Principal]:
    return team(cases)


@pytest.fixture
def tom(people: dict[str, Principal]) -> Principal:
    return people["tri"]


@pytest.fixture
def service(cases: CaseStore) -> EscalationService:
    return EscalationService(cases)


@pytest.fixture
def case_service(cases: CaseStore, tmp_path: Path) -> CaseService:
    return CaseService(cases, Settings(data_dir=tmp_path / "data", pseudonym_key="k" * 32))


def count(cases: CaseStore, model: Any, *where: Any) -> int:
    with cases.read() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def audit_actions(cases: CaseStore) -> list[str]:
    with cases.read() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


# --- status moves --------------------------------------------------------------------------


def test_each_move_records_who_when_a_revision_and_an_audit_row(
    service: EscalationService, tom: Principal, cases: CaseStore
) -> None:
    made, _ = service.submit(tom, record())
    acked = lifecycle.acknowledge(service, tom, made.id, made.version)
    assert acked.status is EscalationStatus.acknowledged and acked.version == made.version + 1
    assert acked.acknowledged is not None and acked.acknowledged.by == "tom"
    assert acked.actioned is None and acked.resolved is None
    # The queue now works from the next clock still running, not the met acknowledge clock.
    assert acked.sla_due_at == min(v for k, v in acked.clocks.items() if k != "acknowledge")
    acted = lifecycle.action(service, tom, made.id, acked.version, "  asked the host to preserve  ")
    assert acted.status is EscalationStatus.actioned
    assert acted.actioned is not None and acted.actioned.note == "asked the host to preserve"
    done = lifecycle.resolve(
        service, tom, made.id, acted.version, Resolution.content_removed, "3 posts removed"
    )
    assert done.status is EscalationStatus.resolved
    assert done.resolved is not None
    assert (done.resolved.resolution, done.resolved.note) == ("content_removed", "3 posts removed")
    assert done.acknowledged.at <= done.actioned.at <= done.resolved.at  # type: ignore[union-attr]
    assert done.breaches == []  # on time: nothing recorded
    moves = [r for r in done.revisions if r.kind == "status"]
    assert [r.changes["status"] for r in moves] == [
        ["open", "acknowledged"],
        ["acknowledged", "actioned"],
        ["actioned", "resolved"],
    ]
    assert moves[-1].changes["resolution"] == [None, "content_removed"]
    assert moves[-1].reason == "3 posts removed" and moves[-1].actor == "tom"
    assert audit_actions(cases)[-3:] == [
        "escalation.acknowledge",
        "escalation.action",
        "escalation.resolve",
    ]
    assert verify(cases).ok
    # Resolved escalations leave the default queue.
    assert service.queue(tom)[1] == 0
    assert service.queue(tom, status="resolved")[1] == 1


def test_resolving_straight_from_acknowledged(service: EscalationService, tom: Principal) -> None:
    made, _ = service.submit(tom, record())
    acked = lifecycle.acknowledge(service, tom, made.id, made.version)
    done = lifecycle.resolve(service, tom, made.id, acked.version, "duplicate")
    assert done.status is EscalationStatus.resolved and done.actioned is None
    assert done.resolved is not None and done.resolved.note is None


def test_a_stale_version_is_a_conflict_and_stores_nothing(
    service: EscalationService, tom: Principal, cases: CaseStore
) -> None:
    made, _ = service.submit(tom, record())
    acked = lifecycle.acknowledge(service, tom, made.id, made.version)
    revisions = count(cases, EscalationRevision)
    with pytest.raises(ConflictError, match="version"):
        lifecycle.action(service, tom, made.id, made.version, "too late")
    assert count(cases, EscalationRevision) == revisions
    again = service.get(tom, made.id)
    assert again.status is EscalationStatus.acknowledged and again.version == acked.version


@pytest.mark.parametrize(
    ("steps", "then", "message"),
    [
        ([], "action", "acknowledge it first"),
        ([], "resolve", "acknowledge it first"),
        (["acknowledge"], "acknowledge", "already acknowledged"),
        (["acknowledge", "action"], "action", "already actioned"),
        (["acknowledge", "resolve"], "acknowledge", "resolved"),
        (["acknowledge", "resolve"], "resolve", "resolved"),
    ],
)
def test_moves_out_of_order_are_conflicts(
    service: EscalationService, tom: Principal, steps: list[str], then: str, message: str
) -> None:
    made, _ = service.submit(tom, record())
    version = made.version
    for step in steps:
        resolution = "no_action" if step == "resolve" else None
        version = lifecycle.move(
            service, tom, made.id, version, step, resolution=resolution
        ).version
    resolution = "no_action" if then == "resolve" else None
    with pytest.raises(ConflictError, match=message):
        lifecycle.move(service, tom, made.id, version, then, resolution=resolution)
    assert service.get(tom, made.id).version == version


@pytest.mark.parametrize(
    ("step", "fields", "field"),
    [
        ("resolve", {}, "resolution"),
        ("resolve", {"resolution": "   "}, "resolution"),
        ("resolve", {"resolution": "nuked"}, "resolution"),
        ("acknowledge", {"resolution": "no_action"}, "resolution"),
        ("resolve", {"resolution": "no_action", "note": "a\x00b"}, "note"),
        ("resolve", {"resolution": "no_action", "note": "x" * 10_001}, "note"),
        ("escalate", {}, "step"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(
    service: EscalationService,
    tom: Principal,
    cases: CaseStore,
    step: str,
    fields: dict[str, Any],
    field: str,
) -> None:
    made, _ = service.submit(tom, record())
    acked = lifecycle.acknowledge(service, tom, made.id, made.version)
    before = (count(cases, EscalationRevision), count(cases, AuditEntry))
    with pytest.raises(InputError) as caught:
        lifecycle.move(service, tom, made.id, acked.version, step, **fields)
    assert caught.value.field == field
    assert (count(cases, EscalationRevision), count(cases, AuditEntry)) == before


def test_who_may_move(service: EscalationService, people: dict[str, Principal]) -> None:
    made, _ = service.submit(people["tri"], record())
    for who in ("lead", "aud", "ana"):  # leads and auditors read; investigators neither
        with pytest.raises(PermissionDeniedError):
            lifecycle.acknowledge(service, people[who], made.id, made.version)
    with pytest.raises(NotFoundError):
        lifecycle.acknowledge(service, people["tri"], 999_999, 1)
    assert lifecycle.acknowledge(service, people["admin"], made.id, made.version).acknowledged


# --- clocks and breaches -------------------------------------------------------------------


def stored_causes(cases: CaseStore, pk: int) -> dict[str, str]:
    with cases.read() as session:
        row = session.get_one(Escalation, pk)
        return dict(row.clock_causes)


def test_late_moves_record_each_breach_with_its_cause(
    service: EscalationService, tom: Principal, cases: CaseStore
) -> None:
    made, _ = service.submit(tom, record(received_at=LONG_AGO, source="press"))
    causes = stored_causes(cases, made.id)
    assert set(causes) == set(made.clocks) == {"acknowledge", "first_action", "resolve", "reply"}
    acked = lifecycle.acknowledge(service, tom, made.id, made.version)
    assert [(b.clock, b.step) for b in acked.breaches] == [("acknowledge", "acknowledge")]
    late = acked.breaches[0]
    assert late.cause == causes["acknowledge"] and late.cause.startswith(f"{made.band} acknowledge")
    assert late.due_at == made.clocks["acknowledge"] and late.actor == "tom"
    assert late.overdue_seconds == pytest.approx((late.met_at - late.due_at).total_seconds())
    assert late.met_at == acked.acknowledged.at  # type: ignore[union-attr]
    # The first action meets both the first-action clock and the press reply duty.
    acted = lifecycle.action(service, tom, made.id, acked.version, "statement sent")
    assert sorted(b.clock for b in acted.breaches if b.step == "action") == [
        "first_action",
        "reply",
    ]
    done = lifecycle.resolve(service, tom, made.id, acted.version, "no_action")
    assert [b.clock for b in done.breaches if b.step == "resolve"] == ["resolve"]
    assert {b.clock: b.cause for b in done.breaches} == causes
    assert count(cases, EscalationBreach) == 4
    with cases.read() as session:
        detail = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "escalation.action")
        ).one()
    assert '"breaches":["first_action","reply"]' in detail


def test_resolving_without_an_action_breaches_the_first_action_clock_too(
    service: EscalationService, tom: Principal
) -> None:
    made, _ = service.submit(tom, record(received_at=LONG_AGO))
    acked = lifecycle.acknowledge(service, tom, made.id, made.version)
    done = lifecycle.resolve(service, tom, made.id, acked.version, "no_action")
    assert sorted((b.clock, b.step) for b in done.breaches) == [
        ("acknowledge", "acknowledge"),
        ("first_action", "resolve"),
        ("resolve", "resolve"),
    ]


def test_a_requester_deadline_is_the_cause_when_it_set_the_clock(
    service: EscalationService, tom: Principal
) -> None:
    received = datetime.now(UTC) - timedelta(hours=1)
    made, _ = service.submit(
        tom,
        record(
            received_at=received.isoformat(),
            deadline=(received + timedelta(minutes=5)).isoformat(),
        ),
    )
    acked = lifecycle.acknowledge(service, tom, made.id, made.version)
    assert [(b.clock, b.cause) for b in acked.breaches] == [("acknowledge", "requester deadline")]


def test_an_override_band_sets_the_clocks_a_move_is_held_to(
    service: EscalationService, tom: Principal
) -> None:
    received = datetime.now(UTC) - timedelta(minutes=30)
    made, _ = service.submit(
        tom,
        record(
            received_at=received.isoformat(),
            source="user_report",
            title="Spam",
            body="someone posted spam links",
        ),
    )
    assert made.clocks["acknowledge"] > datetime.now(UTC)  # not late under its own band
    tighter = service.override(tom, made.id, made.version, "P0", "a threat to life, confirmed")
    acked = lifecycle.acknowledge(service, tom, made.id, tighter.version)
    assert [(b.clock, b.cause) for b in acked.breaches] == [("acknowledge", "P0 acknowledge: 15m")]
    assert acked.breaches[0].due_at == received + timedelta(minutes=15)
    assert acked.sla_due_at == received + timedelta(hours=1)  # P0 first action


def test_on_time_moves_record_no_breach(
    service: EscalationService, tom: Principal, cases: CaseStore
) -> None:
    made, _ = service.submit(tom, record())
    lifecycle.acknowledge(service, tom, made.id, made.version)
    assert count(cases, EscalationBreach) == 0


# --- staff subjects and the integrity case --------------------------------------------------


def test_a_staff_subject_links_the_open_case_shown_only_to_who_may_see_it(
    service: EscalationService,
    case_service: CaseService,
    people: dict[str, Principal],
    cases: CaseStore,
) -> None:
    case = case_service.create(
        people["admin"], CaseCreate(title="Snooping on a streamer", subjects=[STAFF])
    )
    pseudonym = case_service.pseudonyms.of(STAFF)
    made, _ = service.submit(people["tri"], record(subject_ids=["acct:1", pseudonym]))
    assert made.staff_involved
    assert made.case_id is None and made.integrity_case is None  # a triage analyst may not see it
    for who in ("admin", "lead", "aud"):
        seen = service.get(people[who], made.id)
        assert seen.case_id == case.id, who
        assert seen.integrity_case is not None
        assert (seen.integrity_case.title, seen.integrity_case.status) == (case.title, "new")
    analyst = service.get(people["tri"], made.id)
    assert analyst.case_id is None and analyst.integrity_case is None and analyst.staff_involved
    assert case.title not in analyst.model_dump_json()
    mine = service.queue(people["tri"])[0][0]
    theirs = service.queue(people["admin"])[0][0]
    assert (mine.case_id, theirs.case_id) == (None, case.id)
    assert mine.staff_involved and theirs.staff_involved
    assert audit_actions(cases).count("escalation.link") == 1


def test_a_restricted_case_stays_hidden_from_a_lead_who_is_not_on_it(
    service: EscalationService, case_service: CaseService, people: dict[str, Principal]
) -> None:
    case = case_service.create(
        people["admin"], CaseCreate(title="Sensitive", subjects=[STAFF], restricted=True)
    )
    made, _ = service.submit(people["tri"], record(subject_ids=[STAFF]))
    assert service.get(people["lead"], made.id).integrity_case is None
    assert service.get(people["admin"], made.id).case_id == case.id


def test_staff_without_an_open_case_raise_the_flag_and_a_later_case_is_linked(
    cases: CaseStore, case_service: CaseService, people: dict[str, Principal]
) -> None:
    asked: list[list[str]] = []

    def directory(subject_ids: Any) -> set[str]:
        asked.append(list(subject_ids))
        return {s for s in subject_ids if s.startswith("staff-")}

    service = EscalationService(cases, directory=directory)
    closed = case_service.create(people["admin"], CaseCreate(title="old", subjects=[STAFF]))
    case_service.transition(
        people["admin"], closed.id, closed.version, "closed", outcome="referred"
    )
    made, _ = service.submit(people["tri"], record(subject_ids=["acct:1", STAFF]))
    assert asked == [["acct:1", STAFF]]
    assert made.staff_involved  # the directory knew; a closed case is not linked
    assert service.get(people["admin"], made.id).case_id is None
    # A lead opens a case about them: the next step on the escalation links it.
    opened = case_service.create(people["lead"], CaseCreate(title="new", subjects=[STAFF]))
    acked = lifecycle.acknowledge(service, people["tri"], made.id, made.version)
    assert acked.integrity_case is None  # still not the analyst's to see
    assert service.get(people["lead"], made.id).case_id == opened.id
    # Without a directory (it was busy), a case subject is still known to be staff.
    plain = EscalationService(cases)
    other, _ = plain.submit(people["tri"], record(escalation_id="esc-2", subject_ids=[STAFF]))
    assert other.staff_involved
    nobody, _ = plain.submit(people["tri"], record(escalation_id="esc-3", subject_ids=["acct:9"]))
    assert not nobody.staff_involved


def test_an_ordinary_escalation_is_not_about_staff(
    service: EscalationService, tom: Principal, cases: CaseStore
) -> None:
    made, _ = service.submit(tom, record(subject_ids=["acct:1", OTHER_STAFF]))
    assert not made.staff_involved  # an id nobody knows as staff (no directory, no case)
    assert "escalation.link" not in audit_actions(cases)


# --- attachments ---------------------------------------------------------------------------


def test_attachments_are_stored_once_per_content_and_read_back_checked(
    service: EscalationService, tom: Principal, cases: CaseStore, people: dict[str, Principal]
) -> None:
    made, _ = service.submit(tom, record())
    other, _ = service.submit(tom, record(escalation_id="esc-2"))
    data = b"%PDF-1.7 police order"
    first, created = attachments.add(
        service, tom, made.id, data, filename="order.pdf", content_type="Application/PDF"
    )
    assert created and first.sha256 == hashlib.sha256(data).hexdigest()
    assert (first.size, first.content_type, first.added_by) == (len(data), "application/pdf", "tom")
    again, created = attachments.add(service, tom, made.id, data, filename="copy.pdf")
    assert not created and again == first
    shared, created = attachments.add(service, tom, other.id, data, filename="order.pdf")
    assert created and shared.id != first.id
    assert count(cases, EscalationAttachment) == 2 and count(cases, EscalationBlob) == 1
    view, content = attachments.read(service, people["lead"], made.id, first.id)
    assert content == data and view == first
    assert attachments.list_for(service, people["aud"], made.id) == [first]
    with pytest.raises(NotFoundError):
        attachments.read(service, tom, other.id, first.id)  # not that escalation's
    actions = audit_actions(cases)
    assert actions.count("escalation.attachment_add") == 2
    assert actions.count("escalation.attachment_read") == 1


@pytest.mark.parametrize(
    ("content", "fields", "field"),
    [
        (b"", {"filename": "a.txt"}, "body"),
        (b"x" * (attachments.MAX_SIZE + 1), {"filename": "a.txt"}, "body"),
        (b"x", {"filename": ""}, "filename"),
        (b"x", {"filename": "../etc/passwd"}, "filename"),
        (b"x", {"filename": "a\x00.txt"}, "filename"),
        (b"x", {"filename": "n" * 256}, "filename"),
        (b"x", {"filename": "a.txt", "content_type": "pdf"}, "content_type"),
        (b"x", {"filename": "a.txt", "content_type": "text/plain\r\nX-Evil: 1"}, "content_type"),
    ],
)
def test_bad_attachments_name_the_field_and_store_nothing(
    service: EscalationService,
    tom: Principal,
    cases: CaseStore,
    content: bytes,
    fields: dict[str, Any],
    field: str,
) -> None:
    made, _ = service.submit(tom, record())
    with pytest.raises(InputError) as caught:
        attachments.add(service, tom, made.id, content, **fields)
    assert caught.value.field == field
    assert count(cases, EscalationAttachment) == 0 and count(cases, EscalationBlob) == 0


def test_a_corrupted_blob_is_refused_not_served(
    service: EscalationService, tom: Principal, cases: CaseStore
) -> None:
    from custodes.errors import StoreError

    made, _ = service.submit(tom, record())
    view, _ = attachments.add(service, tom, made.id, b"original", filename="a.txt")
    with cases.write() as session:
        session.get_one(EscalationBlob, view.sha256).content = b"tampered"
    with pytest.raises(StoreError, match="SHA-256"):
        attachments.read(service, tom, made.id, view.id)


# --- migration -----------------------------------------------------------------------------


def test_migration_0004_goes_down_and_up_keeping_escalations(
    case_url: str, people: dict[str, Principal], service: EscalationService
) -> None:
    made, _ = service.submit(people["tri"], record(received_at=LONG_AGO))
    done: EscalationDetail = lifecycle.acknowledge(service, people["tri"], made.id, made.version)
    attachments.add(service, people["tri"], made.id, b"x", filename="x.txt")
    with CaseStore(case_url, migrate=False) as store:
        store.downgrade("0003")
        assert "escalation_breaches" not in store.tables()
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT escalation_id, status FROM escalations")).all()
        assert [tuple(r) for r in rows] == [("esc-1", "acknowledged")]
        store.upgrade()
        with store.read() as session:
            row = session.get_one(Escalation, done.id)
            assert row.staff_subject_ids == [] and row.clock_causes == {}
            assert row.acknowledged_at is None  # the columns came back empty


def test_the_database_refuses_to_rewrite_escalation_history(
    service: EscalationService, tom: Principal, cases: CaseStore
) -> None:
    """Revisions, overrides and breaches are evidence: UPDATE, DELETE (and on PostgreSQL
    TRUNCATE) are refused by the database itself, whoever connects."""
    made, _ = service.submit(tom, record(received_at=LONG_AGO))
    acked = lifecycle.acknowledge(service, tom, made.id, made.version)  # late: a breach
    service.override(tom, made.id, acked.version, "P1", "police confirmed it")
    history = (EscalationRevision, EscalationOverride, EscalationBreach)
    before = {m.__tablename__: count(cases, m) for m in history}
    assert all(before.values()), before
    tried = [
        "UPDATE escalation_revisions SET reason = 'rewritten'",
        "DELETE FROM escalation_revisions",
        "UPDATE escalation_overrides SET band = 'P4'",
        "DELETE FROM escalation_overrides",
        "UPDATE escalation_breaches SET cause = 'none'",
        "DELETE FROM escalation_breaches",
    ]
    if not cases.is_sqlite:
        tried += [f"TRUNCATE {m.__tablename__}" for m in history]
    for statement in tried:
        with pytest.raises(DatabaseError, match="append-only"), cases.write() as session:
            session.execute(text(statement))
    assert {m.__tablename__: count(cases, m) for m in history} == before
    assert verify(cases).ok
