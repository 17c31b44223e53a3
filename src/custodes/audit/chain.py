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
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from custodes.clock import utc_now_aware as utc_now
from custodes.store.cases import CaseStore
from custodes.store.schema import AuditEntry, AuditHead, Base

GENESIS: Final = "0" * 64


EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
NAIVE_EPOCH: Final = datetime(1970, 1, 1)
ONE_MICROSECOND: Final = timedelta(microseconds=1)


def detail_text(detail: dict[str, Any] | None) -> str:
    """A row's detail as canonical JSON, stored and hashed as this exact text."""
    return json.dumps(detail or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    reason: str,
    detail: str,
) -> bytes:
    """The bytes a row's hash covers: each field length-prefixed (so no field can bleed into
    the next), the time as integer microseconds since the epoch (the same on SQLite and
    PostgreSQL round trips), the detail as its stored canonical text. Cheap by design:
    verifying a million rows is string joins and SHA-256, no JSON or date formatting."""
    s, t = str(seq), str(_micros(at))
    return (
        f"{len(s)}:{s};{len(t)}:{t};{len(actor)}:{actor};{len(action)}:{action};"
        f"{len(target_type)}:{target_type};{len(target_id)}:{target_id};"
        f"{len(reason)}:{reason};{len(detail)}:{detail};"
    ).encode()


def link(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + body).hexdigest()


# Core statements, built once: an append is on the path of every audited request, and the
# ORM's unit of work (identity map, flush plan) cost ~1 ms of it for one insert and one update.
_HEAD: Final[Table] = Base.metadata.tables["audit_head"]
_LOG: Final[Table] = Base.metadata.tables["audit_log"]
_LOCK_HEAD: Final = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
_ADD_ROW: Final = insert(_LOG)
_MOVE_HEAD: Final = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


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
    """Add one row in the caller's transaction: it commits with the change it records.

    The returned entry is a detached copy of the row written (callers read its ``seq``).
    Pending ORM changes are flushed first, exactly as the ORM query this replaced did by
    autoflush, so the rows a caller changed reach the database (and their ``version``
    counters move) at the same points as before."""
    if session.autoflush:
        session.flush()
    conn = session.connection()
    head_seq, head_hash = conn.execute(_LOCK_HEAD).one()
    seq = head_seq + 1
    at = utc_now()
    stored = detail_text(detail)
    target = str(target_id)
    body = canonical(seq, at, actor, action, target_type, target, reason, stored)
    digest = link(head_hash, body)
    row = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "target_type": target_type,
        "target_id": target,
        "reason": reason,
        "detail": stored,
        "prev_hash": head_hash,
        "hash": digest,
    }
    conn.execute(_ADD_ROW, row)
    conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": digest})
    return AuditEntry(**row)


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


# Chains at least this long are verified in two halves at once (one per core).
SPLIT_MIN: Final = 100_000


@dataclass(frozen=True)
class _Span:
    """What walking the rows with seq in [lo, hi) found."""

    rows: int
    first_break: AuditBreak | None
    last_seq: int  # the last row walked (lo - 1 when none)
    last_hash: str  # its hash (the given ``prev`` when none)


def verify(store: CaseStore, *, split_min: int = SPLIT_MIN) -> AuditReport:
    """Check the whole chain in ``seq`` order, streaming; report the first break.

    Every row's check needs only its own fields and the previous row's stored hash, so a
    long chain is cut at an existing row ``b``: this process walks the rows before ``b``
    while a forked one walks from ``b``, starting from the stored hash of the row before
    it. The first half vouches for that hash, so the answer (and the first break named)
    is the same as one sequential walk's."""
    with store.read() as session:
        head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
        cut = _cut(session, head.seq) if head.seq >= split_min and _can_fork() else None
        if cut is None:
            span = _walk(session, 1, None, GENESIS)
            rows, found = span.rows, span.first_break
            end_seq, end_hash = span.last_seq, span.last_hash
        else:
            b, before = cut
            with _forked() as pool:
                later = pool.submit(_walk_apart, store.url, b, before)
                span = _walk(session, 1, b, GENESIS)
                second = later.result()
            rows, found = span.rows + second.rows, span.first_break
            if found is None and span.last_seq + 1 != b:
                found = AuditBreak(b, f"expected row {span.last_seq + 1}, found {b}: rows missing")
            if found is None:
                found = second.first_break
            end_seq, end_hash = second.last_seq, second.last_hash
        if found is None and (head.seq != end_seq or head.hash != end_hash):
            found = AuditBreak(
                end_seq + 1,
                f"the chain ends at row {end_seq} but its head says row {head.seq}: "
                "newest rows removed or head altered",
            )
        return AuditReport(rows, head.seq, head.hash, found)


