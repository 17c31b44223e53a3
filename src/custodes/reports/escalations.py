"""The escalation report: what arrived, how fast it was handled against its SLA clocks,
where clocks ran out and why, where analysts and the engine disagreed, what was done, and
whether the harm came back.

**What counts in a period.** Each fact is counted in the period it happened in, so every
fact lands in exactly one weekly and one monthly report and none waits for a period that
has already been reported:

* volumes — escalations *received* in the period (by source, category, effective band,
  language and region);
* handling times — steps *taken* in the period: time from receipt to acknowledging, to
  the first action (an escalation resolved straight from acknowledged: its resolution is
  its first action), to resolving; a step is late when a breach of its clock was recorded
  at it (``escalation_breaches``);
* breaches — clocks that ran out, recorded in the period, with their cause; and the open
  escalations already past a clock at the period's end (not yet recorded: no step yet);
* overrides — made in the period; the engine-vs-analyst report of
  :mod:`custodes.triage.calibration` over the escalations received in the period;
* mitigations — escalations *resolved* in the period, by resolution, and whether the harm
  **recurred**: a later escalation naming one of the same subjects or URLs
  (``escalation_keys``) arrived after the resolution and before the period's end. Also
  counted: escalations received in the period about a subject or URL already resolved.

Nothing after the period's end is counted, so a report of a past period always gives the
same numbers, and the period before (for the changes) is computed by the same rules.
Ratings are the stored ones (a re-rating since changes them). Everything is aggregate: no
escalation's text, subject or reporter leaves this module.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Final

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased, defer

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.clock import utc_now_aware
from custodes.model.vocabulary import BANDS
from custodes.reports.highlights import Highlight, escalation_highlights
from custodes.reports.measures import (
    Change,
    Count,
    Durations,
    breakdown,
    hours,
    percentile,
    share,
)
from custodes.reports.period import Period
from custodes.store.cases import CaseStore
from custodes.store.schema import Escalation, EscalationBreach, EscalationKey, EscalationOverride
from custodes.triage import calibration, clocks
from custodes.triage.policy import Policy

CLOCK_ORDER: Final = ("acknowledge", "first_action", "resolve", "reply")
CLOCK_LABELS: Final = {
    "acknowledge": "Acknowledge",
    "first_action": "First action",
    "resolve": "Resolve",
    "reply": "Reply to requester",
}
NO_REGION: Final = "none"
TOP_CAUSES: Final = 12


@dataclass(frozen=True)
class ClockStats:
    """One SLA clock over the steps that met it in the period."""

    clock: str
    steps: int
    late: int
    on_time_share: float | None
    durations: Durations  # from receipt to the step

    @property
    def label(self) -> str:
        return CLOCK_LABELS.get(self.clock, self.clock)


@dataclass(frozen=True)
class BreachCause:
    """Breaches recorded in the period under one cause (the rule that set the clock)."""

    cause: str
    clock: str
    breaches: int
    median_overdue_hours: float | None


@dataclass(frozen=True)
class Mitigation:
    """Escalations resolved one way in the period, and how many saw the harm recur."""

    resolution: str
    resolved: int
    recurred: int
    recurrence_share: float | None
    median_days_to_recurrence: float | None


@dataclass(frozen=True)
class Overrides:
    """Overrides made in the period: engine band → analyst band."""

    total: int
    up: int  # to a more urgent band
    down: int  # (the rest set the engine's own band: an analyst confirming it)
    matrix: dict[str, dict[str, int]]  # engine band -> analyst band -> overrides


@dataclass(frozen=True)
class EscalationTotals:
    """The headline figures of one period (this one, or the one before)."""

    received: int
    urgent: int  # received and rated P0 or P1 (effective band)
    acknowledged: int
    resolved: int
    breaches: int
    overdue_at_end: int
    overrides: int
    recurred: int
    acknowledge_median_hours: float | None
    resolve_median_hours: float | None
    acknowledge_on_time: float | None
    resolve_on_time: float | None


@dataclass(frozen=True)
class EscalationReport:
    period: Period
    previous_period: Period
    generated_at: datetime
    generated_by: str
    policy_version: str
    totals: EscalationTotals
    previous: EscalationTotals
    by_source: tuple[Count, ...]
    by_category: tuple[Count, ...]
    by_band: tuple[Count, ...]
    by_language: tuple[Count, ...]
    by_region: tuple[Count, ...]
    daily: tuple[tuple[date, int], ...]  # received per day
    clocks: tuple[ClockStats, ...]
    breaches_by_clock: tuple[Count, ...]
    breach_causes: tuple[BreachCause, ...]
    overrides: Overrides
    calibration: calibration.Report
    mitigations: tuple[Mitigation, ...]
    repeats: int  # received in the period about a subject or URL resolved before
    highlights: tuple[Highlight, ...] = field(default=())

    @property
    def changes(self) -> tuple[Change, ...]:
        now, before = self.totals, self.previous
        return tuple(
            Change(name, getattr(now, key), getattr(before, key), kind)
            for name, key, kind in (
                ("Escalations received", "received", "count"),
                ("Rated P0 or P1", "urgent", "count"),
                ("Acknowledged", "acknowledged", "count"),
                ("Resolved", "resolved", "count"),
                ("Clock breaches recorded", "breaches", "count"),
                ("Open and overdue at the end", "overdue_at_end", "count"),
                ("Overrides", "overrides", "count"),
                ("Resolutions followed by a recurrence", "recurred", "count"),
                ("Median time to acknowledge", "acknowledge_median_hours", "hours"),
                ("Median time to resolve", "resolve_median_hours", "hours"),
                ("Acknowledged on time", "acknowledge_on_time", "share"),
                ("Resolved on time", "resolve_on_time", "share"),
            )
        )

    def clock(self, name: str) -> ClockStats | None:
        return next((c for c in self.clocks if c.clock == name), None)


def build(
    principal: Principal,
    store: CaseStore,
    period: Period,
    policy: Policy,
    *,
    base: Policy | None = None,
    now: datetime | None = None,
) -> EscalationReport:
    """The report for ``period`` (needs ``escalation.read``; aggregate, so not an audited
    read). ``policy`` is the one in force (its regions, clocks and version); ``base`` the
    policy before any learned adjustment, for the calibration report."""
    principal.require(Permission.escalation_read)
    before = period.previous()
    lo, hi = before.start_at, period.end_at
    ratings = calibration.stored_ratings(principal, store)
    with store.read() as session:
        rows = _rows(session, lo, hi)
        breaches = _breaches(session, lo, hi)
        overrides = session.scalars(
            select(EscalationOverride).where(
                EscalationOverride.at >= lo, EscalationOverride.at < hi
            )
        ).all()
        first_recurrence = _first_recurrence(session, lo, hi)
        repeats = _repeats(session, period)
        current = _Period(period, rows, breaches, overrides, first_recurrence, policy)
        earlier = _Period(before, rows, breaches, overrides, first_recurrence, policy)
        totals, previous = current.totals(), earlier.totals()
        received = current.received
        received_ids = {r.id for r in received}
        report = EscalationReport(
            period=period,
            previous_period=before,
            generated_at=now or utc_now_aware(),
            generated_by=principal.username,
            policy_version=policy.version,
            totals=totals,
            previous=previous,
            by_source=breakdown(r.source for r in received),
            by_category=breakdown(r.category for r in received),
            by_band=breakdown((_band(r) for r in received), BANDS),
            by_language=breakdown(r.rated_language for r in received),
            by_region=breakdown(policy.region_of(r.jurisdiction) or NO_REGION for r in received),
            daily=_daily(period, received),
            clocks=current.clock_stats(),
            breaches_by_clock=breakdown(
                (b.clock for b, _band in current.breaches), [c for c in CLOCK_ORDER if c != "reply"]
            ),
            breach_causes=current.causes(),
            overrides=current.overrides(),
            calibration=calibration.build_report(
                [r for r in ratings if r.escalation_pk in received_ids], policy, base or policy
            ),
            mitigations=current.mitigations(),
            repeats=repeats,
        )
    return replace(report, highlights=escalation_highlights(report))


# --- reading ------------------------------------------------------------------------------


def _rows(session: Session, lo: datetime, hi: datetime) -> list[Escalation]:
    """Every escalation a figure of [lo, hi) may need: received in it, or received before
    and not resolved before it (steps taken in it, or still open at an end)."""
    return list(
        session.scalars(
            select(Escalation)
            .options(
                defer(Escalation.body),
                defer(Escalation.title),
                defer(Escalation.attrs),
                defer(Escalation.factors),
            )
            .where(
                Escalation.received_at < hi,
                or_(
                    Escalation.received_at >= lo,
                    Escalation.resolved_at.is_(None),
                    Escalation.resolved_at >= lo,
                ),
            )
            .order_by(Escalation.id)
        )
    )


def _breaches(session: Session, lo: datetime, hi: datetime) -> list[tuple[EscalationBreach, str]]:
    """Breaches recorded in [lo, hi), each with its escalation's effective band."""
    rows = session.execute(
        select(EscalationBreach, func.coalesce(Escalation.override_band, Escalation.band))
        .join(Escalation, Escalation.id == EscalationBreach.escalation_pk)
        .where(EscalationBreach.met_at >= lo, EscalationBreach.met_at < hi)
        .order_by(EscalationBreach.id)
    ).all()
    return [(b, str(band)) for b, band in rows]


