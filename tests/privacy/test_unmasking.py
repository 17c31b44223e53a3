"""Unmasking: justified, permitted, time-limited, optionally approved by a second person, and
audited at every step; a view carries the real id only while a grant is active."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from custodes.access.principal import Principal
from custodes.audit import verify
from custodes.cases import CaseService
from custodes.cases.views import CaseCreate
from custodes.clock import utc_now_aware
from custodes.config import Settings
from custodes.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from custodes.privacy import unmasking
from custodes.store.cases import CaseStore
from custodes.store.schema import AuditEntry
from tests.cases.helpers import audit_actions

People = dict[str, Principal]
WHY = "Case review: verify ticket trail with HR"


def _case(service: CaseService, who: Principal) -> tuple[int, str]:
    case = service.create(who, CaseCreate(title="snooping", subjects=["m042"]))
    return case.id, case.subjects[0].pseudonym


def test_unmask_reveal_and_view(
    service: CaseService, cases: CaseStore, people: People, settings: Settings
) -> None:
    ana = people["ana"]
    case_id, pseudonym = _case(service, ana)
    with cases.write() as session, pytest.raises(InputError) as short:
        unmasking.request(session, ana, pseudonym, "because", case_id, settings=settings)
    assert short.value.field == "justification"
    with cases.write() as session, pytest.raises(PermissionDeniedError):
        unmasking.reveal(session, ana, pseudonym)
    with cases.write() as session:
        grant = unmasking.request(session, ana, pseudonym, WHY, case_id, settings=settings)
        assert grant.status == "active"
    with cases.write() as session:
        assert unmasking.reveal(session, ana, pseudonym) == "m042"
    detail = service.get(ana, case_id)
    assert [(s.pseudonym, s.actor_id) for s in detail.subjects] == [(pseudonym, "m042")]
    # Only for the holder of the grant.
    assert service.get(people["lead"], case_id).subjects[0].actor_id is None
    rows = audit_actions(cases)
    assert ("ana", "unmask.request", pseudonym) in rows
    assert ("ana", "unmask.reveal", pseudonym) in rows
    with cases.read() as session:
        reads = session.scalars(
            select(AuditEntry.detail)
            .where(AuditEntry.action == "case.read")
            .order_by(AuditEntry.seq)
        ).all()
    details = [json.loads(r) if isinstance(r, str) else r for r in reads]
    assert details[0] == {"unmasked": [pseudonym]}
    assert all("m042" not in json.dumps(d) for d in details)
    assert verify(cases).ok


def test_grants_expire(
    service: CaseService, cases: CaseStore, people: People, settings: Settings
) -> None:
    ana = people["ana"]
    case_id, pseudonym = _case(service, ana)
    with cases.write() as session:
        unmasking.request(session, ana, pseudonym, WHY, case_id, settings=settings)
    later = utc_now_aware() + timedelta(minutes=settings.unmask_minutes + 1)
    with cases.read() as session:
        assert unmasking.active_pseudonyms(session, ana) == {pseudonym}
        assert unmasking.active_pseudonyms(session, ana, later) == set()


def test_second_person_approval(cases: CaseStore, people: People, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, pseudonym_key="k" * 32, unmask_needs_approval=True)
    service = CaseService(cases, settings)
    ana, lead = people["ana"], people["lead"]
    case_id, pseudonym = _case(service, ana)
    with cases.write() as session:
        grant = unmasking.request(session, ana, pseudonym, WHY, case_id, settings=settings)
        grant_id = grant.id
        assert grant.status == "pending"
    with cases.write() as session, pytest.raises(PermissionDeniedError):
        unmasking.reveal(session, ana, pseudonym)
    with cases.write() as session, pytest.raises(PermissionDeniedError):
        unmasking.approve(session, people["ivo"], grant_id, settings=settings)  # no permission
    lead_id, lead_pseudonym = _case(service, lead)
    with cases.write() as session:
        own = unmasking.request(session, lead, lead_pseudonym, WHY, lead_id, settings=settings)
        own_id = own.id
    with cases.write() as session, pytest.raises(PermissionDeniedError, match="second person"):
        unmasking.approve(session, lead, own_id, settings=settings)
    with cases.write() as session:
        assert [g.id for g in unmasking.pending(session, lead)] == [grant_id, own_id]
        unmasking.approve(session, lead, grant_id, settings=settings)
    with cases.write() as session, pytest.raises(ConflictError):
        unmasking.deny(session, people["admin"], grant_id)
    with cases.write() as session:
        assert unmasking.reveal(session, ana, pseudonym) == "m042"
    with cases.write() as session:
        unmasking.revoke(session, ana, grant_id)
    with cases.write() as session, pytest.raises(PermissionDeniedError):
        unmasking.reveal(session, ana, pseudonym)
    actions = [a for _, a, _ in audit_actions(cases)]
    assert {"unmask.request", "unmask.approve", "unmask.revoke", "unmask.reveal"} <= set(actions)
    assert verify(cases).ok


def test_need_to_know_applies_to_unmasking(
    service: CaseService, cases: CaseStore, people: People, settings: Settings
) -> None:
    case_id, pseudonym = _case(service, people["ana"])
    with cases.write() as session, pytest.raises(NotFoundError):
        unmasking.request(session, people["ivo"], pseudonym, WHY, case_id, settings=settings)
    with cases.write() as session, pytest.raises(PermissionDeniedError):
        unmasking.request(session, people["aud"], pseudonym, WHY, case_id, settings=settings)
    with cases.write() as session, pytest.raises(InputError) as bad:
        unmasking.request(session, people["ana"], "m042", WHY, case_id, settings=settings)
    assert bad.value.field == "pseudonym"
