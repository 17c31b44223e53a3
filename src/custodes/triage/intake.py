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
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.audit import append
from custodes.clock import utc_now_aware
from custodes.errors import ConflictError, InputError, NotFoundError
from custodes.model.vocabulary import BANDS
from custodes.store.cases import CaseStore
from custodes.store.schema import (
    Case,
    Escalation,
    EscalationKey,
    EscalationOverride,
    EscalationRevision,
)
from custodes.triage.escalation import EscalationInput
from custodes.triage.policy import Policy, load_policy
from custodes.triage.rating import Rating, RatingContext, rate
from custodes.triage.reading import read
from custodes.triage.sla import schedule
from custodes.triage.views import (
    EngineRating,
    EscalationDetail,
    EscalationStatus,
    EscalationSummary,
    FactorView,
    OverrideView,
    RevisionView,
)

MAX_LIMIT: Final = 500
MAX_REASON: Final = 10_000
MAX_KEYS: Final = 200  # subject ids and URLs looked up per escalation
MAX_RERATE: Final = 100  # open escalations re-rated when one they share a key with changes
MAX_REACH: Final = 2**63 - 1
_KEY_LENGTH: Final = 512
_URL: Final = re.compile(r"https?://[^\s<>\"'()\[\]{}]+", re.IGNORECASE)
_OPEN: Final = tuple(s.value for s in EscalationStatus if s is not EscalationStatus.resolved)
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


