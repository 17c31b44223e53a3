"""Escalation intake on a real case store (SQLite and PostgreSQL): idempotent repeats,
updates with history, re-rating, overrides, clustering, bad input storing nothing, the
queue's order and who may do what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from custodes.access.principal import Principal
from custodes.access.roles import Role
from custodes.audit import verify
from custodes.errors import ConflictError, InputError, PermissionDeniedError
from custodes.store.cases import CaseStore
from custodes.store.schema import (
    AuditEntry,
    Escalation,
    EscalationKey,
    EscalationOverride,
    EscalationRevision,
)
from custodes.triage.intake import EscalationService, validate
from custodes.triage.rows import keys_of
from tests.cases.helpers import add_user

RECEIVED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
THREAT = (
    "User posted a video doxxing a journalist with her home address and says he will "
    "hurt her when she gets home tonight."
)


def record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "escalation_id": "esc-1",
        "received_at": RECEIVED.isoformat(),
        "source": "trusted_flagger",
        "title": "Harassment campaign",
        "body": THREAT,
        "subject_ids": ["acct:1"],
        "reach": 1_000,
        "jurisdiction": "DE",
    }
    return base | fields


@pytest.fixture
def service(cases: CaseStore) -> EscalationService:
    return EscalationService(cases)


@pytest.fixture
def tom(cases: CaseStore) -> Principal:
    return add_user(cases, "tom", Role.triage_analyst)


def count(cases: CaseStore, model: Any) -> int:
    with cases.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_submit_rates_stores_and_audits(
    service: EscalationService, tom: Principal, cases: CaseStore
) -> None:
    made, created = service.submit(tom, record())
    assert created and made.escalation_id == "esc-1" and made.version == 1
    assert made.band in ("P0", "P1", "P2", "P3", "P4") and made.route
    assert round(sum(f.contribution for f in made.factors), 2) == made.score
    assert made.engine.band == made.band and made.override is None
    assert [r.kind for r in made.revisions] == ["intake", "rating"]
    with cases.read() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
        assert actions == ["escalation.create"]
    service.get(tom, made.id)  # reading one in full is audited too
    with cases.read() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
        assert actions == ["escalation.create", "escalation.read"]
    assert verify(cases).ok


def test_identical_repeat_changes_nothing(
    service: EscalationService, tom: Principal, cases: CaseStore
) -> None:
    first, _ = service.submit(tom, record())
    again, created = service.submit(tom, record())
    assert not created
    assert again.id == first.id and again.version == first.version
    assert count(cases, Escalation) == 1
    assert count(cases, EscalationRevision) == 2
    assert count(cases, AuditEntry) == 1


def test_repeat_with_changes_is_an_update_with_history(
    service: EscalationService, tom: Principal, cases: CaseStore
) -> None:
    first, _ = service.submit(tom, record())
    updated, created = service.submit(tom, record(requester="Hate Aid", title="Updated"))
    assert not created and updated.id == first.id
    assert count(cases, Escalation) == 1
    update = next(r for r in updated.revisions if r.kind == "update")
    assert update.changes["title"] == ["Harassment campaign", "Updated"]
    assert update.changes["requester"] == [None, "Hate Aid"]
    assert update.actor == "tom"


def test_reach_growth_rerates_with_history(service: EscalationService, tom: Principal) -> None:
    small, _ = service.submit(tom, record(reach=100))
    grown, _ = service.submit(tom, record(reach=5_000_000))
    assert grown.score > small.score
    kinds = [r.kind for r in grown.revisions]
    assert kinds == ["intake", "rating", "update", "rating"]
    rerating = grown.revisions[-1]
    assert rerating.changes["score"] == [small.score, grown.score]
    assert grown.revisions[2].changes["reach"] == [100, 5_000_000]
    reach = next(f for f in grown.factors if f.name == "reach")
    assert "5,000,000" in reach.input


def test_no_id_means_a_derived_one_and_a_resend_is_a_repeat(
    service: EscalationService, tom: Principal, cases: CaseStore
) -> None:
    bare = record()
    del bare["escalation_id"]
    first, created = service.submit(tom, bare)
    second, created_again = service.submit(tom, bare)
    assert created and not created_again and first.id == second.id
    assert first.escalation_id.startswith("h-")
    assert count(cases, Escalation) == 1


def test_cluster_and_earlier_escalations_are_counted_and_merges_rerate(
    service: EscalationService, tom: Principal
) -> None:
    first, _ = service.submit(tom, record(escalation_id="a", body=THREAT + " https://x.test/p/1"))
    alone = next(f for f in first.factors if f.name == "coordination")
    assert "cluster of 1" in alone.input
    later = RECEIVED + timedelta(hours=1)
    second, _ = service.submit(
        tom, record(escalation_id="b", received_at=later.isoformat(), subject_ids=["acct:1"])
    )
    repeat = next(f for f in second.factors if f.name == "repeat")
    assert repeat.input.startswith("1 earlier escalations")
    assert "cluster of 2" in next(f for f in second.factors if f.name == "coordination").input
    # A third shares only the URL (normalised: host case, trailing slash).
    third, _ = service.submit(
        tom,
        record(
            escalation_id="c",
            received_at=later.isoformat(),
            subject_ids=["acct:9"],
            body="Same post: HTTPS://X.TEST/p/1/ again",
        ),
    )
    assert "cluster of 2" in next(f for f in third.factors if f.name == "coordination").input
    # The first grew to a cluster of 3: re-rated, with a revision saying why.
    merged = service.get(tom, first.id)
    assert "cluster of 3" in next(f for f in merged.factors if f.name == "coordination").input
    last = merged.revisions[-1]
    assert last.kind == "rating" and last.reason == "merged with escalation c"
    assert merged.version > first.version


def test_override_needs_a_reason_and_keeps_the_engine_rating(
    service: EscalationService, tom: Principal, cases: CaseStore
) -> None:
    made, _ = service.submit(tom, record(source="user_report", body="spam spam buy now"))
    assert made.band != "P0" and made.fast_lane is None
    with pytest.raises(InputError, match="reason"):
        service.override(tom, made.id, made.version, "P1", "   ")
    with pytest.raises(InputError, match="band"):
        service.override(tom, made.id, made.version, "P9", "why not")
    assert count(cases, EscalationOverride) == 0
    done = service.override(tom, made.id, made.version, "P0", "Journalist confirmed threat")
    assert done.band == "P0" and done.overridden
    assert done.engine.band == made.band and done.engine.score == made.score
    assert done.override is not None and done.override.reason == "Journalist confirmed threat"
    assert done.sla_due_at < made.sla_due_at  # a P0 clock is tighter
    assert done.revisions[-1].kind == "override"
    with pytest.raises(ConflictError):
        service.override(tom, made.id, made.version, "P2", "stale")
    with cases.read() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "escalation.override")
        ).one()
        assert entry.reason == "Journalist confirmed threat"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"body": None}, "body"),
        ({"received_at": "yesterday"}, "received_at"),
        ({"source": "aliens"}, "source"),
        ({"reach": "lots"}, "reach"),
        ({"reach": 2**70}, "reach"),
        ({"subject_ids": 5}, "subject_ids"),
        ({"body": "nul\x00byte"}, "body"),
        ({"title": "lone \ud800 surrogate"}, "title"),
        ({"extra": float("nan")}, "attrs"),
    ],
)
def test_malformed_intake_stores_nothing(
    service: EscalationService,
    tom: Principal,
    cases: CaseStore,
    change: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(InputError) as caught:
        service.submit(tom, record(**change))
    assert caught.value.field == field
    assert count(cases, Escalation) == 0
    assert count(cases, EscalationRevision) == 0
    assert count(cases, EscalationKey) == 0
    assert count(cases, AuditEntry) == 0


def test_a_bad_update_leaves_the_stored_escalation_alone(
    service: EscalationService, tom: Principal
) -> None:
    made, _ = service.submit(tom, record())
    with pytest.raises(InputError):
        service.submit(tom, record(reach=-1))
    skip = {"time_to_breach_seconds"}
    assert service.get(tom, made.id).model_dump(exclude=skip) == made.model_dump(exclude=skip)


def test_queue_orders_by_time_to_breach(service: EscalationService, tom: Principal) -> None:
    old = RECEIVED - timedelta(days=30)
    service.submit(tom, record(escalation_id="spam", source="user_report", body="buy cheap pills"))
    service.submit(tom, record(escalation_id="threat"))
    service.submit(
        tom,
        record(escalation_id="old", received_at=old.isoformat(), source="user_report", body="spam"),
    )
    rows, total = service.queue(tom)
    assert total == 3
    dues = [r.sla_due_at for r in rows]
    assert dues == sorted(dues)
    assert rows[0].escalation_id == "old" and rows[0].time_to_breach_seconds < 0
    page, _ = service.queue(tom, limit=1, offset=1)
    assert [p.escalation_id for p in page] == [rows[1].escalation_id]
    with pytest.raises(InputError, match="status"):
        service.queue(tom, status="nope")
    assert service.queue(tom, status="resolved") == ([], 0)


def test_queue_filters_by_effective_band_and_route(
    service: EscalationService, tom: Principal
) -> None:
    spam, _ = service.submit(
        tom, record(escalation_id="spam", source="user_report", body="buy cheap pills")
    )
    threat, _ = service.submit(tom, record(escalation_id="threat"))
    assert spam.band != threat.band
    rows, total = service.queue(tom, band=threat.band)
    assert total == 1 and [r.escalation_id for r in rows] == ["threat"]
    # An override moves it to the analyst's band: the queue filters on what it shows.
    service.override(tom, threat.id, threat.version, spam.band, "a hoax, confirmed")
    assert {r.escalation_id for r in service.queue(tom, band=spam.band)[0]} == {"spam", "threat"}
    assert service.queue(tom, band=threat.band) == ([], 0)
    routed = service.queue(tom, route=spam.route)[0]
    assert spam.escalation_id in {r.escalation_id for r in routed}
    assert all(r.route == spam.route for r in routed)
    assert service.queue(tom, route="nowhere") == ([], 0)
    assert service.routes(tom) == sorted({spam.route, threat.route})
    with pytest.raises(InputError, match="band"):
        service.queue(tom, band="P9")


def test_permissions(service: EscalationService, tom: Principal, cases: CaseStore) -> None:
    ana = add_user(cases, "ana", Role.investigator)
    lena = add_user(cases, "lena", Role.lead)
    made, _ = service.submit(tom, record())
    with pytest.raises(PermissionDeniedError):
        service.submit(ana, record(escalation_id="x"))
    with pytest.raises(PermissionDeniedError):
        service.queue(ana)
    with pytest.raises(PermissionDeniedError):
        service.get(ana, made.id)
    assert service.get(lena, made.id).id == made.id  # leads may read ...
    with pytest.raises(PermissionDeniedError):
        service.override(lena, made.id, made.version, "P1", "no")  # ... not manage
    assert count(cases, Escalation) == 1


def test_validate_and_keys() -> None:
    e = validate(record(subject_ids=["https://Ex.test/a/", "acct:1"], body="see http://b.test/x."))
    assert keys_of(e) == {
        "https://ex.test/a": "subject",
        "acct:1": "subject",
        "http://b.test/x": "url",
    }


def test_longest_ids_the_contract_allows_are_stored(
    service: EscalationService, tom: Principal
) -> None:
    made, _ = service.submit(tom, record(escalation_id="e" * 512, requester="r" * 512))
    assert made.escalation_id == "e" * 512
    with pytest.raises(InputError) as caught:
        service.submit(tom, record(escalation_id="e" * 513))
    assert caught.value.field == "escalation_id"
