"""What the escalation service hands back: frozen views, the same for the API and the CLI.

``band`` is the effective band (an analyst's override when there is one); ``engine`` keeps
the rating engine's own band, score and clock beside it, so an override never hides what
the engine said. ``case_id`` and ``integrity_case`` are filled only for a caller who may
see that integrity case (need-to-know); ``staff_involved`` is shown to every reader.
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


class Resolution(StrEnum):
    """How an escalation ended: a fixed vocabulary, so reports can count mitigations."""

    content_removed = "content_removed"
    content_restricted = "content_restricted"
    account_actioned = "account_actioned"
    referred_to_law_enforcement = "referred_to_law_enforcement"
    information_provided = "information_provided"  # answered a regulator, police, press
    no_action = "no_action"
    duplicate = "duplicate"


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
    kind: str  # intake | update | rating | override | status
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
    staff_involved: bool  # a subject is a staff member: integrity's business too
    case_id: int | None  # the linked integrity case, only for those who may see it
    updated_at: datetime
    version: int


class StepView(_View):
    """One lifecycle step taken: by whom, when, and what they noted."""

    by: str
    at: datetime
    note: str | None = None


class ResolvedView(StepView):
    resolution: Resolution


class BreachView(_View):
    """A clock that had run out when its step was taken, and the rule that set it."""

    clock: str
    step: str
    due_at: datetime
    met_at: datetime
    overdue_seconds: float
    cause: str
    actor: str


class IntegrityCaseView(_View):
    """The integrity case linked (while open) to a staff subject; only for who may see it."""

    id: int
    title: str
    status: str


class AttachmentView(_View):
    id: int
    filename: str
    sha256: str
    size: int
    content_type: str
    added_at: datetime
    added_by: str


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
    acknowledged: StepView | None
    actioned: StepView | None
    resolved: ResolvedView | None
    breaches: list[BreachView]
    integrity_case: IntegrityCaseView | None
