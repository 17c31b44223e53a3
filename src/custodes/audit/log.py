"""Reading the audit log and verifying its chain, as audited acts of their own.

Why a service and not two routes: the JSON API (``GET /api/audit``, ``/api/audit/verify``)
and the audit page show the same log, and who looked at it — with which filters — is
itself evidence (an auditor reading the log leaves a trace an admin cannot quietly remove).
Both call here, so neither can forget the ``audit.read`` / ``audit.verify`` row or filter
differently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import func, select

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.audit.chain import AuditReport, append, verify
from custodes.errors import InputError
from custodes.store.cases import CaseStore
from custodes.store.schema import AuditEntry

MAX_LIMIT: Final = 500
FILTERS: Final = ("actor", "action", "target_type", "target_id")


@dataclass(frozen=True)
class LogEntry:
    """One row of the log as stored (``detail`` parsed from its canonical JSON text)."""

    seq: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    reason: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


def read_log(
    store: CaseStore,
    principal: Principal,
    *,
    filters: dict[str, str | None] | None = None,
    limit: int = 50,
    offset: int = 0,
    newest_first: bool = True,
) -> tuple[list[LogEntry], int]:
    """A page of the log (exact matches on ``actor``, ``action``, ``target_type``,
    ``target_id``) and how many rows match; appends an ``audit.read`` row naming the
    filters and how many rows were shown, in the same transaction."""
    principal.require(Permission.audit_read)
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit must be within 1..{MAX_LIMIT}", field="limit")
    if offset < 0:
        raise InputError("offset must not be negative", field="offset")
    given = {k: v for k, v in (filters or {}).items() if v is not None and v != ""}
    for name in given:
        if name not in FILTERS:
            raise InputError(f"unknown filter; filter by {', '.join(FILTERS)}", field=name)
    query = select(AuditEntry)
    for name, value in given.items():
        query = query.where(getattr(AuditEntry, name) == value)
    order = AuditEntry.seq.desc() if newest_first else AuditEntry.seq.asc()
    with store.write() as session:
        total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = session.execute(query.order_by(order).limit(limit).offset(offset)).scalars()
        items = [_entry(r) for r in rows]
        append(
            session,
            actor=principal.username,
            action="audit.read",
            target_type="audit",
            target_id="log",
            detail=given | {"rows": len(items)},
        )
    return items, int(total)


def verify_chain(store: CaseStore, principal: Principal) -> AuditReport:
    """Walk the whole chain (``audit.verify``) and record that it was checked, and how it
    came out, in the log itself."""
    principal.require(Permission.audit_read)
    report = verify(store)
    with store.write() as session:
        append(
            session,
            actor=principal.username,
            action="audit.verify",
            target_type="audit",
            target_id="log",
            detail={"ok": report.ok, "rows": report.rows},
        )
    return report


def _entry(row: AuditEntry) -> LogEntry:
    at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=UTC)
    detail = json.loads(row.detail) if isinstance(row.detail, str) else dict(row.detail)
    return LogEntry(
        seq=row.seq,
        at=at.astimezone(UTC),
        actor=row.actor,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        reason=row.reason,
        detail=detail,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
