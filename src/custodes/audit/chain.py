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
That lock is held to the end of the writer's transaction, commit included, so every audited
write on PostgreSQL queues there: a transaction that opens :func:`deferred` takes it as late
as it can instead (its rows are written together, last, and the lock is held for that and the
commit only).
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from custodes.clock import utc_now_aware as utc_now
from custodes.store.cases import CaseStore
from custodes.store.pipeline import execute_and_commit
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
    s = str(seq)
    return (
        f"{len(s)}:{s};" + _after_seq(at, actor, action, target_type, target_id, reason, detail)
    ).encode()


def _after_seq(
    at: datetime,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    reason: str,
    detail: str,
) -> str:
    """The canonical text after the sequence number: all a row's hash covers that is known
    before the chain's head is (see ``seal_in``, where the database prepends the number)."""
    t = str(_micros(at))
    return (
        f"{len(t)}:{t};{len(actor)}:{actor};{len(action)}:{action};"
        f"{len(target_type)}:{target_type};{len(target_id)}:{target_id};"
        f"{len(reason)}:{reason};{len(detail)}:{detail};"
    )


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
    counters move) at the same points as before. Rows deferred in this transaction are
    written first, so the chain keeps the order in which they were asked for."""
    batch = _batch(session)
    if batch is not None:
        batch.check_open()
    if batch is not None and batch.rows:
        batch.seal(session)
    if session.autoflush:
        session.flush()
    conn = session.connection()
    head = batch.head if batch is not None and batch.head is not None else _lock(conn)
    row = _Row(actor, action, target_type, str(target_id), reason, detail_text(detail))
    (entry,) = _write(conn, head, [row])
    if batch is not None:
        batch.head = (entry.seq, entry.hash)
    return entry


@dataclass(frozen=True)
class _Row:
    """A row asked for, not yet numbered or linked (its detail already as the stored text:
    a caller changing its dict afterwards changes nothing)."""

    actor: str
    action: str
    target_type: str
    target_id: str
    reason: str
    detail: str


_BATCH_KEY: Final = "custodes.audit.deferred"


class _Batch:
    """The rows a transaction deferred, and the chain's head once this transaction holds it."""

    def __init__(self) -> None:
        self.rows: list[_Row] = []
        self.head: tuple[int, str] | None = None
        self.committed = False  # by ``seal_in(commit=True)``: nothing more may be added

    def seal(self, session: Session) -> list[AuditEntry]:
        if not self.rows:
            return []
        self.check_open()
        if session.autoflush:
            session.flush()
        conn = session.connection()
        if self.head is None:
            self.head = _lock(conn)
        written = _write(conn, self.head, self.rows)
        self.rows = []
        self.head = (written[-1].seq, written[-1].hash)
        return written

    def check_open(self) -> None:
        if self.committed:
            raise RuntimeError("this transaction was committed with its audit rows")


def _batch(session: Session) -> _Batch | None:
    found = session.info.get(_BATCH_KEY)
    return found if isinstance(found, _Batch) else None


