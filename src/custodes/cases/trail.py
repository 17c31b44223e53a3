"""A case's audit trail: the audit log's rows about the case itself and about the unmasking of
its subjects, in chain order, with each row's hash.

Reading it is reading the audit log, so it needs ``audit.read`` (admins and auditors) on top
of seeing the case (need-to-know), and is itself audited as ``audit.read`` naming the case,
as ``GET /api/audit`` is. Free text in the rows (reasons, details) has every staff id it
names masked, as the case report does: a justification may name a colleague.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from sqlalchemy import and_, or_, select

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.audit import append
from custodes.cases.views import utc
from custodes.store.schema import AuditEntry, CaseSubject

if TYPE_CHECKING:
    from custodes.cases.service import CaseService

MAX_ROWS: Final = 1000  # the newest rows, should a case ever have more


@dataclass(frozen=True)
class TrailEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    target: str  # "case 12", or the subject's pseudonym
    reason: str
    detail: str  # ``key=value, …`` from the stored JSON
    hash: str


def build(
    service: CaseService,
    principal: Principal,
    case_id: int,
    staff: Iterable[str] = (),
    limit: int = MAX_ROWS,
) -> list[TrailEntry]:
    """The newest ``limit`` rows of the trail, oldest first; ``staff`` are the ids to mask in
    free text (the case's subjects are always masked)."""
    principal.require(Permission.case_read)
    principal.require(Permission.audit_read)
    with service.store.read() as session:
        case = service._load(session, principal, case_id)
        subjects = dict(
            session.execute(
                select(CaseSubject.actor_id, CaseSubject.pseudonym).where(
                    CaseSubject.case_id == case.id
                )
            ).all()
        )
        about = [and_(AuditEntry.target_type == "case", AuditEntry.target_id == str(case.id))]
        if subjects:
            about.append(
                and_(
                    AuditEntry.target_type == "subject",
                    AuditEntry.target_id.in_(sorted(subjects.values())),
                )
            )
        rows = session.scalars(
            select(AuditEntry)
            .where(or_(*about))
            .order_by(AuditEntry.seq.desc())
            .limit(min(limit, MAX_ROWS))
        ).all()
        mask = service.pseudonyms.masker({*staff, *subjects})
        entries = [
            TrailEntry(
                seq=r.seq,
                at=utc(r.at) or r.at,
                actor=r.actor,
                action=r.action,
                target=f"case {r.target_id}" if r.target_type == "case" else str(r.target_id),
                reason=mask(r.reason or ""),
                detail=mask(_detail_text(r.detail)),
                hash=r.hash,
            )
            for r in reversed(rows)
        ]
        case_pk = case.id
    with service.store.write() as session:
        append(
            session,
            actor=principal.username,
            action="audit.read",
            target_type="case",
            target_id=case_pk,
            detail={"rows": len(entries)},
        )
    return entries


def _detail_text(stored: str | None) -> str:
    """``{"a":1,"b":[2]}`` → ``a=1, b=[2]``: the stored canonical JSON, for people."""
    try:
        data = json.loads(stored or "{}")
    except ValueError:
        return stored or ""
    if not isinstance(data, dict):
        return str(stored)
    return ", ".join(
        f"{k}={v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
        for k, v in data.items()
    )
