"""The integrity report: what detection raised, what investigations made of it, how often
analysts found detection right, and what drives staff risk — all under pseudonyms.

**What counts in a period** (as in the escalation report, each fact in the period it
happened in, nothing after the period's end):

* alerts — by the start of their window, by scenario family and severity; those muted by
  analyst feedback are counted apart (``suppressed``), not dropped;
* cases — opened in the period (by category), closed in it (by outcome), the time from
  opening to closing of those closed, and those still open at the end. Cases are the
  ones the reader may see (need-to-know applies to counts too);
* precision — each judged alert's latest verdict given in the period: analysts' own
  (``custodes verdict``, the event store's ``alert_verdicts``) and closed cases' not yet
  synced there (``case_alerts.verdict``; ``custodes case sync`` copies them);
  ``true / (true + false)`` per family;
* risk — ``custodes risk`` as of the period's end (the same scores and decay): the points
  each scenario family and each context modifier adds over all staff (the top drivers),
  the staff per level, and the riskiest staff as pseudonyms, never names or ids.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.cases.events import naive_utc
from custodes.cases.visibility import visible
from custodes.cases.workflow import Outcome
from custodes.clock import utc_now_aware
from custodes.detect.results import contexts, load_alerts
from custodes.model.vocabulary import SCENARIOS
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.reports.highlights import Highlight, integrity_highlights
from custodes.reports.measures import Change, Count, Durations, breakdown, hours, share
from custodes.reports.period import Period
from custodes.risk import Level, RiskConfig, score_actors
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from custodes.store.schema import Case, CaseAlert
from custodes.triage.clocks import aware

TOP_STAFF: Final = 10
SEVERITIES: Final = ("critical", "high", "medium", "low")
UNKNOWN: Final = "unknown"


@dataclass(frozen=True)
class FamilyAlerts:
    """Alerts of one scenario family whose window started in the period."""

    family: str
    alerts: int
    suppressed: int  # muted by analyst feedback (repeat false positives, calibration)
    high: int  # high or critical severity
    staff: int  # distinct staff members alerted


@dataclass(frozen=True)
class Precision:
    """Analysts' latest verdicts given in the period on one family's alerts."""

    family: str
    true_positives: int
    false_positives: int

    @property
    def verdicts(self) -> int:
        return self.true_positives + self.false_positives

    @property
    def precision(self) -> float | None:
        return share(self.true_positives, self.verdicts)


@dataclass(frozen=True)
class Driver:
    """Risk points one family (or one context modifier) adds over all scored staff."""

    name: str
    points: float
    share: float | None  # of all points
    staff: int  # scored staff it contributes to


@dataclass(frozen=True)
class RiskyStaff:
    pseudonym: str
    score: float
    level: str
    categories: tuple[str, ...]
    alerts: int


@dataclass(frozen=True)
class IntegrityTotals:
    alerts: int
    suppressed: int
    staff_alerted: int
    cases_opened: int
    cases_closed: int
    substantiated: int
    open_at_end: int
    verdicts: int
    precision: float | None
    close_median_hours: float | None


@dataclass(frozen=True)
class IntegrityReport:
    period: Period
    previous_period: Period
    generated_at: datetime
    generated_by: str
    has_events: bool  # False: no event store yet, so no alerts, verdicts or risk
    totals: IntegrityTotals
    previous: IntegrityTotals
    alerts_by_family: tuple[FamilyAlerts, ...]
    alerts_by_severity: tuple[Count, ...]
    daily_alerts: tuple[tuple[date, int], ...]
    cases_by_category: tuple[Count, ...]  # opened in the period
    outcomes: tuple[Count, ...]  # closed in the period
    time_to_close: Durations
    precision: tuple[Precision, ...]
    precision_total: Precision
    drivers: tuple[Driver, ...]  # scenario families, most points first
    modifiers: tuple[Driver, ...]  # context modifiers
    levels: tuple[Count, ...]  # scored staff per level
    scored_staff: int
    top_staff: tuple[RiskyStaff, ...]
    highlights: tuple[Highlight, ...] = field(default=())

    @property
    def changes(self) -> tuple[Change, ...]:
        now, before = self.totals, self.previous
        return tuple(
            Change(name, getattr(now, key), getattr(before, key), kind)
            for name, key, kind in (
                ("Alerts raised", "alerts", "count"),
                ("Alerts muted by feedback", "suppressed", "count"),
                ("Staff alerted", "staff_alerted", "count"),
                ("Cases opened", "cases_opened", "count"),
                ("Cases closed", "cases_closed", "count"),
                ("Closed substantiated", "substantiated", "count"),
                ("Cases open at the end", "open_at_end", "count"),
                ("Verdicts given", "verdicts", "count"),
                ("Detection precision", "precision", "share"),
                ("Median time to close a case", "close_median_hours", "hours"),
            )
        )


def build(
    principal: Principal,
    store: CaseStore,
    events: EventStore | None,
    period: Period,
    pseudonyms: Pseudonyms,
    *,
    now: datetime | None = None,
    risk: RiskConfig | None = None,
) -> IntegrityReport:
    """The report for ``period`` (needs ``alert.read`` and ``case.read``; aggregate and
    pseudonymous, so not an audited read). ``events`` may be None before anything was
    ingested: the case figures still stand."""
    principal.require(Permission.alert_read)
    principal.require(Permission.case_read)
    before = period.previous()
    with store.read() as session:
        cases = _cases(session, principal, before.start_at, period.end_at)
        case_verdicts = _case_verdicts(session, period.end_at)
    now_alerts = _alerts(events, period)
    verdicts = _verdicts(events, case_verdicts, period.end_at)
    current = _Figures(period, cases, now_alerts, verdicts)
    earlier = _Figures(before, cases, _alerts(events, before), verdicts)
    by_family = current.precision()
    drivers, modifiers, levels, scored, top = _risk(events, period, pseudonyms, risk)
    report = IntegrityReport(
        period=period,
        previous_period=before,
        generated_at=now or utc_now_aware(),
        generated_by=principal.username,
        has_events=events is not None,
        totals=current.totals(),
        previous=earlier.totals(),
        alerts_by_family=current.families(),
        alerts_by_severity=breakdown((a["severity"] for a in now_alerts), SEVERITIES),
        daily_alerts=current.daily(),
        cases_by_category=breakdown(c.category or UNKNOWN for c in current.opened),
        outcomes=breakdown(
            (c.outcome or UNKNOWN for c in current.closed), [o.value for o in Outcome]
        ),
        time_to_close=current.time_to_close(),
        precision=by_family,
        precision_total=Precision(
            "all",
            sum(p.true_positives for p in by_family),
            sum(p.false_positives for p in by_family),
        ),
        drivers=drivers,
        modifiers=modifiers,
        levels=levels,
        scored_staff=scored,
        top_staff=top,
    )
    return replace(report, highlights=integrity_highlights(report))


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Case:
    category: str | None
    outcome: str | None
    created_at: datetime
    closed_at: datetime | None


def _cases(session: Session, principal: Principal, lo: datetime, hi: datetime) -> list[_Case]:
    """Visible cases opened before ``hi`` and not closed before ``lo``."""
    rows = session.execute(
        select(Case.category, Case.outcome, Case.created_at, Case.closed_at).where(
            visible(principal),
            Case.created_at < hi,
            (Case.closed_at.is_(None)) | (Case.closed_at >= lo),
        )
    ).all()
    return [_Case(c, o, aware(at), aware(closed) if closed else None) for c, o, at, closed in rows]


def _case_verdicts(session: Session, hi: datetime) -> list[tuple[str, str, str, datetime]]:
    """Closed cases' alert verdicts not yet synced to the event store: (alert, verdict,
    family, decided at = the case's closing)."""
    rows = session.execute(
        select(CaseAlert.alert_id, CaseAlert.verdict, CaseAlert.category, Case.closed_at)
        .join(Case, Case.id == CaseAlert.case_id)
        .where(
            CaseAlert.verdict.is_not(None),
            CaseAlert.synced_at.is_(None),
            Case.closed_at.is_not(None),
            Case.closed_at < hi,
        )
    ).all()
    return [(a, str(v), c, aware(at)) for a, v, c, at in rows if at is not None]