@contextmanager
def deferred(session: Session, *, last: bool = False) -> Iterator[None]:
    """Within this block, :func:`defer` queues rows, and on leaving it normally they are
    written together; leaving by an exception writes none (the caller's transaction is
    rolled back anyway). Use it as the innermost block of a write transaction, so that the
    rows are its last statements before the commit. With ``last`` the block's end is the
    transaction's: on PostgreSQL the rows are then linked by the database and sent with the
    commit (:func:`seal_in`), and nothing may be written after the block.

    Why: appending locks the chain's head until the commit. An audit row written in the
    middle of a transaction kept every other audited writer waiting through the rest of it
    (its other statements, the Python between them, the commit); written last, they wait for
    the audit statements and the commit alone."""
    previous = session.info.get(_BATCH_KEY)
    batch = session.info[_BATCH_KEY] = _Batch()
    try:
        yield
        if last and batch.rows and batch.head is None and _is_postgresql(session):
            seal_in(session, seal_statement, {}, commit=True)
        else:
            batch.seal(session)
    finally:
        if previous is None:
            session.info.pop(_BATCH_KEY, None)
        else:
            session.info[_BATCH_KEY] = previous


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def defer(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | int,
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """As :func:`append`, but inside :func:`deferred` the row is only queued: it is numbered,
    linked and written with the others when the block ends (before the commit, in the order
    asked). Outside such a block it is appended at once."""
    batch = _batch(session)
    if batch is None:
        append(
            session,
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            reason=reason,
            detail=detail,
        )
        return
    batch.check_open()
    row = _Row(actor, action, target_type, str(target_id), reason, detail_text(detail))
    batch.rows.append(row)


def _flushed(session: Session) -> Connection:
    if session.autoflush:
        session.flush()
    return session.connection()


def _lock(conn: Connection) -> tuple[int, str]:
    seq, digest = conn.execute(_LOCK_HEAD).one()
    return int(seq), str(digest)


def _write(conn: Connection, head: tuple[int, str], rows: Sequence[_Row]) -> list[AuditEntry]:
    """Number and link ``rows`` after ``head`` (locked by this transaction), insert them and
    move the head: on PostgreSQL one statement (the head update as a CTE of the insert), on
    SQLite two (in-process, no round trips to save)."""
    seq, prev = head
    at = utc_now()
    out: list[dict[str, Any]] = []
    for r in rows:
        seq += 1
        stored = r.detail
        body = canonical(seq, at, r.actor, r.action, r.target_type, r.target_id, r.reason, stored)
        digest = link(prev, body)
        out.append(
            {
                "seq": seq,
                "at": at,
                "actor": r.actor,
                "action": r.action,
                "target_type": r.target_type,
                "target_id": r.target_id,
                "reason": r.reason,
                "detail": stored,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    moved = {"new_seq": seq, "new_hash": prev}
    if conn.dialect.name == "postgresql":
        conn.execute(_add_rows_moving_head(len(out)), {**_numbered(out), **moved})
    else:
        conn.execute(_ADD_ROW, out)
        conn.execute(_MOVE_HEAD, moved)
    return [AuditEntry(**row) for row in out]


_COLUMNS: Final = (
    "seq",
    "at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "reason",
    "detail",
    "prev_hash",
    "hash",
)


def _numbered(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {f"{name}_{i}": row[name] for i, row in enumerate(rows) for name in _COLUMNS}


@functools.cache
def _add_rows_moving_head(n: int) -> Any:
    """``WITH moved AS (UPDATE audit_head ...) INSERT INTO audit_log SELECT ... UNION ALL
    ...``: one round trip (PostgreSQL runs a data-modifying CTE whether or not it is
    referenced). Built once per ``n``, and cached compiled by SQLAlchemy (a multi-row
    ``VALUES`` would be compiled on every call); the names are fixed, so psycopg prepares
    it after a few uses."""
    rows = [
        select(*(bindparam(f"{c}_{i}", type_=_LOG.c[c].type).label(c) for c in _COLUMNS))
        for i in range(n)
    ]
    source = rows[0] if n == 1 else union_all(*rows)
    return insert(_LOG).from_select(list(_COLUMNS), source).add_cte(_MOVE_HEAD.cte("moved"))


def seal_in(
    session: Session,
    statement: Callable[[int], Any],
    params: Mapping[str, Any],
    *,
    commit: bool = False,
) -> None:
    """PostgreSQL: write this transaction's deferred rows in one statement that locks the
    head, numbers and links the rows (SHA-256 in the database), inserts them and moves the
    head — together with the caller's own writes, for one round trip in all.

    ``statement(n)`` is :func:`seal_statement` for ``n`` rows with the caller's CTEs added
    (``params`` binds them). Why the database links the rows: linking needs the head, and
    reading it first kept the lock held across a round trip to the client and the Python
    between, where a busy process's other threads could keep the GIL for milliseconds; here
    the lock is taken by the statement that also releases the need for it, and is held for
    the rest of that statement and the commit. The hashes are the same as :func:`link`
    over :func:`canonical` (the client sends each row's canonical text after its number;
    the database adds the number and hashes), and :func:`verify` checks them in Python.

    With ``commit``, the statement is the transaction's last, sent with its ``COMMIT``
    (``store.pipeline``): the head is then locked for the server's work alone, with no trip
    to the client before the commit. Nothing may be written in the session after it."""
    batch = _batch(session)
    if batch is None or batch.head is not None or not batch.rows:
        raise RuntimeError("seal_in() needs deferred rows and a head not yet taken")
    batch.check_open()
    at = utc_now()
    values: dict[str, Any] = {**params, "a_at": at}
    for i, r in enumerate(batch.rows):
        stored = r.detail
        values |= {
            f"a_actor_{i}": r.actor,
            f"a_action_{i}": r.action,
            f"a_target_type_{i}": r.target_type,
            f"a_target_id_{i}": r.target_id,
            f"a_reason_{i}": r.reason,
            f"a_detail_{i}": stored,
            f"a_text_{i}": _after_seq(
                at, r.actor, r.action, r.target_type, r.target_id, r.reason, stored
            ),
        }
    if commit:
        execute_and_commit(session, statement(len(batch.rows)), values)
        batch.rows = []
        batch.committed = True
        return
    seq, digest = _flushed(session).execute(statement(len(batch.rows)), values).one()
    batch.rows = []
    batch.head = (int(seq), str(digest))


@functools.cache
def seal_statement(n: int) -> Select[int, str]:
    """``WITH h AS (SELECT ... FROM audit_head FOR UPDATE), a0 AS (h's successor), ...,
    a{n-1}, INSERT INTO audit_log ..., UPDATE audit_head ... SELECT seq, hash FROM a{n-1}``:
    ``n`` rows chained after the head in one statement (parameters ``a_at``,
    ``a_<column>_<i>`` and ``a_text_<i>``, see :func:`seal_in`). The head row is taken with
    ``FOR UPDATE``: a statement that waited for it reads the version the other writer
    committed, as the separate ``SELECT ... FOR UPDATE`` did; the update applies to that
    version."""
    one = literal_column("1", Integer)
    head = _HEAD.c
    prev: Any = select(head.seq, head.hash).where(head.id == one).with_for_update().cte("h")
    links = []
    for i in range(n):
        # Constants written into the text, not bound: psycopg caches its parsing of a
        # statement only up to 50 parameters, and the callers' own writes need most of them.
        seq = prev.c.seq + one
        text = (
            prev.c.hash
            + literal_column("chr(10)", Text)
            + cast(func.length(cast(seq, Text)), Text)
            + literal_column("':'", Text)
            + cast(seq, Text)
            + literal_column("';'", Text)
            + bindparam(f"a_text_{i}", type_=Text)
        )
        utf8 = func.convert_to(text, literal_column("'UTF8'"))
        digest = func.encode(func.sha256(utf8), literal_column("'hex'"), type_=Text)
        prev = select(seq.label("seq"), prev.c.hash.label("prev_hash"), digest.label("hash")).cte(
            f"a{i}"
        )
        links.append(prev)
    rows = [
        select(
            a.c.seq,
            bindparam("a_at", type_=_LOG.c.at.type),  # one time for the rows of one seal
            *(bindparam(f"a_{c}_{i}", type_=_LOG.c[c].type) for c in _COLUMNS[2:8]),
            a.c.prev_hash,
            a.c.hash,
        )
        for i, a in enumerate(links)
    ]
    added = insert(_LOG).from_select(list(_COLUMNS), rows[0] if n == 1 else union_all(*rows))
    last = links[-1]
    moved = (
        update(_HEAD)
        .where(head.id == one)
        .values(
            seq=select(last.c.seq).scalar_subquery(), hash=select(last.c.hash).scalar_subquery()
        )
    )
    return select(last.c.seq, last.c.hash).add_cte(added.cte("added"), moved.cte("moved"))


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
