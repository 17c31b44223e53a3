"""Recalibrating alert thresholds from analyst verdicts — proposed, shown, applied on purpose.

Why per pattern and a minimum score: every detector already ranks its findings by score, and
what verdicts reveal is where along that score a pattern stops being worth an analyst's time.
A threshold is the least surprising knob: it never reorders findings and can be undone.

The rule, per pattern (a baselines signal, a rule id, ...), over each alert's latest verdict:

* at least ``MIN_VERDICTS`` verdicts and ``MIN_FALSE_POSITIVES`` false positives, or nothing is
  proposed (too little evidence to move a threshold);
* with true positives: the threshold is the lowest true-positive score, so **no judged true
  positive is ever lost**; proposed only if it removes at least one false positive or lowers a
  threshold that had hidden a true positive;
* with no true positive at all: just above the highest false positive (the pattern has only
  ever wasted time), shown as such.

Nothing changes until ``apply`` writes a new version (who, when, why); ``revert`` writes a
newer version equal to an older one, so the history is append-only. Detection and verdicts
re-apply the latest version (``feedback.apply_feedback``), marking — not deleting — alerts
below their pattern's threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from custodes.clock import utc_now
from custodes.detect.feedback import apply_feedback
from custodes.errors import InputError
from custodes.store.events import EventStore

MIN_VERDICTS: Final = 5
MIN_FALSE_POSITIVES: Final = 2


@dataclass(frozen=True)
class Proposal:
    pattern: str
    current: float | None
    proposed: float
    true_positives: int
    false_positives: int
    false_positives_removed: int
    why: str


@dataclass(frozen=True)
class CalibrationVersion:
    version: int
    created_at: datetime
    analyst: str
    reason: str
    thresholds: dict[str, float]


def current_thresholds(store: EventStore) -> dict[str, float]:
    rows = store.fetch_all(
        "SELECT pattern, min_score FROM calibrations "
        "WHERE version = (SELECT max(version) FROM calibrations) AND min_score IS NOT NULL"
    )
    return {r[0]: float(r[1]) for r in rows}


def propose(store: EventStore) -> list[Proposal]:
    """What the verdicts so far suggest; changes nothing."""
    current = current_thresholds(store)
    rows = store.fetch_all(
        """
        WITH latest AS (
            SELECT * FROM alert_verdicts WHERE pattern IS NOT NULL AND score IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY alert_id ORDER BY decided_at DESC) = 1
        )
        SELECT pattern,
               list(score) FILTER (verdict = 'true_positive') AS tps,
               list(score) FILTER (verdict = 'false_positive') AS fps
        FROM latest GROUP BY pattern ORDER BY pattern
        """
    )
    proposals = []
    for pattern, tps_raw, fps_raw in rows:
        tps = [float(x) for x in tps_raw or []]
        fps = [float(x) for x in fps_raw or []]
        proposal = _propose_one(pattern, tps, fps, current.get(pattern))
        if proposal is not None:
            proposals.append(proposal)
    return proposals


def _propose_one(
    pattern: str, tps: list[float], fps: list[float], current: float | None
) -> Proposal | None:
    if len(tps) + len(fps) < MIN_VERDICTS or len(fps) < MIN_FALSE_POSITIVES:
        return None
    if tps:
        threshold = min(tps)
        why = f"lowest true-positive score; keeps all {len(tps)} true positives"
    else:
        threshold = min(1.0, math.nextafter(max(fps), math.inf))
        why = f"no true positive among {len(fps)} judged alerts; just above the highest"
    removed = sum(1 for x in fps if x < threshold)
    lowers = current is not None and threshold < current
    if current is not None and math.isclose(threshold, current):
        return None
    if removed == 0 and not lowers:
        return None
    return Proposal(pattern, current, threshold, len(tps), len(fps), removed, why)


def apply(
    store: EventStore, proposals: list[Proposal], analyst: str, reason: str
) -> CalibrationVersion:
    """Write the proposals as a new version on top of the current thresholds."""
    if not proposals:
        raise InputError("nothing to calibrate: no proposal from the verdicts so far")
    thresholds = current_thresholds(store) | {p.pattern: p.proposed for p in proposals}
    counts = {p.pattern: (p.true_positives, p.false_positives) for p in proposals}
    return _write(store, thresholds, counts, analyst, reason)


def revert(store: EventStore, version: int, analyst: str, reason: str) -> CalibrationVersion:
    """A new version with the thresholds of ``version`` (0 = none at all)."""
    if version == 0:
        return _write(store, {}, {}, analyst, reason)
    rows = store.fetch_all(
        "SELECT pattern, min_score FROM calibrations WHERE version = ? AND min_score IS NOT NULL",
        [version],
    )
    exists = store.fetch_value("SELECT count(*) FROM calibrations WHERE version = ?", [version])
    if not exists:
        raise InputError(f"no calibration version {version}; see `custodes calibrate --history`")
    return _write(store, {r[0]: float(r[1]) for r in rows}, {}, analyst, reason)


def history(store: EventStore) -> list[CalibrationVersion]:
    rows = store.fetch_all(
        """
        SELECT version, any_value(created_at), any_value(analyst), any_value(reason),
               list(pattern ORDER BY pattern) FILTER (min_score IS NOT NULL),
               list(min_score ORDER BY pattern) FILTER (min_score IS NOT NULL)
        FROM calibrations GROUP BY version ORDER BY version
        """
    )
    return [
        CalibrationVersion(
            r[0], r[1], r[2], r[3], dict(zip(r[4] or [], map(float, r[5] or []), strict=True))
        )
        for r in rows
    ]


def _write(
    store: EventStore,
    thresholds: dict[str, float],
    counts: dict[str, tuple[int, int]],
    analyst: str,
    reason: str,
) -> CalibrationVersion:
    if not reason.strip():
        raise InputError("a calibration needs a reason (--reason)", field="reason")
    if not analyst.strip():
        raise InputError("a calibration needs the analyst's name (--analyst)", field="analyst")
    now = utc_now()
    with store.transaction():
        version = int(store.fetch_value("SELECT coalesce(max(version), 0) + 1 FROM calibrations"))
        # A version with no thresholds still gets one row, so that it exists in the history.
        rows = [
            (version, now, analyst, reason, p, t, *counts.get(p, (None, None)))
            for p, t in sorted(thresholds.items())
        ] or [(version, now, analyst, reason, None, None, None, None)]
        for row in rows:
            store.execute("INSERT INTO calibrations VALUES (?, ?, ?, ?, ?, ?, ?, ?)", list(row))
        apply_feedback(store)
    return CalibrationVersion(version, now, analyst, reason, dict(sorted(thresholds.items())))
