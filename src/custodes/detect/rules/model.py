"""Rules as data: frozen dataclasses, read from YAML-shaped dicts and written back.

As in pySigma, a rule is plain data that round-trips (``Rule.from_dict(r.to_dict()) == r``),
so packs can be generated, diffed and reviewed like any other configuration. Reading a rule
validates every name against the contract (see ``fields``) and reports *all* its problems
at once, each with the line it came from when the dict was read from YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from custodes.detect.alert import Severity
from custodes.detect.rules.error import RuleError, RuleErrors

Value = str | int | float | bool
Over = Literal["features", "events"]
OVER: Final[tuple[Over, ...]] = ("features", "events")


@dataclass(frozen=True)
class Comparison:
    """``feature op value`` on one actor-day, or on the feature rolled up over the window."""

    feature: str
    op: str
    value: float
    aggregate: str | None = None  # None: the window's, else the feature's natural roll-up

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"feature": self.feature, "op": self.op, "value": _num(self.value)}
        if self.aggregate is not None:
            out["aggregate"] = self.aggregate
        return out


@dataclass(frozen=True)
class Group:
    """All (AND) or any (OR) of the conditions inside."""

    mode: Literal["all", "any"]
    items: tuple[Condition, ...]

    def to_dict(self) -> dict[str, Any]:
        return {self.mode: [item.to_dict() for item in self.items]}

    def comparisons(self) -> tuple[Comparison, ...]:
        out: list[Comparison] = []
        for item in self.items:
            out.extend(item.comparisons() if isinstance(item, Group) else (item,))
        return tuple(out)


Condition = Comparison | Group


@dataclass(frozen=True)
class Filter:
    """One test on an event field: ``outcome == failure``, ``attrs.url_domain in [...]``."""

    field: str
    test: str  # one of fields.TESTS
    values: tuple[Value, ...]

    def to_value(self) -> Any:
        """The YAML spelling: a scalar for ==, a list for in, else ``{test: value}``."""
        if self.test == "==":
            return self.values[0]
        if self.test == "in":
            return list(self.values)
        if self.test == "not_in":
            return {self.test: list(self.values)}
        return {self.test: self.values[0]}


@dataclass(frozen=True)
class Threshold:
    """What an events rule counts per actor over its window, and the bar it must pass."""

    measure: str  # count, distinct, sum, max
    field: str  # an event field, or "events" for count
    op: str = ">="
    value: float = 1.0
    per: str | None = None  # measured separately per value of this field; the best counts

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {self.measure: self.field}
        if self.per is not None:
            out["per"] = self.per
        return out | {"op": self.op, "value": _num(self.value)}

    def describe(self) -> str:
        what = {
            "count": "events" if self.field == "events" else f"events with {self.field}",
            "distinct": f"distinct {self.field}",
            "sum": f"total {self.field}",
            "max": f"largest {self.field}",
        }[self.measure]
        return what


@dataclass(frozen=True)
class Window:
    """Days looked at up to and including the hit day, and how thin evidence may be."""

    days: int = 1
    aggregate: str | None = None  # features: the roll-up for comparisons that name none
    min_days: int = 1  # features: days with data; events: days with matching events

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"days": self.days}
        if self.aggregate is not None:
            out["aggregate"] = self.aggregate
        if self.min_days != 1:
            out["min_days"] = self.min_days
        return out


@dataclass(frozen=True)
class Scope:
    """Whose days a rule looks at, from the staff directory."""

    roles: tuple[str, ...] = ()  # only these roles (empty: everybody)
    not_roles: tuple[str, ...] = ()  # never these roles
    privileged: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.roles:
            out["roles"] = list(self.roles)
        if self.not_roles:
            out["not_roles"] = list(self.not_roles)
        if self.privileged is not None:
            out["privileged"] = self.privileged
        return out

    def __bool__(self) -> bool:
        return bool(self.roles or self.not_roles or self.privileged is not None)


@dataclass(frozen=True)
class Rule:
    """One declarative detection: a condition over features or events, for one family."""

    id: str
    title: str
    category: str
    severity: Severity
    over: Over
    where: Condition | None = None  # features rules
    actions: tuple[str, ...] = ()  # events rules
    filters: tuple[Filter, ...] = ()  # events rules
    threshold: Threshold = Threshold("count", "events")  # events rules
    window: Window = Window()
    scope: Scope = Scope()
    after: str | None = None  # notice_date or end_date
    evidence: tuple[str, ...] = ()  # actions whose events back a hit (default: actions)
    description: str = ""
    tags: tuple[str, ...] = ()
    # Where the rule was read from; not part of its identity.
    file: str | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)

    @property
    def evidence_actions(self) -> tuple[str, ...]:
        return self.evidence or self.actions

    @property
    def comparisons(self) -> tuple[Comparison, ...]:
        if isinstance(self.where, Group):
            return self.where.comparisons()
        return () if self.where is None else (self.where,)

    @property
    def location(self) -> str:
        place = self.file or "<rules>"
        return f"{place}:{self.line}" if self.line is not None else place

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, file: str | Path | None = None, line: int | None = None
    ) -> Rule:
        """Read and validate one rule; every problem found is raised together."""
        from custodes.detect.rules.reading import Reading, read_rule

        reading = Reading(file)
        rule = read_rule(reading, data, line)
        if reading.errors or rule is None:
            raise RuleErrors(reading.errors or [RuleError("invalid rule", file=file, line=line)])
        return rule

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "title": self.title}
        if self.description:
            out["description"] = self.description
        out |= {"category": self.category, "severity": str(self.severity), "over": self.over}
        if self.scope:
            out["scope"] = self.scope.to_dict()
        if self.after:
            out["after"] = self.after
        if self.window != Window():
            out["window"] = self.window.to_dict()
        if self.over == "features":
            where = self.where
            if isinstance(where, Group) and where.mode == "all":
                out["where"] = [item.to_dict() for item in where.items]
            elif where is not None:
                out["where"] = where.to_dict()
        else:
            action: Any = self.actions[0] if len(self.actions) == 1 else list(self.actions)
            out["where"] = {"action": action} | {f.field: f.to_value() for f in self.filters}
            out["threshold"] = self.threshold.to_dict()
        if self.evidence:
            out["evidence"] = list(self.evidence)
        if self.tags:
            out["tags"] = list(self.tags)
        return out


def _num(value: float) -> int | float:
    """Whole numbers print as integers: ``>= 1``, not ``>= 1.0``."""
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value
