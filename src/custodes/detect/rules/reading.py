"""Reading one rule dict into a :class:`Rule`, collecting every problem with its line.

Each reader returns None for a part it could not read and records why, then carries on
with the next part: a rule with five mistakes yields five errors in one pass.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, cast

from custodes.detect.alert import Severity
from custodes.detect.rules.document import Located, LocatedList
from custodes.detect.rules.error import RuleError
from custodes.detect.rules.fields import (
    ACTIONS,
    ACTOR,
    AFTER,
    AGGREGATES,
    COMPARISONS,
    FEATURES,
    MEASURES,
    ORDERED,
    TESTS,
    EventField,
    Type,
    event_field,
    is_action,
    known_event_fields,
    suggest,
)
from custodes.detect.rules.model import (
    OVER,
    Comparison,
    Condition,
    Filter,
    Group,
    Over,
    Rule,
    Scope,
    Threshold,
    Value,
    Window,
)
from custodes.model.vocabulary import ROLES, SCENARIOS

RULE_KEYS: Final = (
    "id",
    "title",
    "description",
    "category",
    "severity",
    "over",
    "scope",
    "after",
    "window",
    "where",
    "threshold",
    "evidence",
    "tags",
)
REQUIRED: Final = ("id", "title", "category", "severity", "over", "where")
RULE_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
MAX_WINDOW_DAYS: Final = 366
_CONDITION: Final = re.compile(
    r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|=>|=<|<>|>|<|=)\s*(.+?)\s*$"
)
_SIZE: Final = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([kKmMgGtT])(i?)[bB]\s*$")
_SCALE: Final = {"k": 1, "m": 2, "g": 3, "t": 4}


class Reading:
    """The problems met while reading rules from one file."""

    def __init__(self, file: str | Path | None = None) -> None:
        self.file = str(file) if file is not None else None
        self.rule_id: str | None = None
        self.errors: list[RuleError] = []

    def error(self, message: str, line: int | None, field: str | None = None) -> None:
        self.errors.append(
            RuleError(message, file=self.file, line=line, rule=self.rule_id, field=field)
        )


def _at(data: Any, key: str | int, default: int | None) -> int | None:
    """The line of a key (mapping) or item (list) when the data came from YAML."""
    if isinstance(data, Located) and isinstance(key, str):
        return data.line_of(key)
    if isinstance(data, LocatedList) and isinstance(key, int):
        return data.line_of(key)
    return default


def _own_line(data: Any, default: int | None) -> int | None:
    return data.line if isinstance(data, Located | LocatedList) else default


def _keys(
    r: Reading,
    data: Mapping[str, Any],
    allowed: tuple[str, ...],
    required: tuple[str, ...],
    line: int | None,
    field: str | None,
) -> None:
    for key in data:
        if key not in allowed:
            r.error(
                f"unknown key '{key}'{suggest(str(key), allowed)}; "
                f"expected one of: {', '.join(allowed)}",
                _at(data, key, line),
                field,
            )
    for key in required:
        if key not in data:
            r.error(f"missing required key '{key}'", line, field)


def read_rule(r: Reading, data: Any, line: int | None = None) -> Rule | None:
    line = _own_line(data, line)
    if not isinstance(data, Mapping):
        r.error("a rule must be a mapping of keys to values", line)
        return None
    raw_id = data.get("id")
    r.rule_id = raw_id if isinstance(raw_id, str) and RULE_ID.match(raw_id) else None
    before = len(r.errors)
    _keys(r, data, RULE_KEYS, REQUIRED, line, None)
    rule_id = _text(r, data, "id", line)
    if rule_id is not None and not RULE_ID.match(rule_id):
        r.error(
            f"id {rule_id!r} must be letters, digits, '_', '.', ':' or '-' "
            "(starting with a letter or digit)",
            _at(data, "id", line),
            "id",
        )
    title = _text(r, data, "title", line)
    description = _text(r, data, "description", line, required=False) or ""
    category = _choice(r, data, "category", SCENARIOS, line)
    severity = _choice(r, data, "severity", tuple(s.value for s in Severity), line)
    over = _choice(r, data, "over", OVER, line)
    after = _choice(r, data, "after", AFTER, line, required=False)
    scope = _scope(r, data.get("scope"), _at(data, "scope", line)) if "scope" in data else Scope()
    window = _window(r, data.get("window"), _at(data, "window", line), over)
    evidence = _actions(r, data, "evidence", line, required=False)
    tags = _texts(r, data, "tags", line)
    where: Condition | None = None
    actions: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    threshold = Threshold("count", "events")
    where_line = _at(data, "where", line)
    if over == "features":
        if "where" in data:
            where = _condition(r, data["where"], where_line)
        if "threshold" in data:
            r.error(
                "'threshold' is for events rules; a features rule compares in 'where'",
                _at(data, "threshold", line),
                "threshold",
            )
    elif over == "events":
        if "where" in data:
            read = _event_where(r, data["where"], where_line)
            if read is not None:
                actions, filters = read
        if "threshold" in data:
            found = _threshold(r, data["threshold"], _at(data, "threshold", line))
            threshold = found or threshold
    if len(r.errors) > before or None in (rule_id, title, category, severity, over):
        return None
    return Rule(
        id=cast(str, rule_id),
        title=cast(str, title),
        category=cast(str, category),
        severity=Severity(cast(str, severity)),
        over=cast(Over, over),
        where=where,
        actions=actions,
        filters=filters,
        threshold=threshold,
        window=window or Window(),
        scope=scope or Scope(),
        after=after,
        evidence=evidence,
        description=description,
        tags=tags,
        file=r.file,
        line=line,
    )


# -- scalars --------------------------------------------------------------------------------


def _text(
    r: Reading, data: Mapping[str, Any], key: str, line: int | None, *, required: bool = True
) -> str | None:
    if key not in data:
        return None  # a missing required key is reported once, by _keys
    value = data[key]
    if isinstance(value, str) and value.strip():
        return value.strip()
    if value is None and not required:
        return None
    r.error(f"'{key}' must be non-empty text", _at(data, key, line), key)
    return None


def _texts(r: Reading, data: Mapping[str, Any], key: str, line: int | None) -> tuple[str, ...]:
    if key not in data or data[key] is None:
        return ()
    value = data[key]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        r.error(f"'{key}' must be a list of text", _at(data, key, line), key)
        return ()
    return tuple(items)


def _choice(
    r: Reading,
    data: Mapping[str, Any],
    key: str,
    choices: tuple[str, ...],
    line: int | None,
    *,
    required: bool = True,
) -> str | None:
    if key not in data or (data[key] is None and not required):
        return None
    value = data[key]
    if isinstance(value, str) and value in choices:
        return value
    hint = suggest(value, choices) if isinstance(value, str) else ""
    r.error(f"{key} {value!r} is not one of {', '.join(choices)}{hint}", _at(data, key, line), key)
    return None


def number(value: Any) -> float | None:
    """A number from YAML: 5, 0.5, 1e9, '1e9', '500MB' or '2 GiB' (sizes in bytes)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    try:
        return float(value.replace("_", ""))
    except ValueError:
        pass
    size = _SIZE.match(value)
    if size is None:
        return None
    base = 1024 if size.group(3) else 1000
    return float(size.group(1)) * float(base ** _SCALE[size.group(2).lower()])