def _first_recurrence(session: Session, lo: datetime, hi: datetime) -> dict[int, datetime]:
    """For escalations resolved in [lo, hi): when the first later escalation sharing one
    of their subject or URL keys arrived (only those that have one)."""
    mine, theirs, later = aliased(EscalationKey), aliased(EscalationKey), aliased(Escalation)
    rows = session.execute(
        select(Escalation.id, func.min(later.received_at))
        .join(mine, mine.escalation_pk == Escalation.id)
        .join(theirs, and_(theirs.key == mine.key, theirs.escalation_pk != Escalation.id))
        .join(later, later.id == theirs.escalation_pk)
        .where(
            Escalation.resolved_at >= lo,
            Escalation.resolved_at < hi,
            later.received_at > Escalation.resolved_at,
        )
        .group_by(Escalation.id)
    ).all()
    return {int(pk): clocks.aware(at) for pk, at in rows}


def _repeats(session: Session, period: Period) -> int:
    """Escalations received in the period naming a subject or URL of an escalation that
    had been resolved before they arrived."""
    mine, theirs, earlier = aliased(EscalationKey), aliased(EscalationKey), aliased(Escalation)
    return (
        session.scalar(
            select(func.count(func.distinct(Escalation.id)))
            .join(mine, mine.escalation_pk == Escalation.id)
            .join(theirs, and_(theirs.key == mine.key, theirs.escalation_pk != Escalation.id))
            .join(earlier, earlier.id == theirs.escalation_pk)
            .where(
                Escalation.received_at >= period.start_at,
                Escalation.received_at < period.end_at,
                earlier.resolved_at.is_not(None),
                earlier.resolved_at < Escalation.received_at,
            )
        )
        or 0
    )