def _walk(session: Session, lo: int, hi: int | None, prev: str) -> _Span:
    """Rows with ``lo <= seq < hi`` (to the end when ``hi`` is None), expecting the first to
    be ``lo`` and to link to ``prev``."""
    expected_seq, rows = lo, 0
    sha256, parse = hashlib.sha256, datetime.fromisoformat
    # The hot loop (a million rows in seconds): canonical() and link() inlined.
    for seq, at, actor, action, ttype, tid, reason, detail, prev_hash, digest in _rows(
        session, lo - 1, hi
    ):
        rows += 1
        if seq != expected_seq:
            kind = "missing" if seq > expected_seq else "repeated or out of order"
            found = AuditBreak(seq, f"expected row {expected_seq}, found {seq}: rows {kind}")
            return _Span(rows, found, expected_seq - 1, prev)
        if prev_hash != prev:
            found = AuditBreak(seq, "does not link to the row before it (moved or replaced)")
            return _Span(rows, found, expected_seq - 1, prev)
        when = parse(at) if isinstance(at, str) else at
        s, t = str(seq), str(_micros(when))
        body = (
            f"{prev}\n{len(s)}:{s};{len(t)}:{t};{len(actor)}:{actor};{len(action)}:{action};"
            f"{len(ttype)}:{ttype};{len(tid)}:{tid};{len(reason)}:{reason};"
            f"{len(detail)}:{detail};"
        )
        if sha256(body.encode()).hexdigest() != digest:
            found = AuditBreak(seq, "its content was changed after it was written")
            return _Span(rows, found, expected_seq - 1, prev)
        prev, expected_seq = digest, seq + 1
    return _Span(rows, None, expected_seq - 1, prev)


def _cut(session: Session, head_seq: int) -> tuple[int, str] | None:
    """An existing row near the middle, and the stored hash of the row before it."""
    b = (
        session.execute(
            select(AuditEntry.seq).where(AuditEntry.seq >= head_seq // 2).order_by(AuditEntry.seq)
        )
        .scalars()
        .first()
    )
    if b is None or b <= 1:
        return None
    before = (
        session.execute(
            select(AuditEntry.hash).where(AuditEntry.seq < b).order_by(AuditEntry.seq.desc())
        )
        .scalars()
        .first()
    )
    return b, before or GENESIS


def _walk_apart(url: str, lo: int, prev: str) -> _Span:
    """In the forked process: its own connection, never the parent's."""
    with CaseStore(url, migrate=False) as store, store.read() as session:
        return _walk(session, lo, None, prev)


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and (os.cpu_count() or 1) > 1


@contextmanager
def _forked() -> Iterator[ProcessPoolExecutor]:
    """One forked worker; it drops the parent's pooled connections (without closing them,
    which would end the parent's sessions) before opening its own."""
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(1, mp_context=context, initializer=_forget_parent) as pool:
        yield pool


def _forget_parent() -> None:
    import gc

    from sqlalchemy import Engine

    for engine in [o for o in gc.get_objects() if isinstance(o, Engine)]:
        engine.dispose(close=False)


_PAGE_SQL: Final = (
    "SELECT seq, at, actor, action, target_type, target_id, reason, detail, prev_hash, hash "
    "FROM audit_log WHERE seq > {last}{upper} ORDER BY seq LIMIT {n}"
)


def _rows(session: Session, after: int, before: int | None) -> Iterator[tuple[Any, ...]]:
    """Keyset pages in ``seq`` order (``after < seq < before``): constant memory and no
    long-held server cursor. Read through the driver's own cursor, so values arrive as it
    gives them, with no per-row processing (integers only are formatted into the SQL)."""
    cursor = session.connection().connection.cursor()
    upper = "" if before is None else f" AND seq < {int(before)}"
    try:
        last = after
        while True:
            cursor.execute(_PAGE_SQL.format(last=int(last), upper=upper, n=BATCH))
            page = cursor.fetchall()
            if not page:
                return
            yield from page
            last = page[-1][0]
    finally:
        cursor.close()


def _when(value: datetime | str) -> datetime:
    """SQLite hands timestamps back as text; PostgreSQL as aware datetimes."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _micros(ts: datetime) -> int:
    """Naive times are UTC (SQLite drops the offset it was given)."""
    return ((ts - NAIVE_EPOCH) if ts.tzinfo is None else (ts - EPOCH)) // ONE_MICROSECOND