def utc(value: datetime | None) -> datetime | None:
    """Aware UTC (SQLite hands timestamps back naive, in UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _aware(value: datetime) -> datetime:
    out = utc(value)
    assert out is not None
    return out


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


class EscalationService:
    """Escalations in one case store; cheap to create (per request or per command)."""

    def __init__(self, store: CaseStore, policy: Policy | None = None) -> None:
        self.store = store
        self._policy = policy

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
        with self._write() as session:
            row_ = session.scalars(
                select(Escalation).where(Escalation.escalation_id == escalation_id)
            ).first()
            created = row_ is None
            now = utc_now_aware()
            if row_ is None:
                row_ = Escalation(**values, status=EscalationStatus.open.value)
                row_.created_at = row_.updated_at = now
                rating = self._rate(session, e, None, keys)
                _apply_rating(row_, rating)
                row_.sla_due_at = row_.engine_sla_due_at
                session.add(row_)
                session.flush()
                _set_keys(session, row_.id, keys)
                _revise(session, row_, principal.username, "intake", {}, now)
                _revise(session, row_, principal.username, "rating", _rating_changes({}, row_), now)
                self._audit(session, principal, "escalation.create", row_, _brief(row_))
            else:
                changed = _input_changes(row_, values)
                if not changed and keys == _stored_keys(session, row_.id):
                    return self._detail(session, row_), False
                for name in changed:
                    setattr(row_, name, values[name])
                row_.updated_at = now
                _set_keys(session, row_.id, keys)
                _revise(session, row_, principal.username, "update", changed, now)
                self._audit(
                    session, principal, "escalation.update", row_, {"fields": sorted(changed)}
                )
                self._rerate(session, principal, row_, e, keys, "the escalation changed", now)
            session.flush()
            self._rerate_related(session, principal, row_, keys, now)
            session.flush()
            return self._detail(session, row_), created

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
            row_.sla_due_at = self._override_due(row_, band)
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
            return self._detail(session, row_)

    # --- reading -------------------------------------------------------------------------

    def get(self, principal: Principal, escalation_pk: int) -> EscalationDetail:
        """One escalation in full (reporter text, subjects): an audited read."""
        principal.require(Permission.escalation_read)
        with self._write() as session:
            row_ = self._load(session, escalation_pk)
            self._audit(session, principal, "escalation.read", row_, {})
            return self._detail(session, row_)

    def queue(
        self,
        principal: Principal,
        *,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[EscalationSummary], int]:
        """Escalations by time to breach (the earliest clock first); without ``status``,
        every one not yet resolved. Returns the page and the total."""
        principal.require(Permission.escalation_read)
        if not 1 <= limit <= MAX_LIMIT:
            raise InputError(f"limit must be within 1..{MAX_LIMIT}", field="limit")
        if offset < 0:
            raise InputError("offset must not be negative", field="offset")
        where: ColumnElement[bool]
        if status is None:
            where = Escalation.status.in_(_OPEN)
        else:
            try:
                where = Escalation.status == EscalationStatus(status).value
            except ValueError:
                choices = ", ".join(s.value for s in EscalationStatus)
                raise InputError(f"must be one of {choices}", field="status") from None
        now = utc_now_aware()
        with self.store.read() as session:
            total = session.scalar(select(func.count()).select_from(Escalation).where(where))
            rows = session.scalars(
                select(Escalation)
                .where(where)
                .order_by(Escalation.sla_due_at, Escalation.id)
                .limit(limit)
                .offset(offset)
            ).all()
            return [_summary(r, now) for r in rows], total or 0

    # --- internals -----------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A write transaction whose lost races become ``ConflictError`` (HTTP 409)."""
        try:
            with self.store.write() as session:
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
        self, session: Session, e: EscalationInput, pk: int | None, keys: Mapping[str, str]
    ) -> Rating:
        context = _context(session, e, pk, keys)
        return rate(e, read(e.text, language_hint=e.language), context, self.policy)

    def _rerate(
        self,
        session: Session,
        principal: Principal,
        row_: Escalation,
        e: EscalationInput,
        keys: Mapping[str, str],
        reason: str,
        now: datetime,
    ) -> bool:
        """Rate ``row_`` again; store, record and audit the rating if it changed."""
        before = _rating_values(row_)
        rating = self._rate(session, e, row_.id, keys)
        _apply_rating(row_, rating)
        changes = _rating_changes(before, row_)
        if not changes:
            return False
        row_.sla_due_at = (
            self._override_due(row_, row_.override_band)
            if row_.override_band
            else row_.engine_sla_due_at
        )
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
    ) -> None:
        """Open escalations sharing a key with ``row_`` have a new cluster: re-rate them."""
        if not keys:
            return
        related = session.scalars(
            select(Escalation)
            .where(
                Escalation.id.in_(
                    select(EscalationKey.escalation_pk).where(EscalationKey.key.in_(list(keys)))
                ),
                Escalation.id != row_.id,
                Escalation.status.in_(_OPEN),
            )
            .order_by(Escalation.received_at.desc())
            .limit(MAX_RERATE)
        ).all()
        reason = f"merged with escalation {row_.escalation_id}"
        for other in related:
            e = EscalationInput.from_dict(_stored_input(other))
            self._rerate(session, principal, other, e, keys_of(e), reason, now)

    def _override_due(self, row_: Escalation, band: str) -> datetime:
        """The override band's clock from receipt, capped by the requester's deadline; a
        fast lane's (legal) clock is never loosened by an override."""
        plan = schedule(
            band,
            _aware(row_.received_at),
            self.policy.sla,
            jurisdiction=row_.jurisdiction,
            deadline=utc(row_.deadline),
        )
        due = plan.due_at()
        assert due is not None
        engine = _aware(row_.engine_sla_due_at)
        return min(due, engine) if row_.fast_lane else due

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
        append(
            session,
            actor=principal.username,
            action=action,
            target_type="escalation",
            target_id=row_.id,
            reason=reason,
            detail={"escalation_id": row_.escalation_id, **detail},
        )

    def _detail(self, session: Session, row_: Escalation) -> EscalationDetail:
        revisions = session.scalars(
            select(EscalationRevision)
            .where(EscalationRevision.escalation_pk == row_.id)
            .order_by(EscalationRevision.seq)
        ).all()
        last = session.scalars(
            select(EscalationOverride)
            .where(EscalationOverride.escalation_pk == row_.id)
            .order_by(EscalationOverride.id.desc())
            .limit(1)
        ).first()
        summary = _summary(row_, utc_now_aware())
        return EscalationDetail(
            **summary.model_dump(),
            body=row_.body,
            reported_language=row_.language,
            reported_category=row_.reported_category,
            subject_ids=list(row_.subject_ids),
            reach=row_.reach,
            jurisdiction=row_.jurisdiction,
            requester=row_.requester,
            deadline=utc(row_.deadline),
            attrs=dict(row_.attrs),
            factors=[FactorView.model_validate(f) for f in row_.factors],
            clocks={k: datetime.fromisoformat(v) for k, v in row_.clocks.items()},
            engine=EngineRating(
                band=row_.band,
                score=row_.score,
                sla_due_at=_aware(row_.engine_sla_due_at),
                policy_version=row_.policy_version,
            ),
            override=None
            if last is None or row_.override_band is None
            else OverrideView(
                band=last.band,
                engine_band=last.engine_band,
                reason=last.reason,
                analyst=last.analyst,
                at=_aware(last.at),
            ),
            created_at=_aware(row_.created_at),
            revisions=[
                RevisionView(
                    seq=r.seq,
                    at=_aware(r.at),
                    actor=r.actor,
                    kind=r.kind,
                    reason=r.reason,
                    changes=dict(r.changes),
                )
                for r in revisions
            ],
        )


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


