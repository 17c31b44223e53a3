"""The alert queue: the alerts analysts work through — filtered, sorted and paged, each with
the verdict it has — and the verdicts they give from it, on one alert or on a batch.

One service behind both the JSON API (``/api/alerts``) and the alert-queue page, so the two
can never disagree about what a filter matches, what "open" means or who sees a real id.

Privacy: subjects appear as pseudonyms, in the fields and inside the free text (detectors
name counterparts in reasons: "device d-1 is also used by …"), masked against the whole
staff directory. The real actor id appears only beside a pseudonym the caller has unmasked
right now, and such a read is audited (``alert.read_unmasked``). Each verdict is audited
(``alert.verdict``, one row per alert, with its reason).

"Open" is the work still waiting: active (not muted by feedback) and not yet judged — the
same rule as the dashboard's open-alert counts (``risk.overview``).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from custodes import audit
from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.config import Settings
from custodes.detect.alert import Severity
from custodes.detect.feedback import Verdict, VerdictRecord, latest_verdicts, record_verdicts
from custodes.detect.results import known_actors
from custodes.errors import InputError, NotFoundError
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.privacy.unmasking import active_pseudonyms
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore

SORTS: Final = ("-score", "score", "-window_end", "window_end")
MAX_LIMIT: Final = 500
MAX_BATCH: Final = 500  # alerts judged in one go

_COLUMNS: Final = (
    "alert_id, actor_id, detector, category, severity, score, window_start, window_end, "
    "reasons, evidence_event_ids, pattern, suppressed"
)
_JUDGED: Final = "EXISTS (SELECT 1 FROM alert_verdicts v WHERE v.alert_id = alerts.alert_id)"


class Review(StrEnum):
    """Which alerts, by where they are in review."""

    open = "open"  # active and not judged yet: the work waiting
    judged = "judged"  # an analyst (or a closed case) has given a verdict
    active = "active"  # not muted by feedback, judged or not
    all = "all"  # muted ones too


@dataclass(frozen=True)
class AlertFilter:
    subject: str | None = None  # a pseudonym
    category: str | None = None
    detector: str | None = None
    severity: Severity | None = None
    min_score: float = 0.0
    review: Review = Review.active


@dataclass(frozen=True)
class AlertView:
    """One alert as a caller may see it: pseudonyms, masked text, the latest verdict."""

    alert_id: str
    subject: str
    actor_id: str | None  # only while the caller has ``subject`` unmasked
    detector: str
    category: str
    pattern: str
    severity: Severity
    score: float
    window_start: datetime
    window_end: datetime
    reasons: tuple[str, ...]
    evidence_event_ids: tuple[str, ...]
    suppressed: str | None  # why feedback mutes it, or None
    verdict: Verdict | None  # the latest verdict, if any


@dataclass(frozen=True)
class AlertPage:
    items: tuple[AlertView, ...]
    total: int
    limit: int
    offset: int


class AlertQueue:
    """Alerts for one case store (grants, audit) over the event store the caller opens;
    cheap to create per request."""

    def __init__(self, store: CaseStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._pseudonyms: Pseudonyms | None = None

    @property
    def pseudonyms(self) -> Pseudonyms:
        if self._pseudonyms is None:
            self._pseudonyms = Pseudonyms.load(self.store, self.settings)
        return self._pseudonyms

    # --- reading -------------------------------------------------------------------------

    def list(
        self,
        principal: Principal,
        events: EventStore | None,
        flt: AlertFilter = AlertFilter(),  # frozen, so sharing the default is safe
        *,
        sort: str = "-score",
        limit: int = 50,
        offset: int = 0,
    ) -> AlertPage:
        """One page of the alerts ``flt`` matches; ties in the sort go by alert id."""
        principal.require(Permission.alert_read)
        if sort not in SORTS:
            raise InputError(f"cannot sort by {sort!r} (one of {', '.join(SORTS)})", field="sort")
        if not 1 <= limit <= MAX_LIMIT:
            raise InputError(f"limit must be within 1..{MAX_LIMIT}", field="limit")
        if offset < 0:
            raise InputError("offset must not be negative", field="offset")
        if not 0.0 <= flt.min_score <= 1.0:
            raise InputError("min_score must be within 0..1", field="min_score")
        if events is None:
            return AlertPage((), 0, limit, offset)
        where, params = self._where(events, flt)
        if where is None:  # a subject nobody with alerts has
            return AlertPage((), 0, limit, offset)
        total = int(events.fetch_value(f"SELECT count(*) FROM alerts {where}", params) or 0)
        key = sort.lstrip("-")
        order = f"{key} {'DESC' if sort.startswith('-') else 'ASC'}, alert_id"
        rows = events.fetch_all(
            f"SELECT {_COLUMNS} FROM alerts {where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        items = self._views(principal, events, rows)
        return AlertPage(items, total, limit, offset)

    def get(self, principal: Principal, events: EventStore | None, alert_id: str) -> AlertView:
        principal.require(Permission.alert_read)
        row = (
            events.fetch_one(f"SELECT {_COLUMNS} FROM alerts WHERE alert_id = ?", [alert_id])
            if events is not None
            else None
        )
        if events is None or row is None:
            raise NotFoundError(f"no alert {alert_id}")
        return self._views(principal, events, [row])[0]

    def choices(
        self, principal: Principal, events: EventStore | None
    ) -> dict[str, builtins.list[str]]:
        """The categories and detectors that have alerts (for a filter's choices)."""
        principal.require(Permission.alert_read)
        if events is None:
            return {"category": [], "detector": []}
        return {
            name: [
                str(r[0])
                for r in events.fetch_all(
                    f"SELECT DISTINCT {name} FROM alerts WHERE {name} IS NOT NULL ORDER BY 1"
                )
            ]
            for name in ("category", "detector")
        }

    # --- judging -------------------------------------------------------------------------

    def judge(
        self,
        principal: Principal,
        events: EventStore,
        alert_ids: Sequence[str],
        verdict: Verdict,
        reason: str,
    ) -> builtins.list[VerdictRecord]:
        """One verdict with one reason on each of ``alert_ids`` (all or none), feeding
        detection's muting and calibration; an unknown alert is "not found". ``events``
        must be open for writing."""
        principal.require(Permission.alert_verdict)
        wanted = list(dict.fromkeys(a.strip() for a in alert_ids if a.strip()))
        if not wanted:
            raise InputError("choose at least one alert", field="alert_ids")
        if len(wanted) > MAX_BATCH:
            raise InputError(f"at most {MAX_BATCH} alerts at a time", field="alert_ids")
        try:
            records = record_verdicts(events, wanted, verdict, reason, principal.username)
        except InputError as exc:
            if exc.field == "alert_id":
                raise NotFoundError(exc.reason) from None
            raise
        with self.store.write() as session:
            for record in records:
                audit.append(
                    session,
                    actor=principal.username,
                    action="alert.verdict",
                    target_type="alert",
                    target_id=record.alert_id,
                    reason=record.reason,
                    detail={"verdict": str(record.verdict)},
                )
        return records

    # --- helpers -------------------------------------------------------------------------

    def _where(self, events: EventStore, flt: AlertFilter) -> tuple[str | None, builtins.list[Any]]:
        clauses: builtins.list[str] = []
        params: builtins.list[Any] = []
        if flt.review is Review.open:
            clauses += ["suppressed IS NULL", f"NOT {_JUDGED}"]
        elif flt.review is Review.judged:
            clauses.append(_JUDGED)
        elif flt.review is Review.active:
            clauses.append("suppressed IS NULL")
        for name in ("category", "detector", "severity"):
            value = getattr(flt, name)
            if value is not None:
                clauses.append(f"{name} = ?")
                params.append(str(value))
        if flt.min_score > 0:
            clauses.append("score >= ?")
            params.append(flt.min_score)
        if flt.subject is not None:
            actors = [
                str(r[0])
                for r in events.fetch_all("SELECT DISTINCT actor_id FROM alerts")
                if self.pseudonyms.of(str(r[0])) == flt.subject
            ]
            if not actors:
                return None, []
            clauses.append(f"actor_id IN ({', '.join('?' for _ in actors)})")
            params += actors
        return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params

    def _views(
        self, principal: Principal, events: EventStore, rows: Sequence[tuple[Any, ...]]
    ) -> tuple[AlertView, ...]:
        if not rows:
            return ()
        names = self.pseudonyms
        # Reasons name counterparts, so mask every staff id, not only the subject's.
        mask = names.masker(known_actors(events))
        verdicts = latest_verdicts(events, [str(r[0]) for r in rows])
        with self.store.read() as session:
            unmasked = active_pseudonyms(session, principal)
        items = []
        for r in rows:
            subject = names.of(str(r[1]))
            items.append(
                AlertView(
                    alert_id=str(r[0]),
                    subject=subject,
                    actor_id=str(r[1]) if subject in unmasked else None,
                    detector=str(r[2]),
                    category=str(r[3]),
                    severity=Severity(r[4]),
                    score=float(r[5]),
                    window_start=r[6],
                    window_end=r[7],
                    reasons=tuple(mask(text) for text in r[8] or ()),
                    evidence_event_ids=tuple(r[9] or ()),
                    pattern=mask(str(r[10] or f"{r[2]}:{r[3]}")),
                    suppressed=mask(str(r[11])) if r[11] is not None else None,
                    verdict=verdicts.get(str(r[0])),
                )
            )
        revealed = sorted({a.subject for a in items if a.actor_id is not None})
        if revealed:
            with self.store.write() as session:
                audit.append(
                    session,
                    actor=principal.username,
                    action="alert.read_unmasked",
                    target_type="subject",
                    target_id=revealed[0],
                    detail={"pseudonyms": revealed},
                )
        return tuple(items)
