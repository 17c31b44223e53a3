"""The audit log, read-only."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from custodes.web.schemas.common import UtcDatetime


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: UtcDatetime
    actor: str
    action: str
    target_type: str
    target_id: str
    reason: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    @field_validator("detail", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        """The log keeps detail as canonical JSON text (what its hash covers)."""
        return json.loads(value) if isinstance(value, str) else value


class AuditBreakOut(BaseModel):
    seq: int
    problem: str


class AuditVerifyOut(BaseModel):
    ok: bool
    rows: int
    head_seq: int
    head_hash: str
    first_break: AuditBreakOut | None
