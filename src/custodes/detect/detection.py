"""One detection run: features, every chosen detector, then alerts and scores written in one
transaction, so readers never see half a run.

Incremental runs (``since``) recompute features and findings from that day on and replace
only that part of the previous results; earlier history is still what baselines compare to.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, time

import pyarrow as pa

from custodes.clock import utc_now
from custodes.detect.alert import Alert
from custodes.detect.detector import DetectContext, Findings, create
from custodes.detect.engine.base import Engine
from custodes.detect.ensemble import build_ensemble, prioritise_alerts
from custodes.detect.feedback import apply_feedback
from custodes.detect.sightings import shared_sightings
from custodes.store.events import EventStore

Progress = Callable[[str], None]


@dataclass
class DetectReport:
    detect_run: int
    since: date | None
    feature_rows: int = 0
    alerts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    suppressed: int = 0  # alerts muted by analyst feedback (never deleted)


def run_detection(
    store: EventStore,
    *,
    since: date | None = None,
    as_of: datetime | None = None,
    detectors: list[str] | None = None,
    progress: Progress | None = None,
    engine: Engine | None = None,
) -> DetectReport:
    """``engine`` computes the features (default: the store's DuckDB; see
    ``detect.engine`` for Spark); detectors always run on the store."""
    from custodes.detect.features import build_features

    say = progress or (lambda _msg: None)
    chosen = create(detectors)
    run = int(store.fetch_value("SELECT coalesce(max(detect_run), 0) + 1 FROM detect_runs"))
    started = utc_now()
    store.execute(
        "INSERT INTO detect_runs (detect_run, started_at, since, status) "
        "VALUES (?, ?, ?, 'running')",
        [run, started, since],
    )
    report = DetectReport(run, since)
    end = as_of or _last_event(store) or started
    try:
        with ExitStack() as scope:
            say("features")
            clock = utc_now()
            # First sightings over all history, read by features and sequences: computed
            # once (and timed with the features), when the run sees every event (no
            # ``as_of`` cutting history short).
            sightings = None if as_of else scope.enter_context(shared_sightings(store))
            report.feature_rows = build_features(store, since, engine, sightings)
            report.seconds["features"] = (utc_now() - clock).total_seconds()
            context = DetectContext(store, end, since, sightings)
            results: list[tuple[str, Findings]] = []
            for detector in chosen:
                say(detector.name)
                clock = utc_now()
                results.append((detector.name, detector.run(context)))
                report.seconds[detector.name] = (utc_now() - clock).total_seconds()
        with store.transaction():
            for name, findings in results:
                _replace(store, name, findings, since, run)
                report.alerts[name] = len(findings.alerts)
            build_ensemble(store, since, run)
            prioritise_alerts(store, since)
            report.suppressed = apply_feedback(store)  # on the scores analysts see
            store.execute(
                "UPDATE detect_runs SET finished_at = ?, status = 'completed', feature_rows = ?, "
                "alerts = ? WHERE detect_run = ?",
                [utc_now(), report.feature_rows, sum(report.alerts.values()), run],
            )
    except BaseException as exc:
        store.execute(
            "UPDATE detect_runs SET finished_at = ?, status = 'failed', error = ? "
            "WHERE detect_run = ?",
            [utc_now(), repr(exc)[:2000], run],
        )
        raise
    return report


def _last_event(store: EventStore) -> datetime | None:
    value = store.fetch_value("SELECT max(ts) FROM events")
    return value if isinstance(value, datetime) else None


def _replace(
    store: EventStore, detector: str, findings: Findings, since: date | None, run: int
) -> None:
    start = datetime.combine(since, time.min) if since else None
    if start is None:
        store.execute("DELETE FROM alerts WHERE detector = ?", [detector])
        store.execute("DELETE FROM actor_day_scores WHERE detector = ?", [detector])
    else:
        store.execute(
            "DELETE FROM alerts WHERE detector = ? AND window_start >= ?", [detector, start]
        )
        store.execute(
            "DELETE FROM actor_day_scores WHERE detector = ? AND day >= ?", [detector, since]
        )
    if findings.alerts:
        table = _alerts_table(findings.alerts)
        store.register("new_alerts", table)
        try:
            # An alert found again (same id) replaces the old copy.
            store.execute("DELETE FROM alerts WHERE alert_id IN (SELECT alert_id FROM new_alerts)")
            store.execute(
                f"INSERT INTO alerts ({', '.join(_ALERT_COLUMNS)}, detect_run, detector_score) "
                f"SELECT {', '.join(_ALERT_COLUMNS)}, {run}, score FROM new_alerts"
            )
        finally:
            store.unregister("new_alerts")
    if findings.scores.num_rows:
        store.register("new_scores", findings.scores)
        try:
            store.execute(
                "INSERT INTO actor_day_scores SELECT actor_id, day, ?, score, ? FROM new_scores",
                [detector, run],
            )
        finally:
            store.unregister("new_scores")


def _alerts_table(alerts: list[Alert]) -> pa.Table:
    return pa.table(
        {
            "alert_id": [a.alert_id for a in alerts],
            "actor_id": [a.actor_id for a in alerts],
            "detector": [a.detector for a in alerts],
            "category": [a.category for a in alerts],
            "severity": [str(a.severity) for a in alerts],
            "score": pa.array([a.score for a in alerts], pa.float64()),
            "window_start": pa.array([a.window_start for a in alerts], pa.timestamp("us")),
            "window_end": pa.array([a.window_end for a in alerts], pa.timestamp("us")),
            "reasons": pa.array([list(a.reasons) for a in alerts], pa.list_(pa.string())),
            "evidence_event_ids": pa.array(
                [list(a.evidence_event_ids) for a in alerts], pa.list_(pa.string())
            ),
            "pattern": [a.pattern for a in alerts],
        }
    )


_ALERT_COLUMNS = (
    "alert_id",
    "actor_id",
    "detector",
    "category",
    "severity",
    "score",
    "window_start",
    "window_end",
    "reasons",
    "evidence_event_ids",
    "pattern",
)
