"""A graph finding (one actor, one pattern, one window), its evidence, and how findings
become alerts and actor-day scores.

The same scheme is seen by up to four overlapping windows; consecutive windows that flag the
same actor for the same pattern become one alert (the strongest window's reasons, the union
of their evidence), so an analyst gets one case per scheme rather than one per week.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final

import pyarrow as pa

from custodes.detect.alert import Alert, Severity
from custodes.detect.detector import SCORE_SCHEMA
from custodes.detect.detectors.graphs.frame import Frame
from custodes.store.events import EventStore

DETECTOR: Final = "graphs"
ALERT_SCORE: Final = 0.5
# Sub-threshold findings still rank their days, but noise below this is not worth a row.
MIN_DAY_SCORE: Final = 0.05
EVIDENCE_PER_ALERT: Final = 25
_WANTED: Final = "graphs_wanted"


@dataclass
class Finding:
    actor_id: str
    category: str  # scenario family
    pattern: str  # e.g. "benefit_concentration"
    window: int  # Frame window index (0 = newest)
    evidence: float  # nats
    score: float  # 0..1
    reasons: list[str]
    # (counterpart, kind) pairs whose events make the evidence; the pattern's lookup SQL
    # reads them.
    edges: list[tuple[str, str]] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None
    days: set[date] = field(default_factory=set)


def attach_evidence(
    store: EventStore, frame: Frame, findings: list[Finding], lookup_sql: str
) -> None:
    """Fill each finding's events, time span and local active days in one query.

    ``lookup_sql`` selects (fid, event_id, ts, day) from the registered table
    ``graphs_wanted`` (fid, actor_id, counterpart, kind, lo, hi).
    """
    rows: dict[str, list[object]] = {k: [] for k in ("fid", "actor_id", "counterpart", "kind")}
    los: list[datetime] = []
    his: list[datetime] = []
    for fid, finding in enumerate(findings):
        lo, hi = frame.window_range(finding.window)
        for counterpart, kind in finding.edges:
            rows["fid"].append(fid)
            rows["actor_id"].append(finding.actor_id)
            rows["counterpart"].append(counterpart)
            rows["kind"].append(kind)
            los.append(lo)
            his.append(hi)
    if not los:
        return
    table = pa.table(
        {
            "fid": pa.array(rows["fid"], pa.int64()),
            "actor_id": pa.array(rows["actor_id"], pa.string()),
            "counterpart": pa.array(rows["counterpart"], pa.string()),
            "kind": pa.array(rows["kind"], pa.string()),
            "lo": pa.array(los, pa.timestamp("us")),
            "hi": pa.array(his, pa.timestamp("us")),
        }
    )
    store.register(_WANTED, table)
    try:
        found = store.fetch_all(
            f"SELECT DISTINCT fid, event_id, ts, day FROM ({lookup_sql}) ORDER BY fid, ts, event_id"
        )
    finally:
        store.unregister(_WANTED)
    for fid, event_id, ts, day in found:
        finding = findings[fid]
        finding.event_ids.append(event_id)
        finding.first = ts if finding.first is None else min(finding.first, ts)
        finding.last = ts if finding.last is None else max(finding.last, ts)
        finding.days.add(day)


def local_day(ts: str = "e.ts", tz: str = "p.timezone") -> str:
    """The actor's local date of an event (a few rows only: the findings' evidence)."""
    return f"CAST(timezone(coalesce({tz}, 'UTC'), CAST({ts} AS TIMESTAMPTZ)) AS DATE)"


def to_alerts(findings: Iterable[Finding], frame: Frame) -> list[Alert]:
    """One alert per actor, pattern and run of consecutive flagged windows."""
    flagged: dict[tuple[str, str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        if f.score >= ALERT_SCORE and f.first is not None and any(map(frame.keeps, f.days)):
            flagged[(f.actor_id, f.category, f.pattern)].append(f)
    alerts = []
    for key in sorted(flagged):
        run: list[Finding] = []
        for f in sorted(flagged[key], key=lambda f: -f.window):  # oldest window first
            if run and run[-1].window - f.window > 1:
                alerts.append(_alert(run))
                run = []
            run.append(f)
        alerts.append(_alert(run))
    return alerts


def to_scores(findings: Iterable[Finding], frame: Frame) -> pa.Table:
    """Each active day of a finding gets its score; a day keeps its strongest finding."""
    best: dict[tuple[str, date], float] = {}
    for f in findings:
        if f.score < MIN_DAY_SCORE:
            continue
        for day in f.days:
            if frame.keeps(day):
                key = (f.actor_id, day)
                best[key] = max(best.get(key, 0.0), f.score)
    keys = sorted(best)
    return pa.table(
        {
            "actor_id": pa.array([k[0] for k in keys], pa.string()),
            "day": pa.array([k[1] for k in keys], pa.date32()),
            "score": pa.array([best[k] for k in keys], pa.float64()),
        },
        schema=SCORE_SCHEMA,
    )


def severity(score: float) -> Severity:
    if score >= 0.97:
        return Severity.critical
    if score >= 0.9:
        return Severity.high
    if score >= 0.7:
        return Severity.medium
    return Severity.low


def _alert(run: list[Finding]) -> Alert:
    best = max(run, key=lambda f: (f.score, -f.window))
    reasons = list(best.reasons)
    windows = len({f.window for f in run})
    if windows > 1:
        reasons.append(f"flagged in {windows} consecutive weekly windows of 28 days")
    first = min(f.first for f in run if f.first is not None)
    last = max(f.last for f in run if f.last is not None)
    # The id ignores window_end: as a scheme goes on, re-runs replace the alert.
    key = "|".join((DETECTOR, best.actor_id, best.category, best.pattern, first.isoformat()))
    return Alert(
        actor_id=best.actor_id,
        detector=DETECTOR,
        category=best.category,
        severity=severity(best.score),
        score=best.score,
        window_start=first,
        window_end=last + timedelta(seconds=1),
        reasons=tuple(reasons),
        evidence_event_ids=_sample(sorted({e for f in run for e in f.event_ids})),
        alert_id="a-" + hashlib.sha256(key.encode()).hexdigest()[:16],
        pattern=f"{DETECTOR}:{best.pattern}",
    )


def _sample(ids: list[str]) -> tuple[str, ...]:
    """At most EVIDENCE_PER_ALERT ids, evenly spread (ids sort in time for most sources)."""
    if len(ids) <= EVIDENCE_PER_ALERT:
        return tuple(ids)
    step = len(ids) / EVIDENCE_PER_ALERT
    return tuple(ids[int(i * step)] for i in range(EVIDENCE_PER_ALERT))
