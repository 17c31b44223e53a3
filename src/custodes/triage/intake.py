"""Escalation intake: validate, de-duplicate, rate, store, audit — in one transaction.

Each method takes the acting ``Principal`` first (``escalation.read`` to look,
``escalation.manage`` to submit or override) and does its work in one write transaction, so
bad input, a stale version or a lost race stores nothing at all.

* **Idempotent by ``escalation_id``.** A repeat of an id updates that escalation and records
  a revision with what changed; an identical repeat changes nothing (no revision, no audit
  row). An escalation sent without an id gets one derived from a hash of its fields, so
  re-sending the same record is still a repeat.
* **Context from the store.** ``earlier_escalations`` counts escalations received before
  this one about any of its ``subject_ids``; ``cluster_size`` counts escalations (this one
  included) sharing a subject id or a URL named in the text; ``open_cases`` counts open
  integrity cases linked to escalations about the same subjects.
* **Re-rating.** A changed input (reach grew, a corrected body) re-rates the escalation; a
  new or changed escalation re-rates the open ones it shares a key with (their cluster
  grew). Each changed rating is a revision and an audit row; the history is append-only.
* **Overrides.** An analyst may set the band, with a reason (required). The override is the
  effective band and sets the queue clock; the engine's band, score and clock stay visible.
* **Staff.** Subjects that are staff members flag the escalation ``staff_involved`` and link
  it to their open integrity case (``custodes.triage.staff``); status moves and attachments
  live in ``triage.lifecycle`` and ``triage.attachments``.
* **Concurrent writers (PostgreSQL).** Intakes sharing a key (a subject id, a URL) queue on a
  lock per key before their first look, so each counts and re-rates the ones before it;
  audit rows are written last, with the commit (``audit.chain.deferred``), so the chain's
  head — which every audited write locks to its commit — is held as briefly as it can be.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.audit import chain
from custodes.clock import utc_now_aware
from custodes.config import Settings, load_settings
from custodes.errors import ConflictError, InputError, NotFoundError
from custodes.model.vocabulary import BANDS
from custodes.privacy import unmasking
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.store.cases import CaseStore
from custodes.store.schema import (
    Escalation,
    EscalationOverride,
    EscalationRevision,
)
from custodes.triage import clocks, staff
from custodes.triage.escalation import EscalationInput
from custodes.triage.policy import Policy, load_policy
from custodes.triage.rating import Rating, rate
from custodes.triage.reading import TextReading, read
from custodes.triage.rows import (
    _ADD_REVISION,
    _ESCALATIONS,
    _KEYS,
    _OPEN,
    MAX_RERATE,
    _apply_rating,
    _aware,
    _brief,
    _context,
    _first_look,
    _FirstLook,
    _flushed,
    _input_changes,
    _input_values,
    _iso,
    _rating_changes,
    _rating_columns,
    _rating_values,
    _revise,
    _set_keys,
    _stored_input,
    _stored_keys,
    _summary,
    _write_new,
    derived_id,
    keys_of,
    utc,
)
from custodes.triage.views import (
    EngineRating,
    EscalationDetail,
    EscalationStatus,
    EscalationSummary,
    FactorView,
    IntegrityCaseView,
    OverrideView,
    RevisionView,
)

MAX_LIMIT: Final = 500
MAX_REASON: Final = 10_000
MAX_REACH: Final = 2**63 - 1
# The stored fields a rating writes, compared to tell whether a re-rating changed anything.

# Core tables for the statements on the intake path. Why not the ORM there: a new
# escalation is one insert of each kind, which the unit of work (identity map, flush plan,
# per-statement ORM compilation) made cost more than the SQL itself; and on SQLite every
# other writer waits while this one holds the lock.
# Subject ids checked against case subjects inside intake's first statement (more: a query).
_ADD_ESCALATION: Final = insert(_ESCALATIONS)
_ADD_KEYS: Final = insert(_KEYS)
# Open escalations sharing a key with this one (the most recent first), to re-rate.
_RELATED: Final = (
    select(_ESCALATIONS.c.id)
    .where(
        _ESCALATIONS.c.id.in_(
            select(_KEYS.c.escalation_pk).where(_KEYS.c.key.in_(bindparam("keys", expanding=True)))
        ),
        _ESCALATIONS.c.id != bindparam("pk"),
        _ESCALATIONS.c.status.in_(_OPEN),
    )
    .order_by(_ESCALATIONS.c.received_at.desc())
    .limit(MAX_RERATE)
)


def validate(record: Mapping[str, Any], *, row: int | None = None) -> EscalationInput:
    """The contract's checks (``EscalationInput.from_dict``) plus what storing needs: text
    the databases can hold (no NUL, no lone surrogates), JSON-ready extra fields, a reach a
    64-bit column holds. Raises :class:`InputError` naming the field."""
    e = EscalationInput.from_dict(record, row=row)
    for name, value in e.to_dict().items():
        _check_text(value, name, row)
    if e.reach is not None and e.reach > MAX_REACH:
        raise InputError(f"must be at most {MAX_REACH}", row=row, field="reach")
    try:
        json.dumps(dict(e.attrs), allow_nan=False)
    except (TypeError, ValueError):
        raise InputError("extra fields must be JSON values", row=row, field="attrs") from None
    return e


def _check_text(value: Any, where: str, row: int | None) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise InputError("must not contain NUL characters", row=row, field=where)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError("is not valid Unicode text", row=row, field=where) from None
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            _check_text(key, where, row)
            _check_text(inner, f"{where}.{key}", row)
    elif isinstance(value, list | tuple):
        for inner in value:
            _check_text(inner, where, row)


class _StoredReadings:
    """Readings of stored escalations' texts, the most recent ``size`` kept.

    A new report about a cluster re-rates every open member of it, inside the write
    transaction, and re-rating re-read each member's text (~1 ms each, up to
    ``MAX_RERATE`` of them). Reading is a pure function of the text and the language hint
    (lexicons and language models are fixed for the life of the process), so what was read
    at intake is kept here, under a hash of both, for later re-ratings in this process.
    Only re-rating looks here: a text sent to intake is always read. The readings are
    shared, never changed."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[bytes, TextReading] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(text: str, hint: str | None) -> bytes:
        return hashlib.sha256(f"{hint or ''}\x00{text}".encode()).digest()

    def get(self, text: str, hint: str | None) -> TextReading | None:
        key = self._key(text, hint)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, text: str, hint: str | None, reading: TextReading) -> None:
        key = self._key(text, hint)
        with self._lock:
            self._items[key] = reading
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_READINGS: Final = _StoredReadings(4096)


