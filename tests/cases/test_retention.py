"""Retention purges closed cases past the period, with their children, audited; open and
recent cases stay."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from custodes.access.principal import Principal
from custodes.audit import verify
from custodes.cases import CaseService
from custodes.cases.retention import purge
from custodes.cases.views import CaseCreate, TaskCreate
from custodes.clock import utc_now_aware
from custodes.config import Settings
from custodes.store.cases import CaseStore
from custodes.store.schema import Case, CaseSubject, Note, Task
from tests.cases.helpers import audit_actions


def test_purge_after_the_retention_period(
    service: CaseService, cases: CaseStore, people: dict[str, Principal], settings: Settings
) -> None:
    ana = people["ana"]
    ids = []
    for title in ("old closed", "recent closed", "old open"):
        case = service.create(ana, CaseCreate(title=title, subjects=["m042"]))
        service.add_note(ana, case.id, "note")
        service.add_task(ana, case.id, TaskCreate(title="task"))
        ids.append(case.id)
    old, recent, still_open = ids
    service.link(ana, recent, old)
    for case_id in (old, recent):
        service.transition(ana, case_id, 1, "closed", outcome="unsubstantiated")
    now = utc_now_aware() + timedelta(days=settings.retention_days, hours=1)
    with cases.write() as session:  # the recent one closed later than the old one
        session.execute(
            sa.update(Case)
            .where(Case.id == recent)
            .values(closed_at=utc_now_aware() + timedelta(days=2))
        )
    dry = purge(cases, settings, now, dry_run=True)
    assert dry.case_ids == [old]
    result = purge(cases, settings, now)
    assert result.case_ids == [old]
    with cases.read() as session:
        assert set(session.scalars(sa.select(Case.id))) == {recent, still_open}
        for model in (CaseSubject, Note, Task):
            assert old not in set(session.scalars(sa.select(model.case_id)))
    assert service.get(ana, recent).links == []
    assert ("system", "case.purge", str(old)) in audit_actions(cases)
    assert purge(cases, settings, now).case_ids == []
    assert verify(cases).ok
