"""An alert: one detector's finding about one staff member over one window.

Explainable by construction: every alert carries human-readable reasons (most important
first) and the ids of the events behind it, so an analyst can check it against evidence.
Field names are the data contract's (§2, `custodes alerts`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


@dataclass(frozen=True)
class Alert:
    actor_id: str
    detector: str
    category: str  # a scenario family (data contract §3)
    severity: Severity
    score: float  # 0..1, comparable across detectors
    window_start: datetime
    window_end: datetime
    reasons: tuple[str, ...]
    evidence_event_ids: tuple[str, ...] = ()
    alert_id: str = field(default="")
    # What kind of finding this is, finer than the category (a baselines signal, a rule id):
    # analyst feedback suppresses and calibrates by pattern. Not part of alert_id.
    pattern: str = ""

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"alert score must be within 0..1, got {self.score}")
        if not self.pattern:
            object.__setattr__(self, "pattern", f"{self.detector}:{self.category}")
        if not self.alert_id:
            # Stable across re-runs: the same finding keeps the same id, so verdicts stick.
            key = "|".join(
                (
                    self.detector,
                    self.actor_id,
                    self.category,
                    self.window_start.isoformat(),
                    self.window_end.isoformat(),
                )
            )
            object.__setattr__(
                self, "alert_id", "a-" + hashlib.sha256(key.encode()).hexdigest()[:16]
            )