def _alerts(events: EventStore | None, period: Period) -> list[dict[str, Any]]:
    if events is None:
        return []
    rows = events.fetch_all(
        "SELECT alert_id, actor_id, category, severity, window_start, suppressed IS NOT NULL "
        "FROM alerts WHERE window_start >= ? AND window_start < ?",
        [naive_utc(period.start_at), naive_utc(period.end_at)],
    )
    seen: dict[str, dict[str, Any]] = {}
    for alert_id, actor, category, severity, start, muted in rows:
        # Several rows of one alert id are one finding (detection re-ran).
        seen.setdefault(
            str(alert_id),
            {
                "actor": str(actor),
                "family": str(category),
                "severity": str(severity),
                "day": start.date(),
                "suppressed": bool(muted),
            },
        )
    return list(seen.values())


def _verdicts(
    events: EventStore | None,
    from_cases: Iterable[tuple[str, str, str, datetime]],
    hi: datetime,
) -> list[tuple[str, str, datetime]]:
    """Each judged alert's latest verdict before ``hi``: (verdict, family, decided at)."""
    latest: dict[str, tuple[datetime, str, str]] = {}

    def offer(alert_id: str, verdict: str, family: str, at: datetime) -> None:
        if at < hi and (alert_id not in latest or at >= latest[alert_id][0]):
            latest[alert_id] = (at, verdict, family)

    if events is not None:
        rows = events.fetch_all(
            """
            SELECT v.alert_id, v.verdict, coalesce(a.category, ?), v.decided_at
            FROM alert_verdicts v
            LEFT JOIN (SELECT alert_id, any_value(category) AS category FROM alerts
                       GROUP BY alert_id) a ON a.alert_id = v.alert_id
            WHERE v.decided_at < ?
            """,
            [UNKNOWN, naive_utc(hi)],
        )
        for alert_id, verdict, family, at in rows:
            offer(str(alert_id), str(verdict), str(family), aware(at))
    for alert_id, verdict, family, at in from_cases:
        offer(alert_id, verdict, family, at)
    return [(verdict, family, at) for at, verdict, family in latest.values()]


