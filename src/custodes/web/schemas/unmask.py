"""Unmasking requests and reveals."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from custodes.web.schemas.common import UtcDatetime


class UnmaskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pseudonym: str = Field(pattern=r"^S-[A-Z2-7]{10}$")
    justification: str = Field(min_length=10, max_length=10_000)
    case_id: int | None = Field(default=None, ge=1, le=2**53)


class UnmaskDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=10_000)


class GrantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    pseudonym: str
    case_id: int | None
    justification: str
    status: str
    requested_at: UtcDatetime
    decided_by: int | None
    decided_at: UtcDatetime | None
    expires_at: UtcDatetime | None


class Revealed(BaseModel):
    pseudonym: str
    actor_id: str
