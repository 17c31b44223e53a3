"""The audit log: read it (itself an audited act) and verify its hash chain."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from custodes import audit
from custodes.store.schema import AuditEntry
from custodes.web.deps import CanReadAudit, PageDep, StoreDep
from custodes.web.schemas.audit import AuditBreakOut, AuditEntryPublic, AuditVerifyOut
from custodes.web.schemas.common import Page

router = APIRouter(prefix="/audit", tags=["audit"])

Filter = Annotated[str | None, Query(min_length=1, max_length=128)]


@router.get("", response_model=Page[AuditEntryPublic])
def list_audit(
    principal: CanReadAudit,
    store: StoreDep,
    page: PageDep,
    actor: Filter = None,
    action: Filter = None,
    target_type: Filter = None,
    target_id: Filter = None,
    sort: Literal["seq", "-seq"] = "-seq",
) -> Page[AuditEntryPublic]:
    filters = {"actor": actor, "action": action, "target_type": target_type, "target_id": target_id}
    query = select(AuditEntry)
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(AuditEntry, name) == value)
    order = AuditEntry.seq.desc() if sort == "-seq" else AuditEntry.seq.asc()
    with store.write() as session:
        total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = session.execute(query.order_by(order).limit(page.limit).offset(page.offset))
        items = [AuditEntryPublic.model_validate(r) for r in rows.scalars()]
        audit.append(
            session,
            actor=principal.username,
            action="audit.read",
            target_type="audit",
            target_id="log",
            detail={k: v for k, v in filters.items() if v is not None} | {"rows": len(items)},
        )
    return Page(items=items, total=int(total), limit=page.limit, offset=page.offset)


@router.get("/verify", response_model=AuditVerifyOut)
def verify_audit(principal: CanReadAudit, store: StoreDep) -> AuditVerifyOut:
    report = audit.verify(store)
    with store.write() as session:
        audit.append(
            session,
            actor=principal.username,
            action="audit.verify",
            target_type="audit",
            target_id="log",
            detail={"ok": report.ok, "rows": report.rows},
        )
    brk = report.first_break
    return AuditVerifyOut(
        ok=report.ok,
        rows=report.rows,
        head_seq=report.head_seq,
        head_hash=report.head_hash,
        first_break=AuditBreakOut(seq=brk.seq, problem=brk.problem) if brk else None,
    )
