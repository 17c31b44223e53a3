"""Escalation rows: the stored columns of an escalation, its keys, revisions and the
look-ups that give a new one its context, written with SQLAlchemy Core where the ORM cost
the most (intake is the hot path). ``intake.EscalationService`` owns the transactions;
these functions only read and write inside them."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    Table,
    Text,
    any_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from custodes.audit import chain
from custodes.store.pipeline import execute_pipelined
from custodes.store.schema import (
    Base,
    Escalation,
    EscalationKey,
)
from custodes.triage import staff
from custodes.triage.escalation import EscalationInput
from custodes.triage.rating import Rating, RatingContext
from custodes.triage.views import (
    EscalationStatus,
    EscalationSummary,
)

_CLOSED_CASE: Final = "closed"
# The stored fields a rating writes, compared to tell whether a re-rating changed anything.
_RATING_FIELDS: Final = (
    "band",
    "score",
    "category",
    "rated_language",
    "route",
    "fast_lane",
    "policy_version",
    "flags",
    "engine_sla_due_at",
)

# Core tables for the statements on the intake path. Why not the ORM there: a new
# escalation is one insert of each kind, which the unit of work (identity map, flush plan,
# per-statement ORM compilation) made cost more than the SQL itself; and on SQLite every
# other writer waits while this one holds the lock.
_ESCALATIONS: Final[Table] = Base.metadata.tables["escalations"]
_KEYS: Final[Table] = Base.metadata.tables["escalation_keys"]
_REVISIONS: Final[Table] = Base.metadata.tables["escalation_revisions"]
_CASES: Final[Table] = Base.metadata.tables["cases"]
_SUBJECTS: Final[Table] = Base.metadata.tables["case_subjects"]
# Subject ids checked against case subjects inside intake's first statement (more: a query).
_MAX_ASKED: Final = 8
MAX_RERATE: Final = 100  # open escalations re-rated when one they share a key with changes
_OPEN: Final = tuple(s.value for s in EscalationStatus if s is not EscalationStatus.resolved)
_LAST_SEQ: Final = select(func.max(_REVISIONS.c.seq)).where(
    _REVISIONS.c.escalation_pk == bindparam("pk")
)
_ADD_REVISION: Final = insert(_REVISIONS)
# Open escalations sharing a key with this one (the most recent first), to re-rate.
MAX_KEYS: Final = 200  # subject ids and URLs looked up per escalation
_KEY_LENGTH: Final = 512
_URL: Final = re.compile(r"https?://[^\s<>\"'()\[\]{}]+", re.IGNORECASE)


def utc(value: datetime | None) -> datetime | None:
    """Aware UTC (SQLite hands timestamps back naive, in UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _aware(value: datetime) -> datetime:
    out = utc(value)
    assert out is not None
    return out


def derived_id(e: EscalationInput) -> str:
    """The id of an escalation sent without one: a hash of its fields, so a re-send of the
    same record is recognised as a repeat."""
    data = e.to_dict()
    data.pop("escalation_id", None)
    data["received_at"] = _aware(e.received_at).isoformat()
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "h-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def keys_of(e: EscalationInput) -> dict[str, str]:
    """key → kind: the subject ids (URLs among them normalised) and the URLs in the text."""
    out: dict[str, str] = {}
    for subject in e.subject_ids:
        key = _url_key(subject) if _URL.fullmatch(subject) else subject
        if len(key) <= _KEY_LENGTH:
            out.setdefault(key, "subject")
    for found in _URL.findall(e.text):
        key = _url_key(found.rstrip(".,;:!?"))
        if len(key) <= _KEY_LENGTH:
            out.setdefault(key, "url")
    return dict(list(out.items())[:MAX_KEYS])


def _url_key(url: str) -> str:
    """Scheme and host lower-cased, no fragment, no trailing slash: one URL, one key."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


# --- rows ----------------------------------------------------------------------------------


def _input_values(e: EscalationInput, escalation_id: str) -> dict[str, Any]:
    """The stored input columns for ``e`` (times in UTC: SQLite keeps no offset)."""
    return {
        "escalation_id": escalation_id,
        "received_at": _aware(e.received_at),
        "source": e.source,
        "title": e.title,
        "body": e.body,
        "language": e.language,
        "reported_category": e.reported_category,
        "subject_ids": list(e.subject_ids),
        "reach": e.reach,
        "jurisdiction": e.jurisdiction,
        "requester": e.requester,
        "deadline": utc(e.deadline),
        "attrs": json.loads(json.dumps(dict(e.attrs))),
    }


def _stored_input(row_: Escalation) -> dict[str, Any]:
    """A stored escalation as contract fields again (for re-rating it)."""
    return {
        **dict(row_.attrs),
        "escalation_id": row_.escalation_id,
        "received_at": _aware(row_.received_at),
        "source": row_.source,
        "title": row_.title,
        "body": row_.body,
        "language": row_.language,
        "reported_category": row_.reported_category,
        "subject_ids": list(row_.subject_ids),
        "reach": row_.reach,
        "jurisdiction": row_.jurisdiction,
        "requester": row_.requester,
        "deadline": utc(row_.deadline),
    }


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _input_changes(row_: Escalation, values: Mapping[str, Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name, new in values.items():
        old = getattr(row_, name)
        if isinstance(old, datetime):
            old = utc(old)
        if old != new:
            out[name] = [_jsonable(old), _jsonable(new)]
    return out


def _rating_columns(rating: Rating) -> dict[str, Any]:
    """The stored columns a rating sets."""
    return {
        "band": rating.band,
        "score": rating.score,
        "category": rating.category,
        "rated_language": rating.language,
        "route": rating.route,
        "fast_lane": rating.fast_lane,
        "policy_version": rating.policy_version,
        "factors": [
            {"name": f.name, "input": f.input, "contribution": f.contribution}
            for f in rating.factors
        ],
        "flags": list(rating.flags),
        "clocks": {k: _aware(v).isoformat() for k, v in rating.clocks.items()},
        "clock_causes": {c.name: c.cause for c in rating.schedule.clocks},
        "engine_sla_due_at": _aware(rating.sla_due_at),
    }


def _apply_rating(row_: Escalation, rating: Rating) -> None:
    for name, value in _rating_columns(rating).items():
        setattr(row_, name, value)


def _rating_values(row_: Escalation) -> dict[str, Any]:
    out = {
        name: _jsonable(utc(v) if isinstance(v := getattr(row_, name), datetime) else v)
        for name in _RATING_FIELDS
    }
    out["factors"] = {str(f["name"]): [f["input"], f["contribution"]] for f in row_.factors}
    return out


def _rating_changes(before: Mapping[str, Any], row_: Escalation) -> dict[str, list[Any]]:
    after = _rating_values(row_)
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if before.get(name) != value
    }


def _set_keys(session: Session, pk: int, keys: Mapping[str, str]) -> None:
    stored = _stored_keys(session, pk)
    if stored == dict(keys):
        return
    for row_ in session.scalars(select(EscalationKey).where(EscalationKey.escalation_pk == pk)):
        session.delete(row_)
    session.flush()
    session.add_all(EscalationKey(escalation_pk=pk, key=k, kind=kind) for k, kind in keys.items())


def _stored_keys(session: Session, pk: int) -> dict[str, str]:
    rows = session.execute(
        select(EscalationKey.key, EscalationKey.kind).where(EscalationKey.escalation_pk == pk)
    ).all()
    return {str(k): str(kind) for k, kind in rows}


def _flushed(session: Session) -> Connection:
    """The session's connection, after the flush an ORM query would have done first
    (autoflush): Core statements see the session's pending changes, and rows reach the
    database (and their ``version`` counters move) at the same points as with the ORM."""
    if session.autoflush:
        session.flush()
    return session.connection()


@functools.cache
def _context_query(exclude_pk: bool, subjects: bool) -> Select[int, int, int]:
    """The three context counts in one statement (one round trip, compiled once per shape)."""
    return select(*_context_columns(exclude_pk, subjects))


def _context_columns(
    exclude_pk: bool, subjects: bool, pg: bool = False
) -> tuple[ColumnElement[int], ColumnElement[int], ColumnElement[int]]:
    """Escalations sharing a key (bound as ``keys``); those about the same subjects
    (``subjects``) received earlier (``received``); open integrity cases linked to
    escalations about the same subjects. ``pk``: the escalation itself, not counted.
    ``pg``: the lists bound as arrays (see ``_among``)."""
    e, k = _ESCALATIONS, _KEYS
    others = select(k.c.escalation_pk).where(_among(k.c.key, "keys", pg))
    if exclude_pk:
        others = others.where(k.c.escalation_pk != bindparam("pk"))
    cluster = select(func.count(func.distinct(e.c.id))).where(e.c.id.in_(others)).scalar_subquery()
    if not subjects:
        return cluster, literal(0, Integer), literal(0, Integer)
    about = (
        select(k.c.escalation_pk)
        .where(_among(k.c.key, "subjects", pg), k.c.kind == "subject")
        .distinct()
    )
    if exclude_pk:
        about = about.where(k.c.escalation_pk != bindparam("pk"))
    sub = about.subquery()
    earlier = (
        select(func.count())
        .select_from(e)
        .where(e.c.id.in_(select(sub.c.escalation_pk)), e.c.received_at < bindparam("received"))
        .scalar_subquery()
    )
    open_cases = (
        select(func.count(func.distinct(e.c.case_id)))
        .select_from(e.join(_CASES, _CASES.c.id == e.c.case_id))
        .where(e.c.id.in_(select(sub.c.escalation_pk)), _CASES.c.status != _CLOSED_CASE)
        .scalar_subquery()
    )
    return cluster, earlier, open_cases


def _among(column: ColumnElement[str], name: str, pg: bool) -> ColumnElement[bool]:
    """``column IN (...)`` for the list bound as ``name``: an expanding parameter (SQLite),
    or ``= ANY(array)`` on PostgreSQL, one statement text for any length, which psycopg's
    pipeline (``store.pipeline``) can send without SQLAlchemy rewriting it per call."""
    if pg:
        return column == any_(bindparam(name, type_=ARRAY(String)))
    return column.in_(bindparam(name, expanding=True))


@dataclass(frozen=True)
class _FirstLook:
    """What intake's first statement found: the stored escalation with this id (None: a
    new one), and for a new one its rating context and its staff subjects (None when
    there were too many subject ids to ask there; ``known`` then says what is known).
    On PostgreSQL also, for a new one, the id it will have (``new_pk``) and the open
    escalations sharing a key with it, the most recent first (``related``: the ones to
    re-rate); None on SQLite, which asks for them after the insert."""

    pk: int | None
    context: RatingContext
    staff: list[str] | None
    known: set[str]
    new_pk: int | None = None
    related: list[int] | None = None


@functools.cache
def _first_look_query(keyed: bool, subjects: bool, asked: int, pg: bool = False) -> Select[Any]:
    """The escalation's pk by id, the context counts (for a new escalation) and, for each
    of ``asked`` subject ids (``asked_0``...), whether a case has it as a subject; with
    ``pg``, the new escalation's id (drawn from its sequence only when there is none by
    that ``escalation_id``: a repeat leaves no gap) and the related open escalations."""
    pk = (
        select(_ESCALATIONS.c.id)
        .where(_ESCALATIONS.c.escalation_id == bindparam("escalation_id"))
        .scalar_subquery()
    )
    zero = literal(0, Integer)
    counts = _context_columns(False, subjects, pg) if keyed else (zero, zero, zero)
    c = _SUBJECTS.c
    staff_hits = [exists().where(c.actor_id == bindparam(f"asked_{i}")) for i in range(asked)]
    if not pg:
        return select(pk, *counts, *staff_hits)
    sequence = func.pg_get_serial_sequence(_ESCALATIONS.name, _ESCALATIONS.c.id.name)
    new_pk = case((pk.is_(None), func.nextval(sequence)), else_=None)
    return select(pk, *counts, new_pk, _related_ids(keyed), *staff_hits)


def _related_ids(keyed: bool) -> ColumnElement[Any]:
    """As ``intake._RELATED`` asks after the insert (open escalations sharing a key, the
    most recent first, at most ``MAX_RERATE``), as one array, before it: the new one is
    not stored yet, so it need not be left out."""
    if not keyed:
        return literal(None, ARRAY(BigInteger))
    e = _ESCALATIONS
    found = (
        select(e.c.id, e.c.received_at)
        .where(
            e.c.id.in_(select(_KEYS.c.escalation_pk).where(_among(_KEYS.c.key, "keys", True))),
            e.c.status.in_([literal(s) for s in _OPEN]),
        )
        .order_by(e.c.received_at.desc())
        .limit(MAX_RERATE)
        .subquery()
    )
    ordered = aggregate_order_by(found.c.id, found.c.received_at.desc())
    return select(func.array_agg(ordered)).scalar_subquery()


_KEY_LOCK_SQL: Final = text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:locks AS bigint[])) AS k"
)


def _key_locks(keys: Iterable[str]) -> list[int]:
    """PostgreSQL: the transaction locks intake takes, one per key (subject id, URL), before
    its first look, so that intakes sharing a key run one after the other, and each one's
    first look sees the others that went before it committed (its cluster counts them, and
    it re-rates them). Without them, two overlapping intakes about the same subject each
    missed the other. Intakes with no key in common never wait. The locks are taken in one
    order (sorted ids), so two intakes cannot each hold a lock the other wants; and before
    any other lock of the transaction (the chain's head comes last: ``audit.deferred``)."""
    return sorted({_lock_id(k) for k in keys})


def _lock_id(key: str) -> int:
    """A signed 64-bit id for a key (a collision only makes two intakes queue needlessly)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8, person=b"custodes.key").digest()
    return int.from_bytes(digest, "big", signed=True)


def _first_look(
    session: Session,
    escalation_id: str,
    e: EscalationInput,
    keys: Mapping[str, str],
    directory: Iterable[str],
) -> _FirstLook:
    """One round trip for what every intake asks first. Each statement inside the write
    transaction costs a trip through the driver, during which another thread of the
    process may take the GIL while this one holds the SQLite writer lock; so the first
    reads are one statement, not three. On PostgreSQL the key locks go in the same trip
    (``_key_locks``)."""
    known = set(directory)
    wanted, found, rest = staff.candidates(e.subject_ids, known)
    asked = rest if len(rest) <= _MAX_ASKED else []
    subjects = [k for k, kind in keys.items() if kind == "subject"]
    params: dict[str, Any] = {"escalation_id": escalation_id, "keys": list(keys)}
    if subjects:
        params |= {"subjects": subjects, "received": _aware(e.received_at)}
    params |= {f"asked_{i}": s for i, s in enumerate(asked)}
    pg = session.get_bind().dialect.name == "postgresql"
    query = _first_look_query(bool(keys), bool(subjects), len(asked), pg)
    if pg:
        # The key locks and the first look in one round trip: the look is a statement of
        # its own, so its snapshot is taken once the locks are held.
        locks = _key_locks(keys)
        first = [(_KEY_LOCK_SQL, {"locks": locks})] if locks else []
        *_, answer = execute_pipelined(session, [*first, (query, params)])
        assert answer is not None
    else:
        answer = tuple(_flushed(session).execute(query, params).one())
    pk, cluster, earlier, open_cases, *more = answer
    new_pk, related, hits = (more[0], more[1] or [], more[2:]) if pg else (None, None, more)
    context = RatingContext(
        earlier_escalations=earlier or 0,
        open_cases=open_cases or 0,
        cluster_size=1 + (cluster or 0),
    )
    if len(rest) > _MAX_ASKED:
        return _FirstLook(pk, context, None, known, new_pk, related)
    found |= {s for s, hit in zip(asked, hits, strict=True) if hit}
    return _FirstLook(pk, context, [s for s in wanted if s in found], known, new_pk, related)


def _context(
    session: Session, e: EscalationInput, pk: int | None, keys: Mapping[str, str]
) -> RatingContext:
    if not keys:
        return RatingContext()
    subjects = [k for k, kind in keys.items() if kind == "subject"]
    query = _context_query(pk is not None, bool(subjects))
    params: dict[str, Any] = {"keys": list(keys), "pk": pk}
    if subjects:
        params |= {"subjects": subjects, "received": _aware(e.received_at)}
    cluster, earlier, open_cases = _flushed(session).execute(query, params).one()
    return RatingContext(
        earlier_escalations=earlier or 0,
        open_cases=open_cases or 0,
        cluster_size=1 + (cluster or 0),
    )


# --- a new escalation on PostgreSQL: one statement ----------------------------------------


def _write_new(
    session: Session,
    fields: Mapping[str, Any],
    keys: Mapping[str, str],
    revisions: Sequence[tuple[int, str, Mapping[str, Any]]],
    *,
    actor: str,
    at: datetime,
    audited: bool,
) -> None:
    """PostgreSQL: the row (``fields`` with its ``id`` drawn by the first look), its keys and
    its revisions (``seq, kind, changes``, by ``actor`` at ``at``); with ``audited``, the
    audit rows deferred so far too, linked to the chain in the same statement
    (``chain.seal_in``), and the commit. One round trip where there were seven (three
    inserts, the head's lock, the audit row, the head's update, the commit): each cost the
    client ~0.2 ms of CPU, and the last four were made while every other audited writer
    waited. Nothing may be written in the session after it."""
    names = tuple(sorted(fields))
    # Columns holding the same value as another share its parameter: psycopg caches its
    # parsing of a statement's text only up to 50 parameters (~0.2 ms a call past that).
    same = tuple((a, b) for a, b in _SAME if a in fields and fields[a] == fields.get(b))
    shared = {a for a, _ in same}
    params: dict[str, Any] = {f"e_{n}": fields[n] for n in names if n not in shared}
    params |= {"k_keys": list(keys), "k_kinds": list(keys.values())}
    params |= {"r_actor": actor, "r_at": at}
    for i, (_, kind, changes) in enumerate(revisions):
        params |= {f"r_kind_{i}": kind, f"r_changes_{i}": changes}
    shape = (names, same, bool(keys), tuple(seq for seq, _, _ in revisions))
    if audited:  # the transaction's last statement: sent with its commit
        chain.seal_in(session, lambda n: _new_statement(*shape, n), params, commit=True)
    else:
        session.connection().execute(_new_statement(*shape, 0), params)


# (column, column it usually equals): a new row's times, its two due times.
_SAME: Final = (("updated_at", "created_at"), ("sla_due_at", "engine_sla_due_at"))


@functools.cache
def _new_statement(
    names: tuple[str, ...],
    same: tuple[tuple[str, str], ...],
    keyed: bool,
    revisions: tuple[int, ...],
    audit_rows: int,
) -> Any:
    """The statement of ``_write_new``, built (and compiled by SQLAlchemy) once per shape:
    data-modifying CTEs for the row, its keys (``unnest`` of two arrays: one shape for any
    number of keys) and revisions, added to ``chain.seal_statement`` (or to a bare
    ``SELECT 1`` with no audit rows). The CTEs need not reference each other: the id is
    known, and foreign keys are checked at the end of the statement."""
    e, r = _ESCALATIONS, _REVISIONS.c
    alias = dict(same)
    values = {n: bindparam(f"e_{alias.get(n, n)}", type_=e.c[n].type) for n in names}
    writes: list[Any] = [insert(e).values(values).cte("e")]
    pk = bindparam("e_id", type_=e.c.id.type)
    if keyed:
        pairs = (
            func.unnest(
                bindparam("k_keys", type_=ARRAY(String)), bindparam("k_kinds", type_=ARRAY(String))
            )
            .table_valued("key", "kind")
            .render_derived(name="pairs")
        )
        chosen = select(pk, pairs.c.key, pairs.c.kind)
        writes.append(insert(_KEYS).from_select(["escalation_pk", "key", "kind"], chosen).cte("k"))
    if revisions:
        rows = [
            select(
                pk,
                literal_column(str(int(seq)), Integer),
                bindparam("r_at", type_=r.at.type),
                bindparam("r_actor", type_=r.actor.type),
                bindparam(f"r_kind_{i}", type_=r.kind.type),
                literal_column("''", Text),
                bindparam(f"r_changes_{i}", type_=r.changes.type),
            )
            for i, seq in enumerate(revisions)
        ]
        source = rows[0] if len(rows) == 1 else union_all(*rows)
        columns = ["escalation_pk", "seq", "at", "actor", "kind", "reason", "changes"]
        writes.append(insert(_REVISIONS).from_select(columns, source).cte("r"))
    base = chain.seal_statement(audit_rows) if audit_rows else select(literal_column("1"))
    return base.add_cte(*writes)


def _revise(
    session: Session,
    row_: Escalation,
    actor: str,
    kind: str,
    changes: Mapping[str, Any],
    at: datetime,
    *,
    reason: str = "",
) -> None:
    # Flushes first, as before: the row's own changes are written before its revision.
    session.flush()
    conn = session.connection()
    last = conn.execute(_LAST_SEQ, {"pk": row_.id}).scalar()
    conn.execute(
        _ADD_REVISION,
        {
            "escalation_pk": row_.id,
            "seq": (last or 0) + 1,
            "at": at,
            "actor": actor,
            "kind": kind,
            "reason": reason,
            "changes": dict(changes),
        },
    )


def _brief(row_: Escalation) -> dict[str, Any]:
    return {"band": row_.band, "score": row_.score, "policy_version": row_.policy_version}


def _iso(value: datetime | None) -> str | None:
    out = utc(value)
    return out.isoformat() if out else None


def _summary(
    row_: Escalation, now: datetime, *, case_visible: bool, mask: staff.StaffMask
) -> EscalationSummary:
    """One queue row; ``case_id`` only when the caller may see that case (need-to-know)."""
    due = _aware(row_.sla_due_at)
    return EscalationSummary(
        id=row_.id,
        escalation_id=row_.escalation_id,
        received_at=_aware(row_.received_at),
        source=row_.source,
        title=mask.text(row_.title),
        band=row_.override_band or row_.band,
        score=row_.score,
        category=row_.category,
        route=row_.route,
        fast_lane=row_.fast_lane,
        flags=list(row_.flags),
        language=row_.rated_language,
        sla_due_at=due,
        time_to_breach_seconds=round((due - now).total_seconds(), 3),
        overridden=row_.override_band is not None,
        status=EscalationStatus(row_.status),
        staff_involved=bool(row_.staff_subject_ids),
        case_id=row_.case_id if case_visible else None,
        updated_at=_aware(row_.updated_at),
        version=row_.version,
    )
