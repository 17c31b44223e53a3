"""Case bodies: the service's own input and view models (``custodes.cases.views``), plus
the version a change is made against."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from custodes.cases.views import (
    CaseCreate,
    CaseDetail,
    CaseSummary,
    CaseUpdate,
    EvidenceCheck,
    EvidenceCreate,
    EvidenceView,
    LinkView,
    NoteView,
    TaskCreate,
    TaskUpdate,
    TaskView,
    Timeline,
)
from custodes.cases.workflow import LinkKind, Outcome, Status

__all__ = [
    "CaseCreate",
    "CaseDetail",
    "CaseFromAlerts",
    "CasePatch",
    "CaseSummary",
    "CaseUpdate",
    "EvidenceCheck",
    "EvidenceCreate",
    "EvidenceView",
    "LinkCreate",
    "LinkView",
    "MemberAdd",
    "NoteCreate",
    "NoteView",
    "TaskCreate",
    "TaskPatch",
    "TaskView",
    "Timeline",
    "Transition",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CasePatch(CaseUpdate):
    """The fields to change, and the ``version`` you read (a stale one gets 409)."""

    version: int = Field(ge=1, le=2**31)

    def changes(self) -> CaseUpdate:
        return CaseUpdate.model_validate(self.model_dump(exclude={"version"}, exclude_unset=True))


class TaskPatch(TaskUpdate):
    version: int = Field(ge=1, le=2**31)

    def changes(self) -> TaskUpdate:
        return TaskUpdate.model_validate(self.model_dump(exclude={"version"}, exclude_unset=True))


class CaseFromAlerts(_In):
    alert_ids: list[str] = Field(min_length=1, max_length=500)
    title: str | None = Field(default=None, min_length=1, max_length=300)


class Transition(_In):
    version: int = Field(ge=1, le=2**31)
    to_status: Status
    outcome: Outcome | None = None
    reason: str = Field(default="", max_length=10_000)


class NoteCreate(_In):
    body: str = Field(min_length=1, max_length=100_000)


class LinkCreate(_In):
    other_id: int = Field(ge=1, le=2**53)
    kind: LinkKind = LinkKind.related


class MemberAdd(_In):
    user_id: int = Field(ge=1, le=2**53)
