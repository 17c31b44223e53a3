"""Alerts from detection, with subjects as pseudonyms."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from custodes.detect.alert import Severity
from custodes.detect.feedback import Verdict
from custodes.web.schemas.common import UtcDatetime


class AlertPublic(BaseModel):
    alert_id: str
    subject: str = Field(description="The subject's pseudonym.")
    actor_id: str | None = Field(
        default=None, description="The real actor id, only while you have it unmasked."
    )
    detector: str
    category: str
    pattern: str
    severity: Severity
    score: float
    window_start: UtcDatetime
    window_end: UtcDatetime
    reasons: list[str]
    evidence_event_ids: list[str]
    suppressed: bool


class VerdictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Verdict
    reason: str = Field(min_length=1, max_length=10_000, pattern=r"\S")


class VerdictOut(BaseModel):
    alert_id: str
    verdict: Verdict
    reason: str
    analyst: str
    decided_at: UtcDatetime
    subject: str
