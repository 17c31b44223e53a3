"""The triage policy: every number the rating, routing and SLA engines use, as data.

A triage lead must be able to change a weight, a band threshold or a queue without a
release, and an auditor must be able to say which rules rated an escalation, so the policy
is a versioned YAML file (the shipped defaults are ``policies/default.yaml``) read into
frozen dataclasses. Reading checks everything and reports *every* problem at once, each
with the file, the line and the dotted field, as the rule packs do: the line numbers come
from :mod:`custodes.detect.rules.document`, which this module reuses rather than copies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from custodes.detect.rules.document import Located, LocatedList, parse
from custodes.detect.rules.fields import suggest
from custodes.errors import CustodesError
from custodes.model.vocabulary import (
    BANDS,
    ESCALATION_CATEGORIES,
    ESCALATION_LANGUAGES,
    ESCALATION_SOURCES,
)
from custodes.triage.lexicon import SIGNALS

DEFAULT_NAME: Final = "default"
CLOCKS: Final = ("acknowledge", "first_action", "resolve")
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION: Final = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_CLOCK: Final = re.compile(r"([01]\d|2[0-3]):([0-5]\d)$")
_COUNTRY: Final = re.compile(r"[A-Z]{2}$")
_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a policy file, located as precisely as the YAML allows."""

    reason: str
    file: str | None = None
    line: int | None = None
    field: str | None = None

    def render(self) -> str:
        """``policies/x.yaml:12: field 'bands.P1': must be a number``."""
        where = self.file or "<policy>"
        if self.line is not None:
            where += f":{self.line}"
        parts = [where] + ([f"field '{self.field}'"] if self.field else [])
        return ": ".join([*parts, self.reason])


class PolicyError(CustodesError):
    """A policy that cannot be used, with every problem found (not just the first)."""

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("PolicyError needs at least one problem")
        self.problems = tuple(sorted(problems, key=lambda p: (p.file or "", p.line or 0)))
        if len(self.problems) == 1:
            message = self.problems[0].render()
        else:
            lines = "\n".join(f"  {p.render()}" for p in self.problems)
            message = f"{len(self.problems)} problems in the triage policy:\n{lines}"
        super().__init__(message)


# --------------------------------------------------------------------------- the policy


@dataclass(frozen=True)
class Credibility:
    """How far to believe an escalation, 1-5: the source's base, then specificity and
    evidence. Kept apart from harm so a credible report of a small harm stays small."""

    sources: dict[str, float]
    subject_ids: float  # the escalation names the accounts / content concerned
    strong_text: float  # the text itself clearly supports the category
    strong_support: float  # ... meaning the reading's support is at least this
    weak_text: float  # the text barely supports the category (usually negative)
    weak_support: float  # ... meaning the reading's support is below this
    evidence: float  # links, screenshots, ids attached
    reported_only: float  # every supporting signal is hearsay (usually negative)
    trusted_area: float  # a trusted flagger reporting within its accreditation
    figurative: float = 0.0  # the harm was read as hyperbole, news or recovery (negative)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": dict(self.sources),
            "subject_ids": self.subject_ids,
            "strong_text": self.strong_text,
            "strong_support": self.strong_support,
            "weak_text": self.weak_text,
            "weak_support": self.weak_support,
            "evidence": self.evidence,
            "reported_only": self.reported_only,
            "trusted_area": self.trusted_area,
            "figurative": self.figurative,
        }