class EscalationService:
    """Escalations in one case store; cheap to create (per request or per command)."""

    def __init__(
        self,
        store: CaseStore,
        policy: Policy | None = None,
        *,
        directory: staff.StaffLookup | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.store = store
        self._policy = policy
        self._settings = settings
        self._pseudonyms: Pseudonyms | None = None
        # The staff directory, to recognise staff among subjects at intake (custodes.triage.staff).
        self.directory = directory

    @property
    def pseudonyms(self) -> Pseudonyms:
        """Staff named in escalations are shown as the pseudonyms cases use."""
        if self._pseudonyms is None:
            self._pseudonyms = Pseudonyms.load(self.store, self._settings or load_settings())
        return self._pseudonyms

    @property
    def policy(self) -> Policy:
        if self._policy is None:
            self._policy = load_policy()
        return self._policy

    # --- intake --------------------------------------------------------------------------

    def submit(
        self, principal: Principal, record: Mapping[str, Any], *, row: int | None = None
    ) -> tuple[EscalationDetail, bool]:
        """Store (or update) one escalation and rate it; ``True`` when it is new."""
        principal.require(Permission.escalation_manage)
        e = validate(record, row=row)
        escalation_id = e.escalation_id or derived_id(e)
        values = _input_values(e, escalation_id)
        keys = keys_of(e)
        # Asked before the write transaction: never hold the case store while waiting on another.
        known = self.directory(e.subject_ids) if self.directory and e.subject_ids else set()
        # Reading the text (language, signals: ~1 ms) needs nothing from the store, so it is
        # done before the write transaction: on SQLite every other writer waits for that one.
        reading = read(e.text, language_hint=e.language)
        _READINGS.put(e.text, e.language, reading)
        with self._write() as session:
            look = _first_look(session, escalation_id, e, keys, known)
            if look.pk is None:
                written = self._create(session, principal, e, values, keys, look, reading)
            else:
                return self._update(session, principal, look.pk, e, values, keys, known, reading)
        # Built after the commit: on SQLite other writers wait while the transaction is open.
        return written.view(), True

    def _update(
        self,
        session: Session,
        principal: Principal,
        pk: int,
        e: EscalationInput,
        values: Mapping[str, Any],
        keys: Mapping[str, str],
        known: Iterable[str],
        reading: TextReading,
    ) -> tuple[EscalationDetail, bool]:
        """A repeat of a stored escalation: nothing when identical, else an update with a
        revision, a re-rating and the re-rating of related escalations (the ORM path)."""
        row_ = self._load(session, pk)
        now = utc_now_aware()
        changed = _input_changes(row_, values)
        if not changed and keys == _stored_keys(session, row_.id):
            return self._detail(session, row_, principal), False
        for name in changed:
            setattr(row_, name, values[name])
        row_.updated_at = now
        _set_keys(session, row_.id, keys)
        _revise(session, row_, principal.username, "update", changed, now)
        self._audit(session, principal, "escalation.update", row_, {"fields": sorted(changed)})
        self._rerate(
            session, principal, row_, e, keys, "the escalation changed", now, reading=reading
        )
        self._link(session, principal, row_, known)
        session.flush()
        self._rerate_related(session, principal, row_, keys, now)
        session.flush()
        return self._detail(session, row_, principal), False

    def _create(
        self,
        session: Session,
        principal: Principal,
        e: EscalationInput,
        values: Mapping[str, Any],
        keys: Mapping[str, str],
        look: _FirstLook,
        reading: TextReading,
    ) -> _Written:
        """A new escalation in a few Core statements: the row (rated, its staff subjects and
        case link already known), its keys, its ``intake`` and ``rating`` revisions, the
        audit rows; then the re-rating of related escalations. The detail is built from what
        was written, not read back (and after the commit: see ``_Written``).

        On PostgreSQL all of it is one statement when nothing is to be re-rated (the first
        look found no related escalation: ``rows._write_new``), with the audit rows linked
        to the chain in it, so the chain's head is locked for that statement's end and the
        commit only.

        What it stores is what the ORM path stored, to the ``version``: there, recording the
        staff subjects and then the case link were two more writes of the new row (version 2,
        then 3); they still count."""
        now = utc_now_aware()
        rating = rate(e, reading, look.context, self.policy)
        staff_ids = look.staff
        if staff_ids is None:  # too many subject ids to ask in the first statement
            staff_ids = staff.staff_among(session, list(values["subject_ids"]), look.known)
        case_id = staff.open_case_of(session, staff_ids) if staff_ids else None
        fields: dict[str, Any] = {
            **values,
            **_rating_columns(rating),
            "status": EscalationStatus.open.value,
            "staff_subject_ids": staff_ids,
            "case_id": case_id,
            "created_at": now,
            "updated_at": now,
            "version": 1 + bool(staff_ids) + (case_id is not None),
        }
        fields["sla_due_at"] = fields["engine_sla_due_at"]
        pg = look.related is not None  # PostgreSQL: the first look drew the id, found related
        if pg:
            assert look.new_pk is not None
            fields["id"] = look.new_pk
        row_ = Escalation(override_band=None, **fields)  # transient: a view of the row
        user = principal.username
        revisions: list[tuple[int, str, dict[str, Any]]] = [
            (1, "intake", {}),
            (2, "rating", _rating_changes({}, row_)),
        ]
        if pg:
            self._audit(session, principal, "escalation.create", row_, _brief(row_))
            if case_id is not None:
                self._audit(session, principal, "escalation.link", row_, {"case_id": case_id})
        written = _Written(
            row_,
            self._mask(session, principal, row_),
            [(seq, now, user, kind, changes) for seq, kind, changes in revisions],
            staff.linked_case(session, principal, row_),
        )
        if pg:
            related = look.related or []
            _write_new(session, fields, keys, revisions, actor=user, at=now, audited=not related)
            if related:  # rare: re-rated with the ORM; the audit rows follow, sealed last
                self._rerate_related(session, principal, row_, keys, now, related)
            session.flush()
            return written
        conn = session.connection()
        made = conn.execute(_ADD_ESCALATION, fields).inserted_primary_key
        assert made is not None
        row_.id = int(made[0])
        if keys:
            conn.execute(
                _ADD_KEYS,
                [{"escalation_pk": row_.id, "key": k, "kind": kind} for k, kind in keys.items()],
            )
        conn.execute(
            _ADD_REVISION,
            [
                {
                    "escalation_pk": row_.id,
                    "seq": seq,
                    "at": now,
                    "actor": user,
                    "kind": kind,
                    "reason": "",
                    "changes": changes,
                }
                for seq, kind, changes in revisions
            ],
        )
        self._audit(session, principal, "escalation.create", row_, _brief(row_))
        if case_id is not None:
            self._audit(session, principal, "escalation.link", row_, {"case_id": case_id})
        # On SQLite no other writer runs inside this transaction: when no other escalation
        # shares a key (cluster 1), none can be re-rated, and asking again is skipped.
        if look.context.cluster_size > 1:
            self._rerate_related(session, principal, row_, keys, now)
        session.flush()
        return written

    def override(
        self, principal: Principal, escalation_pk: int, version: int, band: str, reason: str
    ) -> EscalationDetail:
        """Set the effective band, with a reason (required; kept and audited)."""
        principal.require(Permission.escalation_manage)
        if band not in BANDS:
            raise InputError(f"must be one of {', '.join(BANDS)}", field="band")
        reason = (reason or "").strip()
        if not reason:
            raise InputError("an override needs a reason", field="reason")
        if len(reason) > MAX_REASON:
            raise InputError(f"is longer than {MAX_REASON} characters", field="reason")
        _check_text(reason, "reason", None)
        with self._write() as session:
            row_ = self._load(session, escalation_pk)
            if row_.version != version:
                raise ConflictError(
                    f"escalation {escalation_pk} is at version {row_.version}, not {version}; "
                    "read it again"
                )
            now = utc_now_aware()
            before = {"band": row_.override_band or row_.band, "sla_due_at": _iso(row_.sla_due_at)}
            row_.override_band = band
            row_.sla_due_at = clocks.queue_due(row_, self.policy)
            row_.updated_at = now
            session.add(
                EscalationOverride(
                    escalation_pk=row_.id,
                    analyst_id=principal.user_id,
                    analyst=principal.username,
                    band=band,
                    engine_band=row_.band,
                    reason=reason,
                    at=now,
                )
            )
            after = {"band": band, "sla_due_at": _iso(row_.sla_due_at)}
            changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
            _revise(session, row_, principal.username, "override", changes, now, reason=reason)
            self._audit(
                session,
                principal,
                "escalation.override",
                row_,
                {"band": band, "engine_band": row_.band},
                reason=reason,
            )
            session.flush()
            return self._detail(session, row_, principal)

    # --- reading -------------------------------------------------------------------------

    def get(self, principal: Principal, escalation_pk: int) -> EscalationDetail:
        """One escalation in full (reporter text, subjects): an audited read. An escalation
        about staff is linked here to an integrity case opened since it was last touched."""
        principal.require(Permission.escalation_read)
        with self._write() as session:
            row_ = self._load(session, escalation_pk)
            self._link(session, principal, row_)
            mask = self._mask(session, principal, row_)
            shown = {"unmasked": mask.shown} if mask.shown else {}
            self._audit(session, principal, "escalation.read", row_, shown)
            session.flush()
            return self._detail(session, row_, principal, mask)

    def queue(
        self,
        principal: Principal,
        *,
        status: str | None = None,
        band: str | None = None,
        route: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[EscalationSummary], int]:
        """Escalations by time to breach (the earliest clock first); without ``status``,
        every one not yet resolved; ``band`` is the effective band (an override's when
        there is one, as the queue shows it), ``route`` the downstream queue. Returns the
        page and the total."""
        principal.require(Permission.escalation_read)
        if not 1 <= limit <= MAX_LIMIT:
            raise InputError(f"limit must be within 1..{MAX_LIMIT}", field="limit")
        if offset < 0:
            raise InputError("offset must not be negative", field="offset")
        where: list[ColumnElement[bool]] = []
        if status is None:
            where.append(Escalation.status.in_(_OPEN))
        else:
            try:
                where.append(Escalation.status == EscalationStatus(status).value)
            except ValueError:
                choices = ", ".join(s.value for s in EscalationStatus)
                raise InputError(f"must be one of {choices}", field="status") from None
        if band is not None:
            if band not in BANDS:
                raise InputError(f"must be one of {', '.join(BANDS)}", field="band")
            where.append(func.coalesce(Escalation.override_band, Escalation.band) == band)
        if route is not None:
            where.append(Escalation.route == route)
        now = utc_now_aware()
        with self.store.read() as session:
            total = session.scalar(select(func.count()).select_from(Escalation).where(*where))
            rows = session.scalars(
                select(Escalation)
                .where(*where)
                .order_by(Escalation.sla_due_at, Escalation.id)
                .limit(limit)
                .offset(offset)
            ).all()
            seen = staff.visible_cases(session, principal, (r.case_id for r in rows))
            unmasked = unmasking.active_pseudonyms(session, principal)
            items = [
                _summary(
                    r,
                    now,
                    case_visible=r.case_id in seen,
                    mask=staff.mask_for(principal, r, self.pseudonyms, unmasked),
                )
                for r in rows
            ]
            return items, total or 0

    def routes(self, principal: Principal) -> list[str]:
        """The downstream queues escalations have been routed to, for a queue filter (the
        stored ones, not the policy's: an escalation keeps the route it was rated with)."""
        principal.require(Permission.escalation_read)
        with self.store.read() as session:
            found = session.scalars(
                select(Escalation.route).distinct().order_by(Escalation.route)
            ).all()
        return list(found)

    # --- internals -----------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A write transaction whose lost races become ``ConflictError`` (HTTP 409)."""
        # Load (maybe create) the pseudonym key first: creating it inside this transaction
        # would need a second writer, which SQLite makes wait for this one.
        _ = self.pseudonyms
        try:
            # Audit rows are written last (``chain.deferred``), with the commit: the chain's
            # head is locked from the first audit write to the commit, and every other
            # audited writer waits meanwhile.
            with self.store.write() as session, chain.deferred(session, last=True):
                yield session
        except StaleDataError as exc:
            raise ConflictError("the escalation changed meanwhile; send it again") from exc
        except IntegrityError as exc:
            raise ConflictError(
                "the same escalation was submitted concurrently; send it again"
            ) from exc

    def _load(self, session: Session, escalation_pk: int) -> Escalation:
        row_ = session.get(Escalation, escalation_pk)
        if row_ is None:
            raise NotFoundError(f"no escalation {escalation_pk}")
        return row_

    def _rate(
        self,
        session: Session,
        e: EscalationInput,
        pk: int | None,
        keys: Mapping[str, str],
        reading: TextReading | None = None,
    ) -> Rating:
        context = _context(session, e, pk, keys)
        if reading is None:  # a stored escalation, re-rated
            reading = _READINGS.get(e.text, e.language)
        if reading is None:
            reading = read(e.text, language_hint=e.language)
            _READINGS.put(e.text, e.language, reading)
        return rate(e, reading, context, self.policy)

    def _rerate(
        self,
        session: Session,
        principal: Principal,
        row_: Escalation,
        e: EscalationInput,
        keys: Mapping[str, str],
        reason: str,
        now: datetime,
        *,
        reading: TextReading | None = None,
    ) -> bool:
        """Rate ``row_`` again (``reading``: of ``e``'s text, when already read); store,
        record and audit the rating if it changed."""
        before = _rating_values(row_)
        rating = self._rate(session, e, row_.id, keys, reading)
        _apply_rating(row_, rating)
        changes = _rating_changes(before, row_)
        if not changes:
            return False
        row_.sla_due_at = clocks.queue_due(row_, self.policy)
        row_.updated_at = now
        _revise(session, row_, principal.username, "rating", changes, now, reason=reason)
        self._audit(
            session,
            principal,
            "escalation.rerate",
            row_,
            {"fields": sorted(changes), **_brief(row_)},
            reason=reason,
        )
        return True

    def _rerate_related(
        self,
        session: Session,
        principal: Principal,
        row_: Escalation,
        keys: Mapping[str, str],
        now: datetime,
        ids: list[int] | None = None,
    ) -> None:
        """Open escalations sharing a key with ``row_`` have a new cluster: re-rate them
        (``ids``: as the first look found them, the most recent first; else asked here)."""
        if not keys:
            return
        # Usually there are none: asked in Core, and only those found are loaded as objects.
        if ids is None:
            params = {"keys": list(keys), "pk": row_.id}
            ids = list(_flushed(session).execute(_RELATED, params).scalars())
        if not ids:
            return
        loaded = {
            r.id: r for r in session.scalars(select(Escalation).where(Escalation.id.in_(ids)))
        }
        related = [loaded[i] for i in ids]  # in the order asked: the most recent first
        reason = f"merged with escalation {row_.escalation_id}"
        for other in related:
            e = EscalationInput.from_dict(_stored_input(other))
            self._rerate(session, principal, other, e, keys_of(e), reason, now)

    def _link(
        self,
        session: Session,
        principal: Principal,
        row_: Escalation,
        directory: Iterable[str] = (),
    ) -> None:
        """Refresh the staff subjects and link an open integrity case (audited, but no
        revision: revisions are shown to everyone who may read escalations)."""
        linked = staff.refresh(session, row_, directory)
        if linked is not None:
            self._audit(session, principal, "escalation.link", row_, {"case_id": linked})

    def _audit(
        self,
        session: Session,
        principal: Principal,
        action: str,
        row_: Escalation,
        detail: dict[str, Any],
        *,
        reason: str = "",
    ) -> None:
        chain.defer(
            session,
            actor=principal.username,
            action=action,
            target_type="escalation",
            target_id=row_.id,
            reason=reason,
            detail={"escalation_id": row_.escalation_id, **detail},
        )

    def _mask(self, session: Session, principal: Principal, row_: Escalation) -> staff.StaffMask:
        # Grants matter only for staff named by their real id; most escalations name none,
        # and then the mask is empty whatever the reader has unmasked (no query).
        if not staff.raw_staff(row_):
            return staff.StaffMask({})
        return staff.mask_for(
            principal, row_, self.pseudonyms, unmasking.active_pseudonyms(session, principal)
        )

    def _detail(
        self,
        session: Session,
        row_: Escalation,
        principal: Principal,
        mask: staff.StaffMask | None = None,
    ) -> EscalationDetail:
        """The full view; the linked integrity case only if ``principal`` may see it; staff
        named in it as pseudonyms unless ``principal`` has unmasked them."""
        mask = mask or self._mask(session, principal, row_)
        revisions = session.scalars(
            select(EscalationRevision)
            .where(EscalationRevision.escalation_pk == row_.id)
            .order_by(EscalationRevision.seq)
        ).all()
        # The override shown is the last one, and only while one is in force: none, no query.
        last = (
            None
            if row_.override_band is None
            else session.scalars(
                select(EscalationOverride)
                .where(EscalationOverride.escalation_pk == row_.id)
                .order_by(EscalationOverride.id.desc())
                .limit(1)
            ).first()
        )
        return _view(
            row_,
            mask,
            revisions=[
                RevisionView(
                    seq=r.seq,
                    at=_aware(r.at),
                    actor=r.actor,
                    kind=r.kind,
                    reason=r.reason,
                    changes=mask.value(dict(r.changes)),
                )
                for r in revisions
            ],
            override=None
            if last is None
            else OverrideView(
                band=last.band,
                engine_band=last.engine_band,
                reason=last.reason,
                analyst=last.analyst,
                at=_aware(last.at),
            ),
            case=staff.linked_case(session, principal, row_),
            progress=clocks.progress(session, row_),
        )


@dataclass(frozen=True)
class _Written:
    """A new escalation as its transaction wrote it, and what its reader may see of it
    (asked inside the transaction); the detail view itself is built after the commit,
    since the pydantic models cost a fair share of the time the SQLite writer lock would
    otherwise be held."""

    row: Escalation  # transient: never added to a session
    mask: staff.StaffMask
    revisions: list[tuple[int, datetime, str, str, dict[str, Any]]]  # seq, at, actor, kind, changes
    case: IntegrityCaseView | None

    def view(self) -> EscalationDetail:
        return _view(
            self.row,
            self.mask,
            revisions=[
                RevisionView(
                    seq=seq, at=at, actor=actor, kind=kind, reason="", changes=self.mask.value(c)
                )
                for seq, at, actor, kind, c in self.revisions
            ],
            override=None,
            case=self.case,
            progress=clocks.steps(self.row, ()),
        )


def _view(
    row_: Escalation,
    mask: staff.StaffMask,
    *,
    revisions: list[RevisionView],
    override: OverrideView | None,
    case: IntegrityCaseView | None,
    progress: Mapping[str, Any],
) -> EscalationDetail:
    """The detail of ``row_`` from parts already read (or just written)."""
    summary = _summary(row_, utc_now_aware(), case_visible=case is not None, mask=mask)
    return EscalationDetail(
        **summary.model_dump(),
        body=mask.text(row_.body),
        reported_language=row_.language,
        reported_category=row_.reported_category,
        subject_ids=[mask.text(s) for s in row_.subject_ids],
        reach=row_.reach,
        jurisdiction=row_.jurisdiction,
        requester=row_.requester,
        deadline=utc(row_.deadline),
        attrs=mask.value(dict(row_.attrs)),
        factors=[FactorView.model_validate(f) for f in row_.factors],
        clocks={k: datetime.fromisoformat(v) for k, v in row_.clocks.items()},
        engine=EngineRating(
            band=row_.band,
            score=row_.score,
            sla_due_at=_aware(row_.engine_sla_due_at),
            policy_version=row_.policy_version,
        ),
        override=override,
        created_at=_aware(row_.created_at),
        revisions=revisions,
        **progress,
        integrity_case=case,
    )
