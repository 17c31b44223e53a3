"""The contract's input entities as data.

Each entity is a list of typed fields. Ingest compiles these specs into validation SQL, the
store derives its tables from them, and the simulator writes exactly these columns, so the
contract lives in one place only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from custodes.model.vocabulary import ESCALATION_SOURCES, ROLES, SCENARIOS, TARGET_TYPES


class Kind(Enum):
    """How a field is parsed and stored."""

    STRING = "string"
    TIMESTAMP = "timestamp"
    DATE = "date"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    JSON = "json"  # a JSON object
    LIST = "list"  # of strings
    COUNTRY = "country"  # ISO 3166-1 alpha-2
    CLOCK = "clock"  # local wall-clock time HH:MM
    TIMEZONE = "timezone"  # IANA zone name
    LANGUAGE = "language"  # ISO 639-1

    @property
    def sql_type(self) -> str:
        return _SQL_TYPES.get(self, "VARCHAR")


_SQL_TYPES: Final[dict[Kind, str]] = {
    Kind.TIMESTAMP: "TIMESTAMP",
    Kind.DATE: "DATE",
    Kind.INTEGER: "BIGINT",
    Kind.BOOLEAN: "BOOLEAN",
    Kind.JSON: "JSON",
    Kind.LIST: "VARCHAR[]",
}


@dataclass(frozen=True)
class Field:
    """One column of an input entity."""

    name: str
    kind: Kind = Kind.STRING
    required: bool = False
    choices: tuple[str, ...] = ()
    # Values spelled ``x-…`` pass a choices check: the contract's extension mechanism.
    allow_custom: bool = False
    non_negative: bool = False
    max_length: int = 1024


@dataclass(frozen=True)
class Entity:
    """An input entity: a table in the store and a file format users write."""

    name: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    # Events are append-only facts; the others are directory records that a re-ingest updates.
    append_only: bool = False
    time_field: str | None = None
    field_index: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_index", {f.name: f for f in self.fields})

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)


ID: Final = 512
ATTRS = Field("attrs", Kind.JSON, max_length=65_536)

EVENTS = Entity(
    "events",
    (
        Field("event_id", max_length=ID),
        Field("ts", Kind.TIMESTAMP, required=True),
        Field("actor_id", required=True, max_length=ID),
        Field("action", required=True, max_length=128),
        Field("target_type", choices=TARGET_TYPES, allow_custom=True, max_length=128),
        Field("target_id", max_length=2048),
        Field("outcome", max_length=128),
        Field("source", max_length=128),
        Field("ip", max_length=64),
        Field("country", Kind.COUNTRY),
        Field("device_id", max_length=ID),
        Field("ticket_id", max_length=ID),
        Field("duration_ms", Kind.INTEGER, non_negative=True),
        Field("records", Kind.INTEGER, non_negative=True),
        Field("bytes", Kind.INTEGER, non_negative=True),
        ATTRS,
    ),
    key=("event_id",),
    append_only=True,
    time_field="ts",
)

PEOPLE = Entity(
    "people",
    (
        Field("actor_id", required=True, max_length=ID),
        Field("name", max_length=ID),
        Field("role", choices=ROLES),
        Field("team", max_length=ID),
        Field("site", max_length=ID),
        Field("country", Kind.COUNTRY),
        Field("manager_id", max_length=ID),
        Field("hire_date", Kind.DATE),
        Field("notice_date", Kind.DATE),
        Field("end_date", Kind.DATE),
        Field("shift_start", Kind.CLOCK),
        Field("shift_end", Kind.CLOCK),
        Field("timezone", Kind.TIMEZONE),
        Field("privileged", Kind.BOOLEAN),
        ATTRS,
    ),
    key=("actor_id",),
)

ACCOUNTS = Entity(
    "accounts",
    (
        Field("account_id", required=True, max_length=ID),
        Field("high_profile", Kind.BOOLEAN),
        Field("followers", Kind.INTEGER, non_negative=True),
        Field("country", Kind.COUNTRY),
        Field("conflict_actor_ids", Kind.LIST, max_length=65_536),
        ATTRS,
    ),
    key=("account_id",),
)

TICKETS = Entity(
    "tickets",
    (
        Field("ticket_id", required=True, max_length=ID),
        Field("actor_id", max_length=ID),
        Field("target_id", max_length=2048),
        Field("opened_at", Kind.TIMESTAMP),
        Field("closed_at", Kind.TIMESTAMP),
        ATTRS,
    ),
    key=("ticket_id",),
    time_field="opened_at",
)

LABELS = Entity(
    "labels",
    (
        Field("actor_id", required=True, max_length=ID),
        Field("scenario", required=True, choices=SCENARIOS),
        Field("start", Kind.TIMESTAMP, required=True),
        Field("end", Kind.TIMESTAMP),
        ATTRS,
    ),
    key=("actor_id", "scenario", "start"),
)

ESCALATIONS = Entity(
    "escalations",
    (
        Field("escalation_id", max_length=ID),
        Field("received_at", Kind.TIMESTAMP, required=True),
        Field("source", required=True, choices=ESCALATION_SOURCES),
        Field("title", max_length=4096),
        Field("body", required=True, max_length=1_000_000),
        Field("language", Kind.LANGUAGE),
        Field("reported_category", max_length=128),
        Field("subject_ids", Kind.LIST, max_length=65_536),
        Field("reach", Kind.INTEGER, non_negative=True),
        Field("jurisdiction", Kind.COUNTRY),
        Field("requester", max_length=ID),
        Field("deadline", Kind.TIMESTAMP),
        ATTRS,
    ),
    key=("escalation_id",),
    time_field="received_at",
)

# The entities `custodes ingest` accepts; escalations arrive through triage intake instead.
INGESTIBLE: Final[dict[str, Entity]] = {
    e.name: e for e in (EVENTS, PEOPLE, ACCOUNTS, TICKETS, LABELS)
}
ALL_ENTITIES: Final[dict[str, Entity]] = {**INGESTIBLE, ESCALATIONS.name: ESCALATIONS}