@dataclass(frozen=True)
class Modifiers:
    """Additive points on top of the base, each capped, and capped together, so that no
    context (however viral or however many prior reports) can outweigh the harm itself."""

    reach_floor: int  # reach up to this adds nothing
    reach_per_decade: float  # points per tenfold reach above the floor
    reach_cap: float
    reach_categories: tuple[str, ...]  # harms that scale with audience; empty = all
    minor: float  # a minor is the subject or the victim
    repeat_per_item: float  # per earlier escalation or open case about the same subjects
    repeat_cap: float
    repeat_categories: tuple[str, ...]  # empty = all
    coordination_per_doubling: float  # per doubling of the cluster size
    coordination_signal: float  # the text describes a campaign / many accounts
    coordination_cap: float
    legal_exposure: dict[str, float]  # jurisdiction (ISO 3166-1) -> points
    legal_exposure_default: float
    total_cap: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "reach": {
                "floor": self.reach_floor,
                "per_decade": self.reach_per_decade,
                "cap": self.reach_cap,
                "categories": list(self.reach_categories),
            },
            "minor": self.minor,
            "repeat": {
                "per_item": self.repeat_per_item,
                "cap": self.repeat_cap,
                "categories": list(self.repeat_categories),
            },
            "coordination": {
                "per_doubling": self.coordination_per_doubling,
                "signal": self.coordination_signal,
                "cap": self.coordination_cap,
            },
            "legal_exposure": {
                "jurisdictions": dict(self.legal_exposure),
                "default": self.legal_exposure_default,
            },
            "total_cap": self.total_cap,
        }


@dataclass(frozen=True)
class FastLane:
    """A case the policy never leaves to arithmetic: when every condition holds the band
    is at least ``band`` (and ``clock``, when set, is a legal deadline from receipt)."""

    name: str
    band: str
    signals_all: tuple[str, ...] = ()
    signals_any: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    in_trusted_area: bool = False
    needs_deadline: bool = False
    deadline_within: timedelta | None = None  # the deadline is at most this after receipt
    min_credibility: float = 0.0
    clock: timedelta | None = None
    category: str | None = None  # the lane decides the category (a TCO order is terrorism)
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        when: dict[str, Any] = {}
        for key in ("signals_all", "signals_any", "sources", "categories"):
            if getattr(self, key):
                when[key] = list(getattr(self, key))
        if self.in_trusted_area:
            when["in_trusted_area"] = True
        if self.needs_deadline:
            when["needs_deadline"] = True
        if self.deadline_within is not None:
            when["deadline_within"] = _show_duration(self.deadline_within)
        if self.min_credibility:
            when["min_credibility"] = self.min_credibility
        out: dict[str, Any] = {"name": self.name, "band": self.band, "when": when}
        if self.category is not None:
            out["category"] = self.category
        if self.clock is not None:
            out["clock"] = _show_duration(self.clock)
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Flag:
    """Organisational impact (press, regulator, VIP): sets a reply clock, never the harm."""

    name: str
    reply: timedelta
    sources: tuple[str, ...] = ()
    requesters: tuple[str, ...] = ()  # matched case-insensitively as substrings
    min_reach: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "reply": _show_duration(self.reply)}
        if self.sources:
            out["sources"] = list(self.sources)
        if self.requesters:
            out["requesters"] = list(self.requesters)
        if self.min_reach is not None:
            out["min_reach"] = self.min_reach
        return out


@dataclass(frozen=True)
class Route:
    """A routing rule: the first whose every listed condition holds names the queue."""

    queue: str
    categories: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    bands: tuple[str, ...] = ()
    fast_lanes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        when = {k: list(getattr(self, k)) for k in ROUTE_KEYS if getattr(self, k)}
        return {"queue": self.queue, "when": when}


ROUTE_KEYS: Final = (
    "categories",
    "regions",
    "jurisdictions",
    "languages",
    "sources",
    "bands",
    "fast_lanes",
)


@dataclass(frozen=True)
class Calendar:
    """Working hours of one region's team: its time zone, days, hours and holidays."""

    name: str
    timezone: str
    days: tuple[int, ...]  # 0 = Monday
    opens: time
    closes: time
    countries: tuple[str, ...] = ()  # jurisdictions this calendar serves
    holidays: str | None = None  # country code for the `holidays` package
    subdivision: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "timezone": self.timezone,
            "days": [WEEKDAYS[d] for d in self.days],
            "hours": f"{self.opens:%H:%M}-{self.closes:%H:%M}",
        }
        if self.countries:
            out["countries"] = list(self.countries)
        if self.holidays:
            out["holidays"] = self.holidays
        if self.subdivision:
            out["subdivision"] = self.subdivision
        return out


