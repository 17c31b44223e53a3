"""Escalation bodies: the contract's intake record (§1.6), an override, the status moves,
and the service's views (``custodes.triage.views``).

``EscalationIn`` documents the intake body in the OpenAPI spec; the route itself reads the
raw body (to refuse oversized or non-UTF-8 bodies before parsing) and the service validates
it with ``EscalationInput.from_dict``, whose errors name the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from custodes.triage.views import (
    AttachmentView,
    EscalationDetail,
    EscalationStatus,
    EscalationSummary,
    Resolution,
)

__all__ = [
    "AcknowledgeIn",
    "ActionIn",
    "AttachmentView",
    "EscalationDetail",
    "EscalationIn",
    "EscalationStatus",
    "EscalationSummary",
    "OverrideIn",
    "ResolveIn",
]

Band = Literal["P0", "P1", "P2", "P3", "P4"]


class EscalationIn(BaseModel):
    """One escalation as the data contract (§1.6) defines it; extra fields are kept."""

    model_config = ConfigDict(extra="allow")

    escalation_id: str | None = Field(
        default=None, max_length=512, description="Your id; sending it again updates it."
    )
    received_at: datetime
    source: Literal[
        "law_enforcement",
        "regulator",
        "trusted_flagger",
        "ngo",
        "press",
        "creator_partner",
        "internal_moderation",
        "internal_staff",
        "user_report",
    ]
    title: str | None = None
    body: str = Field(min_length=1)
    language: str | None = Field(default=None, description="ISO 639-1; detected when absent.")
    reported_category: str | None = None
    subject_ids: list[str] | None = None
    reach: int | None = Field(default=None, ge=0)
    jurisdiction: str | None = Field(default=None, description="ISO 3166-1 alpha-2.")
    requester: str | None = None
    deadline: datetime | None = None


class OverrideIn(BaseModel):
    """An analyst's band, against the version read; the reason is kept and audited."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    version: int = Field(ge=1, le=2**31 - 1)
    band: Band
    reason: str = Field(min_length=1, max_length=10_000)


class AcknowledgeIn(BaseModel):
    """Take ownership of the escalation read at ``version``."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=2**31 - 1)


class ActionIn(AcknowledgeIn):
    """The first action taken; ``note`` says what (kept in the revision and the audit)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str = Field(default="", max_length=10_000)


class ResolveIn(ActionIn):
    """How the escalation ended (a fixed vocabulary, for reports), and the mitigation in
    words if wanted."""

    resolution: Resolution
