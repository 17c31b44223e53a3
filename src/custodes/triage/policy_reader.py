"""Reading a triage policy from (line-carrying) YAML data into :mod:`custodes.triage.policy`.

Kept apart from the policy's classes because checking every field and locating every
mistake is most of the code, and nothing but loading needs it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from custodes.detect.rules.document import Located, LocatedList
from custodes.detect.rules.fields import suggest
from custodes.model.vocabulary import (
    BANDS,
    ESCALATION_CATEGORIES,
    ESCALATION_LANGUAGES,
    ESCALATION_SOURCES,
)
from custodes.triage.lexicon import SIGNALS
from custodes.triage.policy import (
    CLOCKS,
    ROUTE_KEYS,
    UNITS,
    WEEKDAYS,
    BandClocks,
    Calendar,
    Credibility,
    FastLane,
    Flag,
    Form,
    Modifiers,
    Policy,
    PolicyError,
    Problem,
    Route,
    SlaPolicy,
    label,
)

_CLOCK: Final = re.compile(r"([01]\d|2[0-3]):([0-5]\d)$")
_COUNTRY: Final = re.compile(r"[A-Z]{2}$")
_DURATION: Final = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}$")


def read_policy(data: Any, file: str | Path | None = None) -> Policy:
    """Every problem in ``data`` at once (:class:`PolicyError`), or the policy."""
    r = _Reader(file)
    policy = _read_policy(r, data)
    if r.problems or policy is None:
        raise PolicyError(r.problems or [Problem("unreadable policy", r.file)])
    return policy


# --------------------------------------------------------------------------- reading

TEXT_MODEL_USES: Final = ("lift", "decide", "advise", "off")
_TOP: Final = (
    "version",
    "description",
    "severity",
    "forms",
    "credibility",
    "score",
    "bands",
    "modifiers",
    "fast_lanes",
    "floors",
    "caps",
    "text_model",
    "flags",
    "regions",
    "routing",
    "sla",
)


class _Reader:
    """Typed reads from located YAML data; every failure becomes a located problem and a
    harmless default, so one pass reports every mistake."""

    def __init__(self, file: str | Path | None) -> None:
        self.file = label(file)
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
        seconds = float(match.group(1)) * UNITS[match.group(2)]
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
    floors = tuple(_read_cap(r, item, path) for item, path in r.items(data, "floors", ""))
    _unique(r, data, "floors", [floor.name for floor in floors])
    caps = tuple(_read_cap(r, item, path) for item, path in r.items(data, "caps", ""))
    _unique(r, data, "caps", [cap.name for cap in caps])
    forms = tuple(_read_form(r, item, path) for item, path in r.items(data, "forms", ""))
    _unique(r, data, "forms", [form.name for form in forms])
    flags = tuple(_read_flag(r, item, path) for item, path in r.items(data, "flags", ""))
    use, model_file, min_words = _read_text_model(r, data)
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
        forms=forms,
        caps=caps,
        floors=floors,
        text_model=use,
        text_model_file=model_file,
        text_model_min_words=min_words,
        file=r.file,
    )


def _read_text_model(r: _Reader, data: Mapping[str, Any]) -> tuple[str, str, int]:
    """How the learned band model is used, and which file (checked now, so a policy naming
    a missing or broken model fails when it is loaded, not at the first rating)."""
    if "text_model" not in data:
        return "off", "builtin", 10
    section = r.mapping(data, "text_model", "", ("use", "file", "min_words"))
    min_words = int(r.number(section, "min_words", "text_model", 1, 1000, default=10))
    use = r.text(section, "use", "text_model", choices=TEXT_MODEL_USES, default="off")
    file = r.text(section, "file", "text_model", default="builtin")
    if file != "builtin":
        from custodes.triage.band_model import BandModelError, load_model

        base = Path(r.file).parent if r.file and not r.file.startswith("<") else Path.cwd()
        try:
            load_model(base / file)
        except BandModelError as exc:
            r.problem(str(exc), section, "file", "text_model.file")
        file = str(base / file)
    return use or "off", file or "builtin", min_words


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
    keys = (
        "reach",
        "minor",
        "minor_categories",
        "repeat",
        "coordination",
        "legal_exposure",
        "total_cap",
    )
    m = r.mapping(data, p, "", keys)
    reach = r.mapping(m, "reach", p, ("floor", "per_decade", "cap", "categories")) if m else {}
    repeat = r.mapping(m, "repeat", p, ("per_item", "signal", "cap", "categories")) if m else {}
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
        minor_categories=r.texts(m, "minor_categories", p, ESCALATION_CATEGORIES),
        repeat_signal=r.number(repeat, "signal", f"{p}.repeat", 0, 50, default=0.0),
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
    "min_strength",
    "nothing_to_check",
    "unless_negated",
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
        min_strength=r.number(when, "min_strength", where, 0, 1, default=0.0),
        nothing_to_check=r.flag(when, "nothing_to_check", where),
        unless_negated=r.texts(when, "unless_negated", where, choices=SIGNALS),
    )


def _read_cap(r: _Reader, data: Any, path: str) -> FastLane:
    """A cap or a floor: a fast lane's conditions and band, no clock, no category."""
    bound = _read_lane(r, data, path)
    kind = "a cap" if path.startswith("caps") else "a floor"
    if isinstance(data, Mapping):
        for key in ("clock", "category"):
            if key in data:
                r.problem(f"{kind} has no '{key}'", data, key, _join(path, key))
        if bound.band == BANDS[0]:  # only a fast lane makes a P0; a P0 cap holds nothing
            reason = f"{kind} at {BANDS[0]} does nothing a fast lane does not"
            r.problem(reason, data, "band", _join(path, "band"))
    return bound


def _read_form(r: _Reader, data: Any, path: str) -> Form:
    if not isinstance(data, Mapping):
        r.problem("a form must be a mapping", data, None, path)
        return Form(name="invalid", category="other", signals={}, shift=0)
    r.keys(data, ("name", "category", "signals", "shift", "description"), path)
    signals = r.mapping(data, "signals", path)
    least: dict[str, float] = {}
    for name in signals:
        if name in SIGNALS:
            least[str(name)] = r.number(signals, name, f"{path}.signals", 0, 1)
        else:
            reason = f"unknown signal '{name}'{suggest(str(name), SIGNALS)}"
            r.problem(reason, signals, name, f"{path}.signals.{name}")
    if "signals" in data and not least:
        r.problem("a form needs at least one signal", data, "signals", f"{path}.signals")
    shift = r.number(data, "shift", path, -4, 4)
    if shift != int(shift):
        r.problem("must be a whole number from -4 to 4", data, "shift", f"{path}.shift")
    return Form(
        name=r.text(data, "name", path, pattern=_NAME),
        category=r.text(data, "category", path, choices=ESCALATION_CATEGORIES),
        signals=least,
        shift=int(shift),
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
