"""Retention: closed cases are deleted ``settings.retention_days`` after they closed.

Keeping files on people longer than needed is itself a harm (and, in much of the world,
unlawful), so purging is part of the product, not an admin chore. A purge deletes the case
and everything hanging off it; unmasking grants that named it keep their audit value but lose
the link. The audit log keeps one ``case.purge`` row per case (never the content), so the
chain still shows the case existed and when it went.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from custodes.audit import append
from custodes.clock import utc_now_aware
from custodes.config import Settings
from custodes.errors import InputError
from custodes.store.cases import CaseStore
from custodes.store.schema import (
    Case,
    CaseAlert,
    CaseLink,
    CaseMember,
    CaseSubject,
    Evidence,
    Note,
    Task,
    UnmaskGrant,
)


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime
    case_ids: list[int]
    dry_run: bool


def purge(
    store: CaseStore,
    settings: Settings,
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    actor: str = "system",
) -> PurgeResult:
    """Delete closed cases whose closing is older than the retention period (audited)."""
    if settings.retention_days < 1:
        raise InputError("retention_days must be at least 1", field="retention_days")
    cutoff = (now or utc_now_aware()) - timedelta(days=settings.retention_days)
    with store.write() as session:
        ids = list(
            session.scalars(
                select(Case.id)
                .where(Case.status == "closed", Case.closed_at < cutoff)
                .order_by(Case.id)
            )
        )
        if dry_run or not ids:
            return PurgeResult(cutoff, ids, dry_run)
        for model in (CaseSubject, CaseMember, CaseAlert, Task, Note, Evidence):
            session.execute(delete(model).where(model.case_id.in_(ids)))
        session.execute(
            delete(CaseLink).where(or_(CaseLink.case_id.in_(ids), CaseLink.other_id.in_(ids)))
        )
        session.execute(
            update(UnmaskGrant).where(UnmaskGrant.case_id.in_(ids)).values(case_id=None)
        )
        session.execute(delete(Case).where(Case.id.in_(ids)))
        for case_id in ids:
            append(
                session,
                actor=actor,
                action="case.purge",
                target_type="case",
                target_id=case_id,
                reason=f"retention: closed before {cutoff.date().isoformat()}",
            )
    return PurgeResult(cutoff, ids, dry_run)
