"""Hash chain over the audit log, so that no row can be changed, removed or moved unnoticed.

Each row's ``hash`` is ``SHA-256(prev_hash || "\\n" || canonical JSON of the row)``, where the
row's JSON includes its sequence number, and ``prev_hash`` is the previous row's hash (the
genesis value for the first). Hence:

* editing any field of a row changes its hash (and the next row no longer points at it);
* deleting a row leaves a gap in ``seq`` and a dangling ``prev_hash``;
* swapping rows breaks both the sequence and the links;
* deleting the newest rows is caught against ``audit_head``, the chain's tip, which every
  append updates in the same transaction.

Someone with write access to the database could rebuild the whole chain; publishing the
head hash elsewhere (``custodes audit verify`` prints it) is what defeats that. The database
also refuses UPDATE and DELETE on the log (triggers in the migration), so the chain is the
second line, not the only one.

Appends lock ``audit_head`` first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite write
transactions hold the database lock already), so concurrent writers queue rather than fork.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from custodes.clock import utc_now_aware as utc_now
from custodes.store.cases import CaseStore
from custodes.store.schema import AuditEntry, AuditHead

GENESIS: Final = "0" * 64


def canonical(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    reason: str,
    detail: dict[str, Any],
) -> bytes:
    """The bytes a row's hash covers; stable across SQLite and PostgreSQL round trips."""
    stamp = _utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(
        [seq, stamp, actor, action, target_type, target_id, reason, detail],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def link(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + body).hexdigest()


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | int,
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one row in the caller's transaction: it commits with the change it records."""
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one()
    seq = head.seq + 1
    at = utc_now()
    detail = detail or {}
    body = canonical(seq, at, actor, action, target_type, str(target_id), reason, detail)
    digest = link(head.hash, body)
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        reason=reason,
        detail=detail,
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(entry)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=digest))
    return entry


@dataclass(frozen=True)
class AuditBreak:
    """Where the chain first fails, and how."""

    seq: int
    problem: str


@dataclass(frozen=True)
class AuditReport:
    rows: int
    head_seq: int
    head_hash: str
    first_break: AuditBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


BATCH: Final = 20_000


def verify(store: CaseStore) -> AuditReport:
    """Walk the whole chain in ``seq`` order, streaming; report the first break."""
    with store.read() as session:
        head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
        expected_seq, prev, rows = 1, GENESIS, 0
        found: AuditBreak | None = None
        for row in _rows(session):
            seq = row[0]
            rows += 1
            if seq != expected_seq:
                kind = "missing" if seq > expected_seq else "repeated or out of order"
                found = AuditBreak(seq, f"expected row {expected_seq}, found {seq}: rows {kind}")
                break
            if row[8] != prev:
                found = AuditBreak(seq, "does not link to the row before it (moved or replaced)")
                break
            body = canonical(seq, row[1], row[2], row[3], row[4], row[5], row[6], row[7] or {})
            if link(prev, body) != row[9]:
                found = AuditBreak(seq, "its content was changed after it was written")
                break
            prev, expected_seq = row[9], seq + 1
        if found is None and (head.seq != expected_seq - 1 or head.hash != prev):
            found = AuditBreak(
                expected_seq,
                f"the chain ends at row {expected_seq - 1} but its head says row {head.seq}: "
                "newest rows removed or head altered",
            )
        return AuditReport(rows, head.seq, head.hash, found)


def _rows(session: Session) -> Iterator[tuple[Any, ...]]:
    """Keyset pages in ``seq`` order: constant memory, and no long-held server cursor."""
    columns = (
        AuditEntry.seq,
        AuditEntry.at,
        AuditEntry.actor,
        AuditEntry.action,
        AuditEntry.target_type,
        AuditEntry.target_id,
        AuditEntry.reason,
        AuditEntry.detail,
        AuditEntry.prev_hash,
        AuditEntry.hash,
    )
    last: int | None = None
    while True:
        query = select(*columns).order_by(AuditEntry.seq).limit(BATCH)
        if last is not None:
            query = query.where(AuditEntry.seq > last)
        page = session.execute(query).all()
        if not page:
            return
        for row in page:
            yield tuple(row)
        last = page[-1][0]


def _utc(ts: datetime) -> datetime:
    """SQLite hands timestamps back naive; they were written as UTC."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
