"""Baselines: how unusual is today, for this person and for their peers?

For each signal (a feature with the scenario family it points to), an actor-day gets two
robust z-scores — against the actor's own previous 28 active days, and against the same
day's peers of the same role and site — from medians and interquartile ranges, which a few
extreme days cannot drag. The effective z is the *smaller* of the two when both exist: a
whole team's legitimate crisis-day burst is normal for the peers, a person's usual heavy
workload is normal for them, and only what is unusual both ways is flagged. Peers alone
judge only a genuine new hire (hired within the history window): at the start of the data
everybody lacks history, and a habitually heavy worker is not suspicious for being heavy.
Guards keep thin evidence quiet: at least 7 days of history, at least 5 peers, a minimum
raw value, and a scale floor so that a count going 0 → 1 is not infinitely surprising.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import pyarrow as pa

from custodes.detect.alert import Alert, Severity
from custodes.detect.detector import SCORE_SCHEMA, DetectContext, Findings, register
from custodes.store.events import EventStore


@dataclass(frozen=True)
class Signal:
    feature: str
    category: str
    what: str  # how a person reads the feature: "private-data views with no ticket"
    actions: tuple[str, ...]  # where the evidence is
    min_value: float = 1.0  # below this raw value, never alert
    min_scale: float = 1.0  # scale floor: 1 for counts, ~0.05 for shares


# Filled from the feature table's contract (detect/features.py).
SIGNALS: tuple[Signal, ...] = ()

HISTORY_DAYS = 28
MIN_HISTORY = 7
MIN_PEERS = 5
Z_ALERT = 4.0
EVIDENCE_PER_ALERT = 25


@register("baselines")
class Baselines:
    name = "baselines"

    def __init__(self, signals: tuple[Signal, ...] | None = None) -> None:
        self.signals = SIGNALS if signals is None else signals

    def run(self, context: DetectContext) -> Findings:
        store = context.store
        rows: list[tuple[str, object, str, float, float, float | None, float | None]] = []
        for signal in self.signals:
            rows.extend((*r[:2], signal.feature, *r[2:]) for r in _zscores(store, signal, context))
        by_signal = {s.feature: s for s in self.signals}
        day_score: dict[tuple[str, object], float] = defaultdict(float)
        hits = []
        for actor, day, feature, value, z, own_median, peer_median in rows:
            score = _squash(z)
            key = (actor, day)
            day_score[key] = max(day_score[key], score)
            signal = by_signal[feature]
            if z >= Z_ALERT and value >= signal.min_value:
                hits.append((actor, day, signal, value, z, score, own_median, peer_median))
        evidence = _evidence(store, [(h[0], h[1], h[2].actions) for h in hits])
        alerts = [
            _alert(
                actor,
                day,
                signal,
                value,
                z,
                score,
                own,
                peer,
                evidence.get((actor, day, signal.actions), ()),
            )
            for actor, day, signal, value, z, score, own, peer in hits
        ]
        scores = pa.table(
            {
                "actor_id": [k[0] for k in day_score],
                "day": pa.array([k[1] for k in day_score], pa.date32()),
                "score": pa.array(list(day_score.values()), pa.float64()),
            },
            schema=SCORE_SCHEMA,
        )
        return Findings(alerts, scores)


def _zscores(
    store: EventStore, signal: Signal, context: DetectContext
) -> list[tuple[str, object, float, float, float | None, float | None]]:
    since = "" if context.since is None else f"WHERE o.day >= DATE '{context.since.isoformat()}'"
    column = '"' + signal.feature.replace('"', '""') + '"'
    floor = float(signal.min_scale)
    sql = f"""
        WITH f AS (
            SELECT f.actor_id, f.day, CAST(f.{column} AS DOUBLE) AS x,
                   coalesce(p.role, '?') AS role, coalesce(p.site, '?') AS site,
                   coalesce(p.hire_date > f.day - INTERVAL {HISTORY_DAYS} DAYS, false) AS new_hire
            FROM features_actor_day f LEFT JOIN people p ON p.actor_id = f.actor_id
        ),
        own AS (
            SELECT actor_id, day, x, role, site, new_hire,
                count(*) OVER w AS n_hist,
                quantile_cont(x, 0.5) OVER w AS med,
                quantile_cont(x, 0.75) OVER w - quantile_cont(x, 0.25) OVER w AS iqr
            FROM f
            WINDOW w AS (PARTITION BY actor_id ORDER BY day
                RANGE BETWEEN INTERVAL {HISTORY_DAYS} DAYS PRECEDING AND INTERVAL 1 DAY PRECEDING)
        ),
        peer AS (
            SELECT day, role, site, count(*) AS n_peer, quantile_cont(x, 0.5) AS pmed,
                   quantile_cont(x, 0.75) - quantile_cont(x, 0.25) AS piqr
            FROM f GROUP BY day, role, site
        ),
        z AS (
            SELECT o.actor_id, o.day, o.x,
                CASE WHEN o.n_hist >= {MIN_HISTORY} THEN (o.x - o.med)
                    / greatest(o.iqr / 1.349, sqrt(abs(o.med)), {floor}) END AS z_own,
                CASE WHEN p.n_peer >= {MIN_PEERS}
                    AND (o.n_hist >= {MIN_HISTORY} OR o.new_hire) THEN (o.x - p.pmed)
                    / greatest(p.piqr / 1.349, sqrt(abs(p.pmed)), {floor}) END AS z_peer,
                CASE WHEN o.n_hist >= {MIN_HISTORY} THEN o.med END AS own_median,
                CASE WHEN p.n_peer >= {MIN_PEERS} THEN p.pmed END AS peer_median
            FROM own o JOIN peer p ON p.day = o.day AND p.role = o.role AND p.site = o.site
            {since}
        )
        SELECT actor_id, day, x,
               coalesce(least(z_own, z_peer), z_own, z_peer) AS z, own_median, peer_median
        FROM z WHERE coalesce(z_own, z_peer) IS NOT NULL AND x > 0
    """
    return [(r[0], r[1], float(r[2]), float(r[3]), r[4], r[5]) for r in store.fetch_all(sql)]


def _squash(z: float) -> float:
    """z → 0..1, about 0.5 at the alert threshold; monotone, so rankings are kept."""
    return 1.0 / (1.0 + math.exp(-(z - Z_ALERT)))


def _severity(z: float) -> Severity:
    if z >= 3 * Z_ALERT:
        return Severity.critical
    if z >= 2 * Z_ALERT:
        return Severity.high
    if z >= 1.5 * Z_ALERT:
        return Severity.medium
    return Severity.low


def _alert(
    actor: str,
    day: object,
    signal: Signal,
    value: float,
    z: float,
    score: float,
    own: float | None,
    peer: float | None,
    evidence: tuple[str, ...],
) -> Alert:
    start = datetime.combine(day, time.min)  # type: ignore[arg-type]
    typical = []
    if own is not None:
        typical.append(f"usually {own:g} for them")
    if peer is not None:
        typical.append(f"{peer:g} for peers that day")
    reason = f"{signal.what}: {value:g} ({', '.join(typical) or 'no baseline'}; z = {z:.1f})"
    return Alert(
        actor_id=actor,
        detector="baselines",
        category=signal.category,
        severity=_severity(z),
        score=score,
        window_start=start,
        window_end=start + timedelta(days=1),
        reasons=(reason,),
        evidence_event_ids=evidence,
    )


def _evidence(
    store: EventStore, wanted: list[tuple[str, object, tuple[str, ...]]]
) -> dict[tuple[str, object, tuple[str, ...]], tuple[str, ...]]:
    """The first events behind each hit, found in one query for all hits."""
    if not wanted:
        return {}
    table = pa.table(
        {
            "actor_id": [w[0] for w in wanted],
            "day": pa.array([w[1] for w in wanted], pa.date32()),
            "actions": [list(w[2]) for w in wanted],
        }
    )
    store.register("evidence_wanted", table)
    try:
        rows = store.fetch_all(
            f"""
            SELECT w.actor_id, w.day, w.actions,
                   list(e.event_id ORDER BY e.ts)[1:{EVIDENCE_PER_ALERT}]
            FROM evidence_wanted w
            LEFT JOIN people p ON p.actor_id = w.actor_id
            JOIN events e ON e.actor_id = w.actor_id
                AND list_contains(w.actions, e.action)
                AND e.ts >= CAST(w.day AS TIMESTAMP) - INTERVAL 1 DAY
                AND e.ts < CAST(w.day AS TIMESTAMP) + INTERVAL 2 DAY
                AND CAST(timezone(coalesce(p.timezone, 'UTC'), CAST(e.ts AS TIMESTAMPTZ)) AS DATE)
                    = w.day
            GROUP BY ALL
            """
        )
    finally:
        store.unregister("evidence_wanted")
    return {(r[0], r[1], tuple(r[2])): tuple(r[3]) for r in rows}
