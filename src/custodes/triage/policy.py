"""The triage policy: every number the rating, routing and SLA engines use, as data.

A triage lead must be able to change a weight, a band threshold or a queue without a
release, and an auditor must be able to say which rules rated an escalation, so the policy
is a versioned YAML file (the shipped defaults are ``policies/default.yaml``) read into
frozen dataclasses. Reading (:mod:`custodes.triage.policy_reader`) checks everything and
reports *every* problem at once, each with the file, the line and the dotted field, as the
rule packs do: the line numbers come from :mod:`custodes.detect.rules.document`, reused
rather than copied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Final

from custodes.detect.rules.document import parse
from custodes.errors import CustodesError
from custodes.model.vocabulary import (
    BANDS,
)

DEFAULT_NAME: Final = "default"
CLOCKS: Final = ("acknowledge", "first_action", "resolve")
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


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
    minor_categories: tuple[str, ...] = ()  # harms a minor aggravates; empty = all
    repeat_signal: float = 0.0  # the text says the subject was actioned before and is back

    def to_dict(self) -> dict[str, Any]:
        return {
            "reach": {
                "floor": self.reach_floor,
                "per_decade": self.reach_per_decade,
                "cap": self.reach_cap,
                "categories": list(self.reach_categories),
            },
            "minor": self.minor,
            "minor_categories": list(self.minor_categories),
            "repeat": {
                "per_item": self.repeat_per_item,
                "signal": self.repeat_signal,
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
    is at least ``band`` (and ``clock``, when set, is a legal deadline from receipt).

    The same conditions describe a *cap* (``Policy.caps``): when they all hold, the score
    is held below the band above ``band`` unless a fast lane of a more urgent band applies;
    and a *floor* (``Policy.floors``): the band is at least ``band``, as with a lane, but it
    is routine handling, not a fast lane, so the rating does not name it as one.
    """

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
    # the least strength of the signals_any signal that opens it: a stated threat ("I'll
    # kill you", 0.8), not the bare word for one ("threats", 0.5)
    min_strength: float = 0.0
    # the escalation names no account or content (no subject ids) and cites no evidence
    nothing_to_check: bool = False
    # closed when the text denies one of these ("no imminent danger", "no consta riesgo
    # inminente"): a stated denial removes the lane unless the facts open another one
    unless_negated: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        when: dict[str, Any] = {}
        for key in ("signals_all", "signals_any", "sources", "categories", "unless_negated"):
            if getattr(self, key):
                when[key] = list(getattr(self, key))
        if self.in_trusted_area:
            when["in_trusted_area"] = True
        if self.min_strength:
            when["min_strength"] = self.min_strength
        if self.nothing_to_check:
            when["nothing_to_check"] = True
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
class Form:
    """A form of a category's harm that the banding guide bands apart from the rest of the
    category (intimate images within privacy, sexualised content within child safety):
    when one of ``signals`` is in the text (not negated or hedged) at least as strong as
    given, the category's severity moves by ``shift`` (kept within 1-5). The first form of
    the category that applies is the one used."""

    name: str
    category: str
    signals: dict[str, float]  # signal -> the least strength that counts; any one suffices
    shift: int
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "category": self.category,
            "signals": dict(self.signals),
            "shift": self.shift,
        }
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
    forms: tuple[Form, ...] = ()  # severity by the form of the harm (see Form)
    caps: tuple[FastLane, ...] = ()  # the highest band the arithmetic may give (see FastLane)
    floors: tuple[FastLane, ...] = ()  # the lowest band, without being a fast lane
    description: str = ""
    # A learned adjustment in force (custodes.triage.calibration), named on every rating so
    # that it is never silent; never read from or written to the policy file itself.
    adjustment: str | None = None
    # The learned band model (custodes.triage.band_model): "lift" raises a rating of P2 or
    # lower to P1 when the model reads P0 or P1 (a safety net), "decide" lets it set the band
    # (fast lanes and floors still raise it), "advise" shows its opinion only, "off" omits it.
    text_model: str = "off"
    text_model_file: str = "builtin"  # or a model file written by `custodes triage train-model`
    text_model_min_words: int = 10  # the model acts only on texts at least this long
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
        from custodes.triage.policy_reader import read_policy  # it builds these classes

        return read_policy(data, file)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version}
        if self.description:
            out["description"] = self.description
        out |= {
            "severity": dict(self.severity),
            "forms": [form.to_dict() for form in self.forms],
            "credibility": self.credibility.to_dict(),
            "score": {"base_scale": self.base_scale, "min_category_support": self.min_support},
            "bands": dict(self.bands),
            "modifiers": self.modifiers.to_dict(),
            "fast_lanes": [lane.to_dict() for lane in self.fast_lanes],
            "floors": [floor.to_dict() for floor in self.floors],
            "caps": [cap.to_dict() for cap in self.caps],
            "text_model": {
                "use": self.text_model,
                "file": self.text_model_file,
                "min_words": self.text_model_min_words,
            },
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
        problems.append(Problem("the file must hold exactly one YAML document", label(file)))
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


def label(file: str | Path | None) -> str | None:
    return str(file) if file is not None else None


def _show_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % UNITS[unit] == 0:
            return f"{seconds // UNITS[unit]}{unit}"
    return f"{seconds}s"