@dataclass(frozen=True)
class BandClocks:
    """How long a band may wait before acknowledgement, first action and resolution."""

    acknowledge: timedelta
    first_action: timedelta
    resolve: timedelta

    def get(self, name: str) -> timedelta:
        return {
            "acknowledge": self.acknowledge,
            "first_action": self.first_action,
            "resolve": self.resolve,
        }[name]

    def to_dict(self) -> dict[str, str]:
        return {name: _show_duration(self.get(name)) for name in CLOCKS}


@dataclass(frozen=True)
class SlaPolicy:
    """Clocks per band; which bands count business hours only; the regional calendars."""

    clocks: dict[str, BandClocks]
    business_hours: tuple[str, ...]
    calendars: tuple[Calendar, ...]
    default_calendar: str

    def calendar_for(self, jurisdiction: str | None) -> Calendar:
        """The calendar serving a jurisdiction, else the default one."""
        for cal in self.calendars:
            if jurisdiction is not None and jurisdiction in cal.countries:
                return cal
        return next(c for c in self.calendars if c.name == self.default_calendar)

    def to_dict(self) -> dict[str, Any]:
        return {
            "clocks": {band: c.to_dict() for band, c in self.clocks.items()},
            "business_hours": list(self.business_hours),
            "default_calendar": self.default_calendar,
            "calendars": [c.to_dict() for c in self.calendars],
        }


@dataclass(frozen=True)
class Policy:
    """A complete, validated triage policy. ``version`` goes on every rating."""

    version: str
    severity: dict[str, int]
    credibility: Credibility
    base_scale: float
    bands: dict[str, float]  # P0..P3 -> lowest score of the band; P4 is the rest
    min_support: float  # below this the reporter's category hint is preferred
    modifiers: Modifiers
    fast_lanes: tuple[FastLane, ...]
    flags: tuple[Flag, ...]
    regions: dict[str, tuple[str, ...]]
    routes: tuple[Route, ...]
    default_route: str
    sla: SlaPolicy
    description: str = ""
    file: str | None = field(default=None, compare=False)

    def band_of(self, score: float) -> str:
        for band in BANDS[:-1]:
            if score >= self.bands[band]:
                return band
        return BANDS[-1]

    def region_of(self, jurisdiction: str | None) -> str | None:
        for region, countries in self.regions.items():
            if jurisdiction is not None and jurisdiction in countries:
                return region
        return None

    @classmethod
    def from_dict(cls, data: Any, *, file: str | Path | None = None) -> Policy:
        """A policy from plain (or line-carrying YAML) data; raises :class:`PolicyError`
        listing every problem."""
        r = _Reader(file)
        policy = _read_policy(r, data)
        if r.problems or policy is None:
            raise PolicyError(r.problems or [Problem("unreadable policy", r.file)])
        return policy

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version}
        if self.description:
            out["description"] = self.description
        out |= {
            "severity": dict(self.severity),
            "credibility": self.credibility.to_dict(),
            "score": {"base_scale": self.base_scale, "min_category_support": self.min_support},
            "bands": dict(self.bands),
            "modifiers": self.modifiers.to_dict(),
            "fast_lanes": [lane.to_dict() for lane in self.fast_lanes],
            "flags": [f.to_dict() for f in self.flags],
            "regions": {k: list(v) for k, v in self.regions.items()},
            "routing": {
                "default": self.default_route,
                "rules": [route.to_dict() for route in self.routes],
            },
            "sla": self.sla.to_dict(),
        }
        return out


def load_policy(path: Path | None = None) -> Policy:
    """The policy in ``path``, or the shipped default; raises :class:`PolicyError`."""
    if path is None:
        return _default()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([Problem(f"cannot read: {exc}", str(path))]) from exc
    return policy_from_text(text, path)


def policy_from_text(text: str, file: str | Path | None = None) -> Policy:
    """A policy from YAML text (one document)."""
    docs, errors = parse(text, file)
    problems = [Problem(e.reason, e.file, e.line, e.field) for e in errors]
    if len(docs) != 1 and not problems:
        problems.append(Problem("the file must hold exactly one YAML document", _label(file)))
    if problems:
        raise PolicyError(problems)
    return Policy.from_dict(docs[0], file=file)


