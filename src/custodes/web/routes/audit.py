"""The audit log: read it (itself an audited act) and verify its hash chain; both through
``custodes.audit.log``, which the audit page uses too."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from custodes.audit.log import read_log, verify_chain
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
    entries, total = read_log(
        store,
        principal,
        filters=filters,
        limit=page.limit,
        offset=page.offset,
        newest_first=sort == "-seq",
    )
    items = [AuditEntryPublic.model_validate(e) for e in entries]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/verify", response_model=AuditVerifyOut)
def verify_audit(principal: CanReadAudit, store: StoreDep) -> AuditVerifyOut:
    report = verify_chain(store, principal)
    brk = report.first_break
    return AuditVerifyOut(
        ok=report.ok,
        rows=report.rows,
        head_seq=report.head_seq,
        head_hash=report.head_hash,
        first_break=AuditBreakOut(seq=brk.seq, problem=brk.problem) if brk else None,
    )