# --- one period's figures -----------------------------------------------------------------


class _Period:
    """The figures of one period, from rows read once for both periods."""

    def __init__(
        self,
        period: Period,
        rows: Sequence[Escalation],
        breaches: Sequence[tuple[EscalationBreach, str]],
        overrides: Sequence[EscalationOverride],
        first_recurrence: dict[int, datetime],
        policy: Policy,
    ) -> None:
        self.period = period
        self.rows = rows
        self.policy = policy
        self.received = [r for r in rows if self._in(r.received_at)]
        self.breaches = [(b, band) for b, band in breaches if self._in(b.met_at)]
        self.override_rows = [o for o in overrides if self._in(o.at)]
        self.resolved = [r for r in rows if self._in(r.resolved_at)]
        self.recurrence = {
            r.id: at
            for r in self.resolved
            if (at := first_recurrence.get(r.id)) is not None and at < period.end_at
        }

    def _in(self, moment: datetime | None) -> bool:
        if moment is None:
            return False
        at = clocks.aware(moment)
        return self.period.start_at <= at < self.period.end_at

    def steps(self, clock: str) -> list[tuple[Escalation, datetime]]:
        """The steps in the period that met ``clock``, with when they were taken."""
        out: list[tuple[Escalation, datetime]] = []
        for r in self.rows:
            if clock == "acknowledge":
                at = r.acknowledged_at
            elif clock == "resolve":
                at = r.resolved_at
            else:  # first_action and reply: the first action (or a resolution without one)
                if clock == "reply" and "reply" not in (r.clocks or {}):
                    continue
                at = r.actioned_at or r.resolved_at
            if at is not None and self._in(at):
                out.append((r, clocks.aware(at)))
        return out

    def clock_stats(self) -> tuple[ClockStats, ...]:
        late = Counter(b.clock for b, _band in self.breaches)
        out = []
        for clock in CLOCK_ORDER:
            taken = self.steps(clock)
            if clock == "reply" and not taken and not late[clock]:
                continue  # no escalation had a reply clock: nothing to say
            spent = [hours((at - clocks.aware(r.received_at)).total_seconds()) for r, at in taken]
            n, over = len(taken), min(late[clock], len(taken))
            out.append(ClockStats(clock, n, over, share(n - over, n), Durations.of(spent)))
        return tuple(out)

    def causes(self) -> tuple[BreachCause, ...]:
        grouped: dict[tuple[str, str], list[float]] = defaultdict(list)
        for b, _band in self.breaches:
            grouped[(b.cause, b.clock)].append(hours(b.overdue_seconds))
        ranked = sorted(grouped.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        return tuple(
            BreachCause(cause, clock, len(late), Durations.of(late).median_hours)
            for (cause, clock), late in ranked[:TOP_CAUSES]
        )

    def overdue_at_end(self) -> int:
        """Open escalations (received, not resolved, by the end) already past a clock."""
        end = self.period.end_at
        count = 0
        for r in self.rows:
            if clocks.aware(r.received_at) >= end:
                continue
            if r.resolved_at is not None and clocks.aware(r.resolved_at) < end:
                continue
            due = clocks.effective_schedule(r, self.policy).due_at(_done_by(r, end))
            if due is not None and due < end:
                count += 1
        return count

    def overrides(self) -> Overrides:
        matrix = {engine: dict.fromkeys(BANDS, 0) for engine in BANDS}
        up = down = 0
        for o in self.override_rows:
            if o.engine_band in matrix and o.band in matrix[o.engine_band]:
                matrix[o.engine_band][o.band] += 1
            shift = _rank(o.engine_band) - _rank(o.band)
            up += shift > 0
            down += shift < 0
        return Overrides(len(self.override_rows), up, down, matrix)

    def mitigations(self) -> tuple[Mitigation, ...]:
        grouped: dict[str, list[Escalation]] = defaultdict(list)
        for r in self.resolved:
            grouped[r.resolution or "unknown"].append(r)
        out = []
        for resolution, members in sorted(grouped.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            came_back = [r for r in members if r.id in self.recurrence]
            days = [
                (self.recurrence[r.id] - clocks.aware(r.resolved_at)).total_seconds() / 86400
                for r in came_back
                if r.resolved_at is not None
            ]
            out.append(
                Mitigation(
                    resolution,
                    len(members),
                    len(came_back),
                    share(len(came_back), len(members)),
                    percentile(sorted(days), 0.5),
                )
            )
        return tuple(out)

    def totals(self) -> EscalationTotals:
        stats = {c.clock: c for c in self.clock_stats()}
        ack, done = stats.get("acknowledge"), stats.get("resolve")
        return EscalationTotals(
            received=len(self.received),
            urgent=sum(1 for r in self.received if _band(r) in ("P0", "P1")),
            acknowledged=ack.steps if ack else 0,
            resolved=len(self.resolved),
            breaches=len(self.breaches),
            overdue_at_end=self.overdue_at_end(),
            overrides=len(self.override_rows),
            recurred=len(self.recurrence),
            acknowledge_median_hours=ack.durations.median_hours if ack else None,
            resolve_median_hours=done.durations.median_hours if done else None,
            acknowledge_on_time=ack.on_time_share if ack else None,
            resolve_on_time=done.on_time_share if done else None,
        )


def _band(row: Escalation) -> str:
    return row.override_band or row.band


def _rank(band: str) -> int:
    return BANDS.index(band) if band in BANDS else len(BANDS)


def _done_by(row: Escalation, end: datetime) -> frozenset[str]:
    """The clocks the steps taken before ``end`` had completed."""

    def before(at: datetime | None) -> bool:
        return at is not None and clocks.aware(at) < end

    if before(row.resolved_at):
        return frozenset(CLOCK_ORDER) | frozenset(row.clocks or {})
    out: set[str] = set()
    if before(row.acknowledged_at):
        out |= clocks.COMPLETES[clocks.Step.acknowledge]
    if before(row.actioned_at):
        out |= clocks.COMPLETES[clocks.Step.action]
    return frozenset(out)


def _daily(period: Period, received: Iterable[Escalation]) -> tuple[tuple[date, int], ...]:
    per_day = Counter(clocks.aware(r.received_at).date() for r in received)
    return tuple((day, per_day.get(day, 0)) for day in period.days)