def _apply_rating(row_: Escalation, rating: Rating) -> None:
    row_.band = rating.band
    row_.score = rating.score
    row_.category = rating.category
    row_.rated_language = rating.language
    row_.route = rating.route
    row_.fast_lane = rating.fast_lane
    row_.policy_version = rating.policy_version
    row_.factors = [
        {"name": f.name, "input": f.input, "contribution": f.contribution} for f in rating.factors
    ]
    row_.flags = list(rating.flags)
    row_.clocks = {k: _aware(v).isoformat() for k, v in rating.clocks.items()}
    row_.engine_sla_due_at = _aware(rating.sla_due_at)


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


def _context(
    session: Session, e: EscalationInput, pk: int | None, keys: Mapping[str, str]
) -> RatingContext:
    if not keys:
        return RatingContext()
    others = select(EscalationKey.escalation_pk).where(EscalationKey.key.in_(list(keys)))
    if pk is not None:
        others = others.where(EscalationKey.escalation_pk != pk)
    subjects = [k for k, kind in keys.items() if kind == "subject"]
    about = (
        select(EscalationKey.escalation_pk)
        .where(EscalationKey.key.in_(subjects), EscalationKey.kind == "subject")
        .distinct()
    )
    if pk is not None:
        about = about.where(EscalationKey.escalation_pk != pk)
    cluster = session.scalar(
        select(func.count(func.distinct(Escalation.id))).where(Escalation.id.in_(others))
    )
    earlier = 0
    open_cases = 0
    if subjects:
        sub = about.subquery()
        earlier = (
            session.scalar(
                select(func.count())
                .select_from(Escalation)
                .where(
                    Escalation.id.in_(select(sub.c.escalation_pk)),
                    Escalation.received_at < _aware(e.received_at),
                )
            )
            or 0
        )
        open_cases = (
            session.scalar(
                select(func.count(func.distinct(Escalation.case_id)))
                .select_from(Escalation)
                .join(Case, Case.id == Escalation.case_id)
                .where(Escalation.id.in_(select(sub.c.escalation_pk)), Case.status != _CLOSED_CASE)
            )
            or 0
        )
    return RatingContext(
        earlier_escalations=earlier,
        open_cases=open_cases,
        cluster_size=1 + (cluster or 0),
    )


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
    last = session.scalar(
        select(func.max(EscalationRevision.seq)).where(EscalationRevision.escalation_pk == row_.id)
    )
    session.add(
        EscalationRevision(
            escalation_pk=row_.id,
            seq=(last or 0) + 1,
            at=at,
            actor=actor,
            kind=kind,
            reason=reason,
            changes=dict(changes),
        )
    )
    session.flush()


def _brief(row_: Escalation) -> dict[str, Any]:
    return {"band": row_.band, "score": row_.score, "policy_version": row_.policy_version}


def _iso(value: datetime | None) -> str | None:
    out = utc(value)
    return out.isoformat() if out else None


def _summary(row_: Escalation, now: datetime) -> EscalationSummary:
    due = _aware(row_.sla_due_at)
    return EscalationSummary(
        id=row_.id,
        escalation_id=row_.escalation_id,
        received_at=_aware(row_.received_at),
        source=row_.source,
        title=row_.title,
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
        case_id=row_.case_id,
        updated_at=_aware(row_.updated_at),
        version=row_.version,
    )