class _Figures:
    """One period's figures from rows read once for both periods."""

    def __init__(
        self,
        period: Period,
        cases: Sequence[_Case],
        alerts: Sequence[dict[str, Any]],
        verdicts: Sequence[tuple[str, str, datetime]],
    ) -> None:
        self.period = period
        start, end = period.start_at, period.end_at
        self.opened = [c for c in cases if start <= c.created_at < end]
        self.closed = [c for c in cases if c.closed_at is not None and start <= c.closed_at < end]
        self.open_at_end = [
            c for c in cases if c.created_at < end and (c.closed_at is None or c.closed_at >= end)
        ]
        self.alerts = alerts
        self.verdicts = [(v, f) for v, f, at in verdicts if start <= at < end]

    def families(self) -> tuple[FamilyAlerts, ...]:
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for a in self.alerts:
            grouped[a["family"]].append(a)
        order = [f for f in SCENARIOS if f in grouped] + sorted(set(grouped) - set(SCENARIOS))
        return tuple(
            FamilyAlerts(
                family,
                len(grouped[family]),
                sum(1 for a in grouped[family] if a["suppressed"]),
                sum(1 for a in grouped[family] if a["severity"] in ("high", "critical")),
                len({a["actor"] for a in grouped[family]}),
            )
            for family in order
        )

    def daily(self) -> tuple[tuple[date, int], ...]:
        per_day = Counter(a["day"] for a in self.alerts)
        return tuple((day, per_day.get(day, 0)) for day in self.period.days)

    def time_to_close(self) -> Durations:
        return Durations.of(
            hours((c.closed_at - c.created_at).total_seconds())
            for c in self.closed
            if c.closed_at is not None
        )

    def precision(self) -> tuple[Precision, ...]:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for verdict, family in self.verdicts:
            counts[family][verdict] += 1
        order = [f for f in SCENARIOS if f in counts] + sorted(set(counts) - set(SCENARIOS))
        return tuple(
            Precision(f, counts[f]["true_positive"], counts[f]["false_positive"]) for f in order
        )

    def totals(self) -> IntegrityTotals:
        judged = self.precision()
        true = sum(p.true_positives for p in judged)
        given = sum(p.verdicts for p in judged)
        return IntegrityTotals(
            alerts=len(self.alerts),
            suppressed=sum(1 for a in self.alerts if a["suppressed"]),
            staff_alerted=len({a["actor"] for a in self.alerts}),
            cases_opened=len(self.opened),
            cases_closed=len(self.closed),
            substantiated=sum(1 for c in self.closed if c.outcome == Outcome.substantiated),
            open_at_end=len(self.open_at_end),
            verdicts=given,
            precision=share(true, given),
            close_median_hours=self.time_to_close().median_hours,
        )


def _risk(
    events: EventStore | None,
    period: Period,
    pseudonyms: Pseudonyms,
    config: RiskConfig | None,
) -> tuple[tuple[Driver, ...], tuple[Driver, ...], tuple[Count, ...], int, tuple[RiskyStaff, ...]]:
    """``custodes risk`` as of the period's end, summed by family and modifier."""
    if events is None:
        return (), (), breakdown((), list(Level)), 0, ()
    as_of = naive_utc(period.end_at)
    ranked = score_actors(load_alerts(events), contexts(events), as_of, config or RiskConfig())
    points: dict[tuple[str, str], float] = defaultdict(float)
    staff: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in ranked:
        for c in r.contributions:
            key = ("family", c.category or UNKNOWN) if c.kind == "alert" else ("modifier", c.name)
            points[key] += c.value
            if c.value > 0:
                staff[key].add(r.actor_id)
    total = sum(points.values())

    def drivers(kind: str) -> tuple[Driver, ...]:
        mine = sorted(
            ((name, p) for (k, name), p in points.items() if k == kind and p > 0),
            key=lambda kv: (-kv[1], kv[0]),
        )
        return tuple(
            Driver(name, round(p, 2), share(p, total), len(staff[(kind, name)])) for name, p in mine
        )

    top = tuple(
        RiskyStaff(
            pseudonym=pseudonyms.of(r.actor_id),
            score=round(r.risk_score, 1),
            level=r.level.value,
            categories=r.categories[:3],
            alerts=sum(1 for c in r.contributions if c.kind == "alert"),
        )
        for r in ranked[:TOP_STAFF]
    )
    levels = breakdown((r.level.value for r in ranked), [lv.value for lv in reversed(Level)])
    return drivers("family"), drivers("modifier"), levels, len(ranked), top
