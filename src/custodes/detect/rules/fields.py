"""What a rule may name: features, event fields, account fields, actions, aggregates, ops.

Every name a rule uses is checked here against the contract (the events and accounts
schema, the feature catalogue, the action vocabulary) before any SQL exists, and each known
name maps to a SQL expression built from this module's own text. Rule text therefore never
reaches a query except as a bound parameter or as a name that has matched this catalogue.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from custodes.detect.features.catalog import BY_NAME, FEATURE_COLUMNS
from custodes.detect.features.catalog import Kind as FeatureKind
from custodes.model.schema import ACCOUNTS, EVENTS
from custodes.model.schema import Kind as SchemaKind
from custodes.model.vocabulary import CANONICAL_ACTIONS, CUSTOM_PREFIX


class Type(StrEnum):
    """How a field's values compare: text equality, numeric order, or truth."""

    text = "text"
    number = "number"
    boolean = "boolean"


@dataclass(frozen=True)
class EventField:
    """A field an events rule can filter on or measure."""

    name: str  # as rules spell it: 'outcome', 'attrs.url_domain', 'account.high_profile'
    type: Type
    sql: str  # the expression over `events e` (and `accounts a` when ``account``)
    account: bool = False  # needs the accounts join
    attrs: bool = False  # a JSON attribute: its type is whatever the value compared says


COMPARISONS: Final = (">", ">=", "<", "<=", "==", "!=")
# Filter tests beyond the comparisons.
TESTS: Final = ("in", "not_in", "exists", *COMPARISONS)
ORDERED: Final = (">", ">=", "<", "<=")
AGGREGATES: Final = ("sum", "mean", "max", "min")
MEASURES: Final = ("count", "distinct", "sum", "max")
AFTER: Final = ("notice_date", "end_date")
ACTOR: Final = "$actor"  # a filter value meaning "the acting staff member's own id"

_ATTR_KEY: Final = re.compile(r"[A-Za-z0-9_]{1,64}$")
_SCHEMA_TYPE: Final = {SchemaKind.INTEGER: Type.number, SchemaKind.BOOLEAN: Type.boolean}
# Columns that identify the row or its time; rules reach them through other means.
_NOT_FILTERABLE: Final = frozenset({"ts", "actor_id", "action", "attrs"})


def _column(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _event_fields() -> dict[str, EventField]:
    fields = {
        f.name: EventField(f.name, _SCHEMA_TYPE.get(f.kind, Type.text), f"e.{_column(f.name)}")
        for f in EVENTS.fields
        if f.name not in _NOT_FILTERABLE
    }
    for f in ACCOUNTS.fields:
        if f.kind in (SchemaKind.LIST, SchemaKind.JSON) or f.name == "account_id":
            continue
        name = f"account.{f.name}"
        fields[name] = EventField(
            name, _SCHEMA_TYPE.get(f.kind, Type.text), f"a.{_column(f.name)}", account=True
        )
    # A declared conflict of interest between the account and the acting staff member.
    fields["account.conflict"] = EventField(
        "account.conflict",
        Type.boolean,
        "coalesce(list_contains(a.conflict_actor_ids, e.actor_id), false)",
        account=True,
    )
    return fields


EVENT_FIELDS: Final[dict[str, EventField]] = _event_fields()


def event_field(name: str) -> EventField | None:
    """The field a rule names, or None when the contract has no such field."""
    if name in EVENT_FIELDS:
        return EVENT_FIELDS[name]
    prefix, _, key = name.partition(".")
    if prefix == "attrs" and _ATTR_KEY.match(key):
        # The key matched a strict pattern, so it is safe inside a JSON path literal.
        return EventField(
            name, Type.text, f"json_extract_string(e.attrs, '$.\"{key}\"')", attrs=True
        )
    return None


def feature_type(name: str) -> FeatureKind | None:
    feature = BY_NAME.get(name)
    return None if feature is None else feature.kind


def default_aggregate(name: str) -> str:
    """How a feature rolls up over a window when the rule does not say: counts add up,
    flags hold if they held once, shares and statistics average."""
    kind = feature_type(name)
    if kind in (FeatureKind.COUNT, FeatureKind.DAYS):
        return "sum"
    if kind is FeatureKind.FLAG:
        return "max"
    return "mean"


def is_action(name: str) -> bool:
    return name in CANONICAL_ACTIONS or (name.startswith(CUSTOM_PREFIX) and len(name) > 2)


def suggest(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when something close exists, else nothing."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def known_event_fields() -> tuple[str, ...]:
    return (*EVENT_FIELDS, "attrs.<key>")


FEATURES: Final = FEATURE_COLUMNS
ACTIONS: Final = tuple(sorted(CANONICAL_ACTIONS))
