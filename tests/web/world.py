"""A small real world for API tests: events and alerts in DuckDB, cases in the case store.

Actor ids look like nothing else in a response ("staff-<name>-7391"), so a test can search
every response body for them to prove that only pseudonyms come out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from custodes.detect.alert import Alert, Severity
from custodes.store.events import EventStore

DAY0 = datetime(2026, 3, 2)
ACTORS = ("staff-mallory-7391", "staff-trudy-7392", "staff-walter-7393")


def add_events(data_dir: Path, actor: str, day: int, count: int = 3) -> list[str]:
    ids = []
    with EventStore.open(data_dir) as store:
        for i in range(count):
            event_id = f"ev-{actor[-4:]}-{day}-{i}"
            store.execute(
                "INSERT INTO events (event_id, ts, actor_id, action, target_type, target_id) "
                "VALUES (?, ?, ?, 'view_profile', 'account', ?)",
                [event_id, DAY0 + timedelta(days=day, hours=i + 1), actor, f"acct-{i}"],
            )
            ids.append(event_id)
    return ids


def add_alert(
    data_dir: Path, actor: str, day: int, *, other: str | None = None, score: float = 0.8
) -> Alert:
    """An alert whose reasons name ``actor`` (and ``other``), as real detectors' do."""
    start = DAY0 + timedelta(days=day)
    reasons = [f"{actor} viewed 40 private profiles without a ticket"]
    if other:
        reasons.append(f"device d-1 is also used by {other}")
    alert = Alert(
        actor_id=actor,
        detector="baselines",
        category="unjustified_access",
        severity=Severity.high,
        score=score,
        window_start=start,
        window_end=start + timedelta(days=1),
        reasons=tuple(reasons),
        evidence_event_ids=(),
    )
    with EventStore.open(data_dir) as store:
        store.execute(
            "INSERT INTO alerts (alert_id, actor_id, detector, category, severity, score, "
            "window_start, window_end, reasons, evidence_event_ids, pattern, detect_run) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            [
                alert.alert_id,
                alert.actor_id,
                alert.detector,
                alert.category,
                str(alert.severity),
                alert.score,
                alert.window_start,
                alert.window_end,
                list(alert.reasons),
                [],
                alert.pattern,
            ],
        )
    return alert


def add_people(data_dir: Path, actors: tuple[str, ...] = ACTORS) -> None:
    with EventStore.open(data_dir) as store:
        for actor in actors:
            store.execute("INSERT INTO people (actor_id) VALUES (?)", [actor])