def default_text() -> str:
    """The shipped default policy (through importlib.resources, so it works from a wheel)."""
    resource = resources.files("custodes.triage").joinpath("policies", f"{DEFAULT_NAME}.yaml")
    return resource.read_text(encoding="utf-8")


_DEFAULT: list[Policy] = []


def _default() -> Policy:
    if not _DEFAULT:
        _DEFAULT.append(policy_from_text(default_text(), f"<builtin:{DEFAULT_NAME}>"))
    return _DEFAULT[0]


def _label(file: str | Path | None) -> str | None:
    return str(file) if file is not None else None


def _show_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


# --------------------------------------------------------------------------- reading

_TOP: Final = (
    "version",
    "description",
    "severity",
    "credibility",
    "score",
    "bands",
    "modifiers",
    "fast_lanes",
    "flags",
    "regions",
    "routing",
    "sla",
)


class _Reader:
    """Typed reads from located YAML data; every failure becomes a located problem and a
    harmless default, so one pass reports every mistake."""

    def __init__(self, file: str | Path | None) -> None:
        self.file = _label(file)
        self.problems: list[Problem] = []

    def problem(self, reason: str, data: Any, key: str | int | None, path: str) -> None:
        self.problems.append(Problem(reason, self.file, _line(data, key), path or None))

    def keys(self, data: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None:
        for key in data:
            if key not in allowed:
                self.problem(
                    f"unknown key '{key}'{suggest(str(key), allowed)}; "
                    f"expected one of: {', '.join(allowed)}",
                    data,
                    key,
                    _join(path, str(key)),
                )

    def mapping(
        self, data: Mapping[str, Any], key: str, path: str, allowed: tuple[str, ...] | None = None
    ) -> Mapping[str, Any]:
        where = _join(path, key)
        if key not in data:
            self.problem(f"missing required key '{key}'", data, None, path)
            return {}
        value = data[key]
        if not isinstance(value, Mapping):
            self.problem("must be a mapping of keys to values", data, key, where)
            return {}
        if allowed is not None:
            self.keys(value, allowed, where)
        return value

    def items(self, data: Mapping[str, Any], key: str, path: str) -> list[tuple[Any, str]]:
        """A list's items with their dotted paths; an absent key is an empty list."""
        value = data.get(key, [])
        if not isinstance(value, list):
            self.problem("must be a list", data, key, _join(path, key))
            return []
        return [(item, f"{_join(path, key)}[{i}]") for i, item in enumerate(value)]

    def number(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        lo: float,
        hi: float,
        default: float | None = None,
    ) -> float:
        where = _join(path, key)
        if key not in data:
            if default is None:
                self.problem(f"missing required key '{key}'", data, None, path)
                return lo
            return default
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(f"must be a number, not {value!r}", data, key, where)
            return lo
        if not lo <= value <= hi:
            self.problem(f"must be between {lo:g} and {hi:g}, not {value:g}", data, key, where)
            return lo
        return float(value)

    def text(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        choices: tuple[str, ...] | None = None,
        default: str | None = None,
        pattern: re.Pattern[str] | None = None,
    ) -> str:
        where = _join(path, key)
        if key not in data or data[key] is None:
            if default is None:
                self.problem(f"missing required key '{key}'", data, None, path)
                return ""
            return default
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            self.problem(f"must be non-empty text, not {value!r}", data, key, where)
            return ""
        self._check(value, choices, pattern, data, key, where)
        return value

    def texts(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        choices: tuple[str, ...] | None = None,
        pattern: re.Pattern[str] | None = None,
    ) -> tuple[str, ...]:
        where = _join(path, key)
        value = data.get(key, [])
        if not isinstance(value, list):
            self.problem("must be a list of text", data, key, where)
            return ()
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.problem(f"must be text, not {item!r}", value, i, f"{where}[{i}]")
                continue
            if self._check(item, choices, pattern, value, i, f"{where}[{i}]"):
                out.append(item)
        return tuple(out)

    def _check(
        self,
        value: str,
        choices: tuple[str, ...] | None,
        pattern: re.Pattern[str] | None,
        data: Any,
        key: str | int,
        where: str,
    ) -> bool:
        if choices is not None and value not in choices:
            self.problem(
                f"unknown value '{value}'{suggest(value, choices)}; "
                f"expected one of: {', '.join(choices)}",
                data,
                key,
                where,
            )
            return False
        if pattern is not None and not pattern.match(value):
            self.problem(f"'{value}' is not of the form {pattern.pattern}", data, key, where)
            return False
        return True

    def duration(
        self, data: Mapping[str, Any], key: str, path: str, *, required: bool = True
    ) -> timedelta | None:
        if key not in data or data[key] is None:
            if required:
                self.problem(f"missing required key '{key}'", data, None, path)
                return timedelta(hours=1)
            return None
        value = data[key]
        match = _DURATION.match(value) if isinstance(value, str) else None
        if match is None:
            self.problem(
                f"must be a duration such as '30m', '4h' or '2d', not {value!r}",
                data,
                key,
                _join(path, key),
            )
            return timedelta(hours=1)
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
        if seconds <= 0:
            self.problem("must be longer than zero", data, key, _join(path, key))
            return timedelta(hours=1)
        return timedelta(seconds=seconds)

    def flag(self, data: Mapping[str, Any], key: str, path: str) -> bool:
        value = data.get(key, False)
        if not isinstance(value, bool):
            self.problem(f"must be true or false, not {value!r}", data, key, _join(path, key))
            return False
        return value


def _line(data: Any, key: str | int | None) -> int | None:
    if isinstance(data, Located):
        return data.line_of(key) if isinstance(key, str) else data.line
    if isinstance(data, LocatedList):
        return data.line_of(key) if isinstance(key, int) else data.line
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _read_policy(r: _Reader, data: Any) -> Policy | None:
    if not isinstance(data, Mapping):
        r.problem("a policy must be a mapping of keys to values", data, None, "")
        return None
    r.keys(data, _TOP, "")
    version = r.text(data, "version", "")
    if "version" in data and not isinstance(data["version"], str):
        r.problems.pop()
        version = str(data["version"])  # `version: 2` is a fine version
    severity = _read_severity(r, data)
    credibility = _read_credibility(r, data)
    score = r.mapping(data, "score", "", ("base_scale", "min_category_support"))
    bands = _read_bands(r, data)
    regions = _read_regions(r, data)
    routing = r.mapping(data, "routing", "", ("default", "rules"))
    lanes = tuple(_read_lane(r, item, path) for item, path in r.items(data, "fast_lanes", ""))
    _unique(r, data, "fast_lanes", [lane.name for lane in lanes])
    flags = tuple(_read_flag(r, item, path) for item, path in r.items(data, "flags", ""))
    routes = tuple(
        _read_route(r, item, path, regions, lanes)
        for item, path in r.items(routing, "rules", "routing")
    )
    return Policy(
        version=version,
        description=r.text(data, "description", "", default=""),
        severity=severity,
        credibility=credibility,
        base_scale=r.number(score, "base_scale", "score", 0.01, 4.0),
        bands=bands,
        min_support=r.number(score, "min_category_support", "score", 0.0, 1.0),
        modifiers=_read_modifiers(r, data),
        fast_lanes=lanes,
        flags=flags,
        regions=regions,
        routes=routes,
        default_route=r.text(routing, "default", "routing", pattern=_NAME, default="triage"),
        sla=_read_sla(r, data),
        file=r.file,
    )


def _read_severity(r: _Reader, data: Mapping[str, Any]) -> dict[str, int]:
    section = r.mapping(data, "severity", "", ESCALATION_CATEGORIES)
    out: dict[str, int] = {}
    for category in ESCALATION_CATEGORIES:
        value = r.number(section, category, "severity", 1, 5) if section else 1.0
        if value != int(value):
            r.problem(
                "must be a whole number from 1 to 5", section, category, f"severity.{category}"
            )
        out[category] = int(value)
    return out


def _read_credibility(r: _Reader, data: Mapping[str, Any]) -> Credibility:
    keys = (
        "sources",
        "subject_ids",
        "strong_text",
        "strong_support",
        "weak_text",
        "weak_support",
        "evidence",
        "reported_only",
        "trusted_area",
        "figurative",
    )
    section = r.mapping(data, "credibility", "", keys)
    sources = r.mapping(section, "sources", "credibility", ESCALATION_SOURCES) if section else {}
    p = "credibility"
    return Credibility(
        sources={s: r.number(sources, s, f"{p}.sources", 1, 5) for s in ESCALATION_SOURCES},
        subject_ids=r.number(section, "subject_ids", p, -2, 2),
        strong_text=r.number(section, "strong_text", p, -2, 2),
        strong_support=r.number(section, "strong_support", p, 0, 1),
        weak_text=r.number(section, "weak_text", p, -2, 2),
        weak_support=r.number(section, "weak_support", p, 0, 1),
        evidence=r.number(section, "evidence", p, -2, 2),
        reported_only=r.number(section, "reported_only", p, -2, 2),
        trusted_area=r.number(section, "trusted_area", p, -2, 2),
        figurative=r.number(section, "figurative", p, -4, 0, default=0.0),
    )


def _read_bands(r: _Reader, data: Mapping[str, Any]) -> dict[str, float]:
    section = r.mapping(data, "bands", "", BANDS[:-1])
    bands = {b: r.number(section, b, "bands", 0, 100) for b in BANDS[:-1]}
    if section and all(b in section for b in bands):
        for upper, lower in pairwise(BANDS[:-1]):
            if bands[upper] <= bands[lower]:
                r.problem(
                    f"{upper} must start above {lower} ({bands[upper]:g} <= {bands[lower]:g})",
                    section,
                    upper,
                    f"bands.{upper}",
                )
    return bands


def _read_regions(r: _Reader, data: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    section = r.mapping(data, "regions", "")
    out: dict[str, tuple[str, ...]] = {}
    for name in section:
        if not _NAME.match(str(name)):
            r.problem("region names are lower-case words", section, name, f"regions.{name}")
        out[str(name)] = r.texts(section, name, "regions", pattern=_COUNTRY)
    return out


def _read_modifiers(r: _Reader, data: Mapping[str, Any]) -> Modifiers:
    p = "modifiers"
    keys = ("reach", "minor", "repeat", "coordination", "legal_exposure", "total_cap")
    m = r.mapping(data, p, "", keys)
    reach = r.mapping(m, "reach", p, ("floor", "per_decade", "cap", "categories")) if m else {}
    repeat = r.mapping(m, "repeat", p, ("per_item", "cap", "categories")) if m else {}
    coord = r.mapping(m, "coordination", p, ("per_doubling", "signal", "cap")) if m else {}
    legal = r.mapping(m, "legal_exposure", p, ("jurisdictions", "default")) if m else {}
    places = r.mapping(legal, "jurisdictions", f"{p}.legal_exposure") if legal else {}
    exposure = {}
    for code in places:
        if not _COUNTRY.match(str(code)):
            where = f"{p}.legal_exposure.jurisdictions.{code}"
            r.problem("jurisdictions are ISO 3166-1 alpha-2 codes", places, code, where)
        exposure[str(code)] = r.number(places, code, f"{p}.legal_exposure.jurisdictions", 0, 50)
    return Modifiers(
        reach_floor=int(r.number(reach, "floor", f"{p}.reach", 1, 1e12)),
        reach_per_decade=r.number(reach, "per_decade", f"{p}.reach", 0, 50),
        reach_cap=r.number(reach, "cap", f"{p}.reach", 0, 50),
        reach_categories=r.texts(reach, "categories", f"{p}.reach", ESCALATION_CATEGORIES),
        minor=r.number(m, "minor", p, 0, 50),
        repeat_per_item=r.number(repeat, "per_item", f"{p}.repeat", 0, 50),
        repeat_cap=r.number(repeat, "cap", f"{p}.repeat", 0, 50),
        repeat_categories=r.texts(repeat, "categories", f"{p}.repeat", ESCALATION_CATEGORIES),
        coordination_per_doubling=r.number(coord, "per_doubling", f"{p}.coordination", 0, 50),
        coordination_signal=r.number(coord, "signal", f"{p}.coordination", 0, 50),
        coordination_cap=r.number(coord, "cap", f"{p}.coordination", 0, 50),
        legal_exposure=exposure,
        legal_exposure_default=r.number(legal, "default", f"{p}.legal_exposure", 0, 50),
        total_cap=r.number(m, "total_cap", p, 0, 100),
    )


_LANE_KEYS: Final = ("name", "band", "when", "clock", "category", "description")
_WHEN_KEYS: Final = (
    "signals_all",
    "signals_any",
    "sources",
    "categories",
    "in_trusted_area",
    "needs_deadline",
    "deadline_within",
    "min_credibility",
)


def _read_lane(r: _Reader, data: Any, path: str) -> FastLane:
    if not isinstance(data, Mapping):
        r.problem("a fast lane must be a mapping", data, None, path)
        return FastLane(name="invalid", band=BANDS[-1])
    r.keys(data, _LANE_KEYS, path)
    when = r.mapping(data, "when", path, _WHEN_KEYS)
    where = f"{path}.when"
    if when and not any(when.get(k) for k in _WHEN_KEYS):
        r.problem("a fast lane needs at least one condition", data, "when", where)
    return FastLane(
        name=r.text(data, "name", path, pattern=_NAME),
        band=r.text(data, "band", path, choices=BANDS),
        signals_all=r.texts(when, "signals_all", where, choices=SIGNALS),
        signals_any=r.texts(when, "signals_any", where, choices=SIGNALS),
        sources=r.texts(when, "sources", where, choices=ESCALATION_SOURCES),
        categories=r.texts(when, "categories", where, choices=ESCALATION_CATEGORIES),
        in_trusted_area=r.flag(when, "in_trusted_area", where),
        needs_deadline=r.flag(when, "needs_deadline", where),
        deadline_within=r.duration(when, "deadline_within", where, required=False),
        min_credibility=r.number(when, "min_credibility", where, 0, 5, default=0.0),
        clock=r.duration(data, "clock", path, required=False),
        category=r.text(data, "category", path, choices=ESCALATION_CATEGORIES, default="") or None,
        description=r.text(data, "description", path, default=""),
    )


def _read_flag(r: _Reader, data: Any, path: str) -> Flag:
    if not isinstance(data, Mapping):
        r.problem("a flag must be a mapping", data, None, path)
        return Flag(name="invalid", reply=timedelta(hours=1))
    r.keys(data, ("name", "reply", "sources", "requesters", "min_reach"), path)
    min_reach = r.number(data, "min_reach", path, 1, 1e12, default=0) or None
    flag = Flag(
        name=r.text(data, "name", path, pattern=_NAME),
        reply=r.duration(data, "reply", path) or timedelta(hours=1),
        sources=r.texts(data, "sources", path, choices=ESCALATION_SOURCES),
        requesters=tuple(t.casefold() for t in r.texts(data, "requesters", path)),
        min_reach=int(min_reach) if min_reach is not None else None,
    )
    if not (flag.sources or flag.requesters or flag.min_reach):
        r.problem("a flag needs sources, requesters or min_reach", data, None, path)
    return flag


def _read_route(
    r: _Reader,
    data: Any,
    path: str,
    regions: dict[str, tuple[str, ...]],
    lanes: tuple[FastLane, ...],
) -> Route:
    if not isinstance(data, Mapping):
        r.problem("a routing rule must be a mapping", data, None, path)
        return Route(queue="invalid")
    r.keys(data, ("queue", "when"), path)
    when = r.mapping(data, "when", path, ROUTE_KEYS) if "when" in data else {}
    where = f"{path}.when"
    return Route(
        queue=r.text(data, "queue", path, pattern=_NAME),
        categories=r.texts(when, "categories", where, choices=ESCALATION_CATEGORIES),
        regions=r.texts(when, "regions", where, choices=tuple(regions)),
        jurisdictions=r.texts(when, "jurisdictions", where, pattern=_COUNTRY),
        languages=r.texts(when, "languages", where, choices=(*ESCALATION_LANGUAGES, "und")),
        sources=r.texts(when, "sources", where, choices=ESCALATION_SOURCES),
        bands=r.texts(when, "bands", where, choices=BANDS),
        fast_lanes=r.texts(when, "fast_lanes", where, choices=tuple(lane.name for lane in lanes)),
    )


def _read_sla(r: _Reader, data: Mapping[str, Any]) -> SlaPolicy:
    p = "sla"
    section = r.mapping(data, p, "", ("clocks", "business_hours", "default_calendar", "calendars"))
    clocks_data = r.mapping(section, "clocks", p, BANDS) if section else {}
    clocks: dict[str, BandClocks] = {}
    for band in BANDS:
        one = r.mapping(clocks_data, band, f"{p}.clocks", CLOCKS) if clocks_data else {}
        where = f"{p}.clocks.{band}"
        got = {n: r.duration(one, n, where) or timedelta(hours=1) for n in CLOCKS}
        clocks[band] = BandClocks(**got)
        if one and not got["acknowledge"] <= got["first_action"] <= got["resolve"]:
            r.problem("needs acknowledge <= first_action <= resolve", clocks_data, band, where)
    calendars = tuple(
        _read_calendar(r, item, path) for item, path in r.items(section, "calendars", p)
    )
    names = [c.name for c in calendars]
    _unique(r, section, "calendars", names)
    default = r.text(section, "default_calendar", p, default="")
    if section and default not in names:
        r.problem(
            f"no calendar named '{default}'; calendars: {', '.join(names) or 'none'}",
            section,
            "default_calendar",
            f"{p}.default_calendar",
        )
    return SlaPolicy(
        clocks=clocks,
        business_hours=r.texts(section, "business_hours", p, choices=BANDS),
        calendars=calendars,
        default_calendar=default,
    )


def _read_calendar(r: _Reader, data: Any, path: str) -> Calendar:
    fallback = Calendar("invalid", "UTC", (0,), time(9), time(17))
    if not isinstance(data, Mapping):
        r.problem("a calendar must be a mapping", data, None, path)
        return fallback
    keys = ("name", "timezone", "days", "hours", "countries", "holidays", "subdivision")
    r.keys(data, keys, path)
    zone = r.text(data, "timezone", path, default="UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(f"unknown IANA time zone '{zone}'", data, "timezone", f"{path}.timezone")
        zone = "UTC"
    days = r.texts(data, "days", path, choices=WEEKDAYS)
    if not days:
        r.problem("a calendar needs at least one working day", data, "days", f"{path}.days")
    opens, closes = _read_hours(r, data, path)
    country = r.text(data, "holidays", path, default="") or None
    subdivision = r.text(data, "subdivision", path, default="") or None
    if country is not None:
        try:
            holidays.country_holidays(country, subdiv=subdivision, years=2026)
        except (NotImplementedError, KeyError, ValueError) as exc:
            r.problem(f"no holiday calendar: {exc}", data, "holidays", f"{path}.holidays")
            country = subdivision = None
    return Calendar(
        name=r.text(data, "name", path, pattern=_NAME),
        timezone=zone,
        days=tuple(sorted({WEEKDAYS.index(d) for d in days})) or (0,),
        opens=opens,
        closes=closes,
        countries=r.texts(data, "countries", path, pattern=_COUNTRY),
        holidays=country,
        subdivision=subdivision,
    )


def _read_hours(r: _Reader, data: Mapping[str, Any], path: str) -> tuple[time, time]:
    text = r.text(data, "hours", path, default="09:00-17:00")
    parts = [_CLOCK.match(p.strip()) for p in text.split("-")]
    if len(parts) != 2 or parts[0] is None or parts[1] is None:
        r.problem(f"hours are 'HH:MM-HH:MM', not {text!r}", data, "hours", f"{path}.hours")
        return time(9), time(17)
    opens, closes = (time(int(m.group(1)), int(m.group(2))) for m in parts if m is not None)
    if opens >= closes:
        r.problem("a working day must close after it opens", data, "hours", f"{path}.hours")
        return time(9), time(17)
    return opens, closes


def _unique(r: _Reader, data: Mapping[str, Any], key: str, names: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            items = data.get(key)
            r.problem(f"duplicate name '{name}'", items, i, f"{key}[{i}]")
        seen.add(name)
