"""Analyst feedback on alerts: verdicts, and muting what analysts have already judged.

An integrity team stops trusting a tool that shows them the same false positive every day, but
a tool that hides findings on its own is worse. So muting here is rule-bound and visible:

* A **verdict** (true or false positive, with a reason) is appended, never edited; the latest
  verdict on an alert is the one that counts. It keeps a copy of the alert's actor, pattern,
  score and window, because a later detection run may no longer raise that alert.
* **Repeat false positives.** When one actor has had ``REPEAT_FALSE_POSITIVES`` alerts of one
  pattern judged false positive, and none of that pattern judged true, their later alerts of
  that pattern (windows ending after the last false positive, for ``SUPPRESS_DAYS`` days) are
  suppressed. A single true-positive verdict for that actor and pattern lifts it.
* **Calibration** (``custodes calibrate``, see ``calibration.py``) sets a minimum score per
  pattern; alerts below it are suppressed with the calibration's version in the reason.

Suppressed alerts stay in the table with ``suppressed`` saying why; ``custodes alerts
--suppressed`` shows them, and risk scores leave them out. An alert that has a verdict of its
own is never suppressed: it has been looked at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from custodes.clock import utc_now
from custodes.errors import InputError
from custodes.store.events import EventStore

REPEAT_FALSE_POSITIVES: Final = 2
SUPPRESS_DAYS: Final = 90


class Verdict(StrEnum):
    true_positive = "true_positive"
    false_positive = "false_positive"


@dataclass(frozen=True)
class VerdictRecord:
    alert_id: str
    verdict: Verdict
    reason: str
    analyst: str
    decided_at: datetime
    actor_id: str
    pattern: str


def record_verdict(
    store: EventStore, alert_id: str, verdict: Verdict, reason: str, analyst: str
) -> VerdictRecord:
    """Append a verdict and re-apply muting, in one transaction."""
    return record_verdicts(store, [alert_id], verdict, reason, analyst)[0]


def record_verdicts(
    store: EventStore, alert_ids: Sequence[str], verdict: Verdict, reason: str, analyst: str
) -> list[VerdictRecord]:
    """One verdict (and reason) on several alerts — an analyst dismissing a batch from the
    queue — in one transaction with one re-application of muting: all of them or, if any
    alert is unknown, none."""
    if not reason.strip():
        raise InputError("a verdict needs a reason", field="reason")
    if not analyst.strip():
        raise InputError("a verdict needs the analyst's name", field="analyst")
    wanted = list(dict.fromkeys(alert_ids))
    if not wanted:
        raise InputError("name at least one alert", field="alert_id")
    marks = ", ".join("?" for _ in wanted)
    found = {
        r[0]: r[1:]
        for r in store.fetch_all(
            "SELECT alert_id, actor_id, pattern, score, window_end FROM alerts "
            f"WHERE alert_id IN ({marks})",
            wanted,
        )
    }
    for alert_id in wanted:
        if alert_id not in found:
            raise InputError(
                f"no alert {alert_id!r}; `custodes alerts` lists them", field="alert_id"
            )
    now = utc_now()
    with store.transaction():
        for alert_id in wanted:
            store.execute(
                "INSERT INTO alert_verdicts (alert_id, verdict, reason, analyst, decided_at, "
                "actor_id, pattern, score, window_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [alert_id, str(verdict), reason.strip(), analyst.strip(), now, *found[alert_id]],
            )
        apply_feedback(store)
    return [
        VerdictRecord(a, verdict, reason.strip(), analyst.strip(), now, found[a][0], found[a][1])
        for a in wanted
    ]


def verdicts(store: EventStore, alert_id: str | None = None) -> list[VerdictRecord]:
    """Every verdict, newest first (an alert's history when ``alert_id`` is given)."""
    where, params = ("WHERE alert_id = ?", [alert_id]) if alert_id else ("", [])
    rows = store.fetch_all(
        "SELECT alert_id, verdict, reason, analyst, decided_at, actor_id, pattern "
        f"FROM alert_verdicts {where} ORDER BY decided_at DESC, alert_id",
        params,
    )
    return [VerdictRecord(r[0], Verdict(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows]


# The latest verdict per alert; every rule below reads only these.
_LATEST: Final = """
    SELECT * FROM alert_verdicts
    QUALIFY row_number() OVER (PARTITION BY alert_id ORDER BY decided_at DESC) = 1
"""


def latest_verdicts(store: EventStore, alert_ids: Sequence[str]) -> dict[str, Verdict]:
    """The verdict that counts (the latest) for each of ``alert_ids`` that has one."""
    if not alert_ids:
        return {}
    marks = ", ".join("?" for _ in alert_ids)
    rows = store.fetch_all(
        f"SELECT alert_id, verdict FROM ({_LATEST}) WHERE alert_id IN ({marks})",
        list(alert_ids),
    )
    return {str(r[0]): Verdict(r[1]) for r in rows}


def apply_feedback(store: EventStore) -> int:
    """Recompute every alert's ``suppressed`` from verdicts and the current calibration;
    returns how many alerts are suppressed. Idempotent: run after detection, after a verdict
    and after a calibration."""
    store.execute(
        f"""
        UPDATE alerts SET suppressed = s.why
        FROM (
            WITH latest AS ({_LATEST}),
            repeat AS (
                SELECT actor_id, pattern, max(window_end) AS last_fp, count(*) AS fps,
                       arg_max(analyst, decided_at) AS analyst, max(decided_at) AS decided
                FROM latest WHERE verdict = 'false_positive'
                GROUP BY actor_id, pattern
                HAVING count(*) >= {REPEAT_FALSE_POSITIVES}
            ),
            cleared AS (
                SELECT DISTINCT actor_id, pattern FROM latest WHERE verdict = 'true_positive'
            ),
            calibration AS (
                SELECT * FROM calibrations
                WHERE version = (SELECT max(version) FROM calibrations)
                  AND min_score IS NOT NULL
            )
            SELECT a.alert_id,
                CASE
                    WHEN v.alert_id IS NOT NULL THEN NULL
                    WHEN r.actor_id IS NOT NULL AND c.actor_id IS NULL
                         AND a.window_end > r.last_fp
                         AND a.window_end <= r.last_fp + INTERVAL {SUPPRESS_DAYS} DAYS
                    THEN 'repeat false positive: ' || r.fps || ' earlier alerts of pattern '
                         || a.pattern || ' for this actor were judged false positives (last by '
                         || r.analyst || ' on ' || strftime(r.decided, '%Y-%m-%d') || ')'
                    WHEN k.pattern IS NOT NULL AND a.score < k.min_score
                    THEN 'below calibrated threshold ' || printf('%.3f', k.min_score)
                         || ' for pattern ' || a.pattern || ' (calibration v' || k.version
                         || ' by ' || k.analyst || ')'
                END AS why
            FROM alerts a
            LEFT JOIN latest v ON v.alert_id = a.alert_id
            LEFT JOIN repeat r ON r.actor_id = a.actor_id AND r.pattern = a.pattern
            LEFT JOIN cleared c ON c.actor_id = a.actor_id AND c.pattern = a.pattern
            LEFT JOIN calibration k ON k.pattern = a.pattern
        ) s
        WHERE alerts.alert_id = s.alert_id AND alerts.suppressed IS DISTINCT FROM s.why
        """
    )
    return int(store.fetch_value("SELECT count(*) FROM alerts WHERE suppressed IS NOT NULL"))


@dataclass(frozen=True)
class ImportedVerdict:
    """A verdict decided elsewhere (a closed case), with the copy of the alert it judged."""

    alert_id: str
    verdict: Verdict
    reason: str
    analyst: str
    decided_at: datetime
    actor_id: str
    pattern: str
    score: float
    window_end: datetime


def import_verdicts(store: EventStore, records: list[ImportedVerdict]) -> int:
    """Append verdicts from outside (case outcomes) and re-apply muting, in one transaction.
    A verdict already present (same alert, verdict and reason) is not added again, so a sync
    interrupted after this commit can simply be repeated. Returns how many were added."""
    added = 0
    with store.transaction():
        for r in records:
            if store.fetch_one(
                "SELECT 1 FROM alert_verdicts WHERE alert_id = ? AND verdict = ? AND reason = ?",
                [r.alert_id, str(r.verdict), r.reason],
            ):
                continue
            store.execute(
                "INSERT INTO alert_verdicts (alert_id, verdict, reason, analyst, decided_at, "
                "actor_id, pattern, score, window_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    r.alert_id,
                    str(r.verdict),
                    r.reason,
                    r.analyst,
                    r.decided_at,
                    r.actor_id,
                    r.pattern,
                    r.score,
                    r.window_end,
                ],
            )
            added += 1
        if added:
            apply_feedback(store)
    return added
