"""What callers send to and get back from the case service: one model per job.

Inputs (``CaseCreate``, ``CaseUpdate``, ``TaskCreate``, ...) validate themselves, so the web
layer can take them as request bodies (422 with the field) and the CLI can build them with
:func:`parse` (``InputError`` naming the field). Outputs are frozen and never carry a real
actor id except ``actor_id`` beside a pseudonym the caller has unmasked right now.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from custodes.cases.workflow import CaseSeverity, LinkKind, Outcome, Status
from custodes.errors import InputError
from custodes.model.vocabulary import ACTION_FAMILIES, CUSTOM_PREFIX, SCENARIOS

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

FAMILIES = (*ACTION_FAMILIES, "custom")


def parse(model: type[M], data: dict[str, Any]) -> M:
    """Build an input model, turning the first validation problem into an ``InputError``
    that names its field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise InputError(str(first["msg"]), field=field) from None


def utc(value: datetime | None) -> datetime | None:
    """Naive times are UTC (the data contract's rule); SQLite hands them back naive."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("due_at", check_fields=False)
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return utc(value)


def _category(value: str | None) -> str | None:
    if value is None or value in SCENARIOS or value.startswith(CUSTOM_PREFIX):
        return value
    raise ValueError(f"unknown category {value!r}: a scenario family or x-<name>")


def _tags(values: list[str]) -> list[str]:
    out: list[str] = []
    for raw in values:
        tag = raw.strip().lower()
        if not tag or len(tag) > 64:
            raise ValueError("a tag is 1 to 64 characters")
        if tag not in out:
            out.append(tag)
    return out


Title = Field(min_length=1, max_length=300)


class CaseCreate(_Input):
    title: str = Title
    description: str = Field(default="", max_length=100_000)
    category: str | None = None
    severity: CaseSeverity = CaseSeverity.medium
    subjects: list[str] = Field(default_factory=list, max_length=100)  # real actor ids
    assignee_id: int | None = None
    due_at: datetime | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    restricted: bool = False

    @field_validator("category")
    @classmethod
    def _check_category(cls, value: str | None) -> str | None:
        return _category(value)

    @field_validator("tags")
    @classmethod
    def _check_tags(cls, values: list[str]) -> list[str]:
        return _tags(values)

    @field_validator("subjects")
    @classmethod
    def _subjects(cls, values: list[str]) -> list[str]:
        out = []
        for raw in values:
            actor = raw.strip()
            if not actor or len(actor) > 128:
                raise ValueError("a subject is an actor id of 1 to 128 characters")
            if actor not in out:
                out.append(actor)
        return out


class CaseUpdate(_Input):
    """Only the fields that are set change (``model_fields_set``)."""

    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=100_000)
    category: str | None = None
    severity: CaseSeverity | None = None
    assignee_id: int | None = None
    due_at: datetime | None = None
    tags: list[str] | None = Field(default=None, max_length=50)
    restricted: bool | None = None

    @field_validator("category")
    @classmethod
    def _check_category(cls, value: str | None) -> str | None:
        return _category(value)

    @field_validator("tags")
    @classmethod
    def _check_tags(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _tags(values)


class TaskCreate(_Input):
    title: str = Title
    assignee_id: int | None = None
    due_at: datetime | None = None


class TaskUpdate(_Input):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    done: bool | None = None
    assignee_id: int | None = None
    due_at: datetime | None = None


class EvidenceQuery(_Input):
    """A saved query over the event store: one subject's events in a time range, optionally
    only some action families or actions. Structured rather than SQL, so saving evidence can
    never read anything but events of the case's own subjects."""

    subject: str  # a pseudonym of one of the case's subjects
    start: datetime
    end: datetime
    families: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        aware = utc(value)
        assert aware is not None
        return aware

    @field_validator("families")
    @classmethod
    def _families(cls, values: list[str]) -> list[str]:
        for family in values:
            if family not in FAMILIES:
                raise ValueError(f"unknown action family {family!r} (one of {', '.join(FAMILIES)})")
        return sorted(set(values))


class EvidenceCreate(_Input):
    kind: Literal["events", "query"]
    title: str = Title
    event_ids: list[str] = Field(default_factory=list, max_length=10_000)
    query: EvidenceQuery | None = None


# --- outputs ------------------------------------------------------------------------------


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class UserRef(_View):
    id: int
    username: str


class SubjectView(_View):
    pseudonym: str
    actor_id: str | None = None  # only while the viewer has it unmasked


class CaseSummary(_View):
    id: int
    title: str
    category: str | None
    severity: str
    status: Status
    outcome: Outcome | None
    assignee: UserRef | None
    subjects: list[SubjectView]
    tags: list[str]
    restricted: bool
    alert_count: int
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None
    closed_at: datetime | None
    version: int


class CaseAlertView(_View):
    alert_id: str
    subject: str
    detector: str
    category: str
    pattern: str
    score: float
    window_start: datetime
    window_end: datetime
    reasons: list[str]
    verdict: str | None
    synced_at: datetime | None


class LinkView(_View):
    case_id: int
    kind: LinkKind
    direction: Literal["out", "in"]


class TaskView(_View):
    id: int
    case_id: int
    title: str
    done: bool
    assignee_id: int | None
    due_at: datetime | None
    created_at: datetime
    version: int


class NoteView(_View):
    id: int
    case_id: int
    author: UserRef | None
    body: str
    created_at: datetime


class CaseDetail(CaseSummary):
    description: str
    created_by: UserRef | None
    members: list[UserRef]
    alerts: list[CaseAlertView]
    links: list[LinkView]
    tasks: list[TaskView]
    notes: list[NoteView]


class EvidenceView(_View):
    id: int
    case_id: int
    kind: Literal["events", "query"]
    title: str
    query: dict[str, Any] | None
    event_ids: list[str]
    row_count: int
    content_hash: str
    captured_at: datetime
    added_by: UserRef | None


class EvidenceCheck(_View):
    """Whether a piece of evidence still hashes to what was captured."""

    evidence_id: int
    ok: bool
    captured_hash: str
    current_hash: str
    row_count: int


class TimelineEvent(_View):
    event_id: str
    ts: datetime
    subject: str
    actor_id: str | None
    action: str
    family: str
    target_type: str | None
    target_id: str | None
    outcome: str | None
    source: str | None
    country: str | None
    alert_evidence: bool  # behind one of the case's alerts


class Timeline(_View):
    case_id: int
    window_start: datetime
    window_end: datetime
    families: list[str]
    events: list[TimelineEvent]
    truncated: bool


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int  # exact when ``total_exact``, else a lower bound (the count stopped there)
    limit: int
    offset: int
    total_exact: bool = True
