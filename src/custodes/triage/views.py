"""What the escalation service hands back: frozen views, the same for the API and the CLI.

``band`` is the effective band (an analyst's override when there is one); ``engine`` keeps
the rating engine's own band, score and clock beside it, so an override never hides what
the engine said.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class EscalationStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    actioned = "actioned"
    resolved = "resolved"


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class FactorView(_View):
    name: str
    input: str
    contribution: float


class EngineRating(_View):
    """The engine's rating as rated, whatever an analyst decided."""

    band: str
    score: float
    sla_due_at: datetime
    policy_version: str


class OverrideView(_View):
    band: str
    engine_band: str
    reason: str
    analyst: str
    at: datetime


class RevisionView(_View):
    seq: int
    at: datetime
    actor: str
    kind: str  # intake | update | rating | override
    reason: str
    changes: dict[str, Any]


class EscalationSummary(_View):
    """One row of the queue."""

    id: int
    escalation_id: str
    received_at: datetime
    source: str
    title: str
    band: str  # effective: the override's, else the engine's
    score: float
    category: str
    route: str
    fast_lane: str | None
    flags: list[str]
    language: str
    sla_due_at: datetime
    time_to_breach_seconds: float  # negative once breached
    overridden: bool
    status: EscalationStatus
    case_id: int | None
    updated_at: datetime
    version: int


class EscalationDetail(EscalationSummary):
    """An escalation in full: its input, its rating with the factors, and its history."""

    body: str
    reported_language: str | None
    reported_category: str | None
    subject_ids: list[str]
    reach: int | None
    jurisdiction: str | None
    requester: str | None
    deadline: datetime | None
    attrs: dict[str, Any]
    factors: list[FactorView]
    clocks: dict[str, datetime]
    engine: EngineRating
    override: OverrideView | None
    created_at: datetime
    revisions: list[RevisionView]