def _number(r: Reading, value: Any, line: int | None, field: str) -> float | None:
    found = number(value)
    if found is None or not math.isfinite(found):
        r.error(f"{field} must be a (finite) number, not {value!r}", line, field)
        return None
    return found


def _integer(r: Reading, value: Any, line: int | None, field: str, lo: int, hi: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        r.error(f"{field} must be a whole number from {lo} to {hi}, not {value!r}", line, field)
        return None
    return value


# -- scope, window, actions -----------------------------------------------------------------


def _roles(r: Reading, data: Mapping[str, Any], key: str, line: int | None) -> tuple[str, ...]:
    if key not in data:
        return ()
    value = data[key]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        r.error(f"scope.{key} must be a role or a list of roles", _at(data, key, line), "scope")
        return ()
    out = []
    for i, role in enumerate(items):
        if isinstance(role, str) and role in ROLES:
            out.append(role)
        else:
            hint = suggest(role, ROLES) if isinstance(role, str) else ""
            r.error(
                f"unknown role {role!r}{hint}; roles: {', '.join(ROLES)}",
                _at(items, i, _at(data, key, line)),
                "scope",
            )
    return tuple(out)


def _scope(r: Reading, data: Any, line: int | None) -> Scope | None:
    if not isinstance(data, Mapping):
        r.error("scope must be a mapping (roles, not_roles, privileged)", line, "scope")
        return None
    _keys(r, data, ("roles", "not_roles", "privileged"), (), line, "scope")
    roles = _roles(r, data, "roles", line)
    not_roles = _roles(r, data, "not_roles", line)
    both = sorted(set(roles) & set(not_roles))
    if both:
        r.error(f"role {both[0]!r} is both in roles and not_roles", line, "scope")
    privileged = data.get("privileged")
    if privileged is not None and not isinstance(privileged, bool):
        r.error("scope.privileged must be true or false", _at(data, "privileged", line), "scope")
        privileged = None
    return Scope(roles, not_roles, privileged)


def _window(r: Reading, data: Any, line: int | None, over: str | None) -> Window | None:
    if data is None:
        return Window()
    if not isinstance(data, Mapping):
        r.error("window must be a mapping (days, aggregate, min_days)", line, "window")
        return None
    _keys(r, data, ("days", "aggregate", "min_days"), ("days",), line, "window")
    days = _integer(
        r, data.get("days", 1), _at(data, "days", line), "window.days", 1, MAX_WINDOW_DAYS
    )
    aggregate = data.get("aggregate")
    if aggregate is not None:
        if over == "events":
            r.error(
                "window.aggregate is for features rules; events rules measure with 'threshold'",
                _at(data, "aggregate", line),
                "window",
            )
        elif aggregate not in AGGREGATES:
            r.error(
                f"aggregate {aggregate!r} is not one of {', '.join(AGGREGATES)}",
                _at(data, "aggregate", line),
                "window",
            )
    min_days = 1
    if "min_days" in data:
        found = _integer(
            r,
            data["min_days"],
            _at(data, "min_days", line),
            "window.min_days",
            1,
            days or MAX_WINDOW_DAYS,
        )
        min_days = found or 1
    if days is None:
        return None
    return Window(days, aggregate if aggregate in AGGREGATES else None, min_days)


def _actions(
    r: Reading, data: Mapping[str, Any], key: str, line: int | None, *, required: bool
) -> tuple[str, ...]:
    if key not in data:
        return ()
    value = data[key]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        r.error(f"'{key}' must be an action or a list of actions", _at(data, key, line), key)
        return ()
    out = []
    for i, action in enumerate(items):
        if isinstance(action, str) and is_action(action):
            out.append(action)
        else:
            hint = suggest(action, ACTIONS) if isinstance(action, str) else ""
            r.error(
                f"unknown action {action!r}{hint} (custom actions are spelled x-<name>)",
                _at(items, i, _at(data, key, line)),
                key,
            )
    if required and not out:
        return ()
    return tuple(out)


# -- features conditions --------------------------------------------------------------------


def _condition(r: Reading, data: Any, line: int | None) -> Condition | None:
    line = _own_line(data, line)
    if isinstance(data, str):
        return _condition_text(r, data, line)
    if isinstance(data, list):
        return _group(r, "all", data, line)
    if isinstance(data, Mapping):
        modes = [k for k in ("all", "any") if k in data]
        if modes:
            if len(data) != 1:
                r.error(f"'{modes[0]}' must be the only key of its mapping", line, "where")
                return None
            mode = modes[0]
            return _group(r, cast(Any, mode), data[mode], _at(data, mode, line))
        return _comparison(r, data, line)
    r.error(
        "a features condition is 'feature op value', a mapping with feature/op/value, "
        "a list (all must hold) or {any: [...]}",
        line,
        "where",
    )
    return None


def _group(r: Reading, mode: str, data: Any, line: int | None) -> Group | None:
    if not isinstance(data, list) or not data:
        r.error(f"'{mode}' needs a non-empty list of conditions", line, "where")
        return None
    items = [_condition(r, item, _at(data, i, line)) for i, item in enumerate(data)]
    if any(item is None for item in items):
        return None
    return Group(cast(Any, mode), tuple(cast(list[Condition], items)))


def _condition_text(r: Reading, text: str, line: int | None) -> Comparison | None:
    match = _CONDITION.match(text)
    if match is None:
        r.error(f"cannot read condition {text!r}; write it as 'feature >= value'", line, "where")
        return None
    feature, op, raw = match.groups()
    value: Any = raw
    if raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    return _checked(r, feature, op, value, None, line)


def _comparison(r: Reading, data: Mapping[str, Any], line: int | None) -> Comparison | None:
    before = len(r.errors)
    _keys(
        r, data, ("feature", "op", "value", "aggregate"), ("feature", "op", "value"), line, "where"
    )
    if len(r.errors) > before:
        return None
    return _checked(
        r, data["feature"], data["op"], data["value"], data.get("aggregate"), line, data
    )


def _checked(
    r: Reading,
    feature: Any,
    op: Any,
    value: Any,
    aggregate: Any,
    line: int | None,
    data: Mapping[str, Any] | None = None,
) -> Comparison | None:
    def at(key: str) -> int | None:
        return _at(data, key, line) if data is not None else line

    ok = True
    if not isinstance(feature, str) or feature not in FEATURES:
        hint = suggest(feature, FEATURES) if isinstance(feature, str) else ""
        r.error(f"unknown feature {feature!r}{hint}", at("feature"), "where")
        ok = False
    if op not in COMPARISONS:
        r.error(f"unknown op {op!r}; use one of {' '.join(COMPARISONS)}", at("op"), "where")
        ok = False
    if isinstance(value, bool):  # flags: after_notice == true
        value = int(value)
    found = _number(r, value, at("value"), "where") if not isinstance(value, bool) else None
    if aggregate is not None and aggregate not in AGGREGATES:
        r.error(
            f"aggregate {aggregate!r} is not one of {', '.join(AGGREGATES)}",
            at("aggregate"),
            "where",
        )
        ok = False
    if not ok or found is None:
        return None
    return Comparison(cast(str, feature), cast(str, op), found, aggregate)


# -- events: actions, filters, threshold ----------------------------------------------------


def _event_where(
    r: Reading, data: Any, line: int | None
) -> tuple[tuple[str, ...], tuple[Filter, ...]] | None:
    line = _own_line(data, line)
    if not isinstance(data, Mapping):
        r.error(
            "an events rule's 'where' is a mapping: action, then event fields to filter on",
            line,
            "where",
        )
        return None
    if "action" not in data:
        r.error("missing required key 'action'", line, "where")
    actions = _actions(r, data, "action", line, required=True)
    filters = []
    for key, value in data.items():
        if key == "action":
            continue
        at = _at(data, key, line)
        fld = event_field(str(key))
        if fld is None:
            hint = suggest(str(key), known_event_fields())
            r.error(
                f"unknown event field {key!r}{hint}; fields: {', '.join(known_event_fields())}",
                at,
                "where",
            )
            continue
        found = _filter(r, fld, value, at)
        if found is not None:
            filters.append(found)
    return actions, tuple(filters)


def _filter(r: Reading, fld: EventField, data: Any, line: int | None) -> Filter | None:
    name = fld.name
    if isinstance(data, Mapping):
        if len(data) != 1 or next(iter(data)) not in TESTS:
            r.error(
                f"filter on {name}: use a value, a list, or one of "
                f"{{{', '.join(TESTS)}: ...}} as the only key",
                line,
                "where",
            )
            return None
        test, value = next(iter(data.items()))
    elif isinstance(data, list):
        test, value = "in", data
    else:
        test, value = "==", data
    if test == "exists":
        if not isinstance(value, bool):
            r.error(f"filter on {name}: exists must be true or false", line, "where")
            return None
        return Filter(name, test, (value,))
    values = value if test in ("in", "not_in") else [value]
    if test in ("in", "not_in") and (not isinstance(value, list) or not value):
        r.error(f"filter on {name}: '{test}' needs a non-empty list", line, "where")
        return None
    if any(isinstance(v, list | Mapping) for v in values):
        r.error(f"filter on {name}: values must be plain values, not lists", line, "where")
        return None
    if any(v is None for v in values):
        r.error(
            f"filter on {name}: a value is empty; use {{exists: false}} to match a missing one",
            line,
            "where",
        )
        return None
    if ACTOR in values:
        if test not in ("==", "!=") or fld.type is not Type.text:
            r.error(
                f"filter on {name}: '{ACTOR}' works with == or != on text fields", line, "where"
            )
            return None
        return Filter(name, test, (ACTOR,))
    typed = _typed(r, fld, test, values, line)
    return None if typed is None else Filter(name, test, typed)


def _typed(
    r: Reading, fld: EventField, test: str, values: list[Any], line: int | None
) -> tuple[Value, ...] | None:
    name = fld.name
    kind = fld.type
    if fld.attrs:  # JSON attributes take the type of the values compared
        kinds = {_kind_of(v) for v in values}
        if len(kinds) > 1:
            r.error(f"filter on {name}: values mix text, numbers and booleans", line, "where")
            return None
        kind = kinds.pop()
    if test in ORDERED and kind is not Type.number:
        r.error(f"filter on {name}: '{test}' needs a number", line, "where")
        return None
    out: list[Value] = []
    for v in values:
        if kind is Type.number:
            found = number(v)
            if found is None:
                r.error(f"filter on {name}: {v!r} is not a number", line, "where")
                return None
            out.append(found)
        elif kind is Type.boolean:
            if not isinstance(v, bool):
                r.error(f"filter on {name}: {v!r} is not true or false", line, "where")
                return None
            out.append(v)
        else:
            if isinstance(v, bool):
                r.error(f"filter on {name}: {v!r} is not text", line, "where")
                return None
            out.append(v if isinstance(v, str) else _plain_number(v))
    return tuple(out)


def _kind_of(value: Any) -> Type:
    if isinstance(value, bool):
        return Type.boolean
    if isinstance(value, int | float):
        return Type.number
    return Type.text


def _plain_number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _threshold(r: Reading, data: Any, line: int | None) -> Threshold | None:
    line = _own_line(data, line)
    if not isinstance(data, Mapping):
        r.error(
            "threshold must be a mapping like {count: events, op: '>=', value: 3}",
            line,
            "threshold",
        )
        return None
    _keys(r, data, (*MEASURES, "per", "op", "value"), ("value",), line, "threshold")
    measures = [m for m in MEASURES if m in data]
    if len(measures) != 1:
        r.error(f"threshold needs exactly one of {', '.join(MEASURES)}", line, "threshold")
        return None
    measure = measures[0]
    target = data[measure]
    at = _at(data, measure, line)
    if measure == "count" and target in ("events", "*"):
        target = "events"
    else:
        fld = event_field(target) if isinstance(target, str) else None
        if fld is None:
            hint = suggest(target, known_event_fields()) if isinstance(target, str) else ""
            r.error(f"unknown event field {target!r}{hint}", at, "threshold")
            return None
        if measure in ("sum", "max") and fld.type is not Type.number and not fld.attrs:
            r.error(f"{measure} needs a numeric field, and {target} is {fld.type}", at, "threshold")
            return None
    per = data.get("per")
    if per is not None and (not isinstance(per, str) or event_field(per) is None):
        hint = suggest(per, known_event_fields()) if isinstance(per, str) else ""
        r.error(f"per: unknown event field {per!r}{hint}", _at(data, "per", line), "threshold")
        return None
    op = data.get("op", ">=")
    if op not in COMPARISONS:
        r.error(
            f"unknown op {op!r}; use one of {' '.join(COMPARISONS)}",
            _at(data, "op", line),
            "threshold",
        )
        return None
    if "value" not in data:
        return None
    value = _number(r, data["value"], _at(data, "value", line), "threshold")
    if value is None:
        return None
    return Threshold(measure, cast(str, target), cast(str, op), value, per)
