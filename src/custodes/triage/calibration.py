"""Learning from analysts' overrides: where the engine and analysts disagree, by factor,
and what small change of the policy that evidence supports.

Why a report before any adjustment: an override is an analyst saying the engine's band is
wrong for one escalation. One override is an opinion; many in the same direction on the
same kind of escalation are evidence about a policy number. The report counts them (the
engine band x analyst band matrix, up or down) and sets them against the factors each
rating listed as stored: how often a factor was present in overridden ratings against all
ratings, and the mean signed band shift when it was (``+1`` = the analyst made it one band
more urgent). An escalation nobody overrode counts as agreement.

Only ratings made under the policy version in force are counted. Overrides of ratings made
by an earlier version are evidence about that version, and counting them again after an
adjustment would stack the same lesson twice.

Why these two knobs, and these bounds: a category's ``severity`` and a source's base
``credibility`` are the numbers a triage lead would tune by hand from the same evidence,
and each moves a whole, nameable group of ratings. A suggestion moves one of them one step
(severity 1, credibility 0.5), never more than ``MAX_DRIFT`` from the base policy over all
adjustments together, and within 1-5: a bigger change is a policy edit a person makes.
Fast lanes are legal and safety floors, and modifiers are capped context; they are
reported, never learned.

A group (one category, or one source) gets a suggestion only when

* it holds at least ``MIN_OVERRIDES`` (6) overrides — six of six in one direction is the
  fewest a two-sided sign test tells from chance at 5 %, so fewer can never be evidence;
* their directions pass that sign test (p ≤ ``MAX_P``): mixed overrides mean the policy is
  not wrong in one direction, and nothing is suggested;
* they are at least ``MIN_SHARE`` of the group's ratings: a knob moves every rating of its
  group, so if analysts left most of the group alone the disagreement is narrower.

One set of overrides can look like evidence about two knobs (every misinformation report
came from NGOs): the group whose ratings were overridden most consistently, as a share,
takes them, and the other groups are judged again without its ratings.

Nothing here changes anything: :mod:`custodes.triage.adjustment` writes a suggestion as a
versioned, revertible adjustment, on purpose.
"""

from __future__ import annotations

import difflib
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Final

import yaml
from sqlalchemy import select

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.errors import InputError
from custodes.model.vocabulary import BANDS
from custodes.store.cases import CaseStore
from custodes.store.schema import Escalation
from custodes.triage.policy import Policy

MIN_OVERRIDES: Final = 6
MAX_P: Final = 0.05
MIN_SHARE: Final = 0.25
MAX_DRIFT: Final = 1.0  # from the base policy, all adjustments together
LOWEST, HIGHEST = 1.0, 5.0
SEVERITY: Final = "severity"
CREDIBILITY: Final = "credibility.sources"
STEPS: Final = {SEVERITY: 1.0, CREDIBILITY: 0.5}
MODIFIERS: Final = (
    "reach",
    "minor",
    "repeat",
    "coordination",
    "legal_exposure",
    "modifier_cap",
    "ceiling",
)
_EXACT: Final = 1000  # overrides up to which the sign test is computed exactly
_FACTOR_ORDER: Final = ("severity", "credibility", *MODIFIERS, "fast_lane", "adjustment")


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class StoredRating:
    """One stored escalation's engine rating and the band an analyst set, if any."""

    escalation_pk: int
    engine_band: str
    analyst_band: str  # the override in force, else the engine's band (accepted)
    category: str
    source: str
    language: str
    fast_lane: str | None
    policy_version: str
    factors: tuple[tuple[str, str, float], ...]  # name, input, contribution as stored

    @property
    def shift(self) -> int:
        """Bands the analyst moved it: positive = more urgent (P3 → P2 is +1)."""
        return BANDS.index(self.engine_band) - BANDS.index(self.analyst_band)

    @property
    def overridden(self) -> bool:
        return self.shift != 0

    def present(self) -> list[tuple[str, str]]:
        """The factors this rating had, as (factor, value) pairs for counting."""
        out = [("severity", self.category), ("credibility", self.source)]
        added = {name: points for name, _input, points in self.factors}
        out += [(name, "") for name in MODIFIERS if added.get(name)]
        if self.fast_lane:
            out.append(("fast_lane", self.fast_lane))
        out += [("adjustment", i.split(":")[0]) for n, i, _p in self.factors if n == "adjustment"]
        return out


@dataclass(frozen=True)
class Stats:
    """Disagreement among the ratings that had one factor (or one category, source...)."""

    factor: str
    value: str
    ratings: int  # ratings it was present in
    overridden: int  # ... of which an analyst changed the band
    up: int
    down: int
    share_of_ratings: float  # of all ratings counted
    share_of_overrides: float  # of all overridden ratings
    mean_shift: float  # mean signed band shift where present (agreement counts 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Suggestion:
    """One policy number moved one step, and the overrides that ask for it."""

    field: str  # severity.<category> or credibility.sources.<source>
    current: float  # in the policy in force
    proposed: float
    base: float  # in the base policy (before any adjustment)
    ratings: int
    overrides: int
    up: int
    down: int
    p_value: float
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "current": plain(self.current),
            "proposed": plain(self.proposed),
            "base": plain(self.base),
            "ratings": self.ratings,
            "overrides": self.overrides,
            "up": self.up,
            "down": self.down,
            "p_value": self.p_value,
            "why": self.why,
        }


@dataclass(frozen=True)
class HeldBack:
    """A group with enough overrides that still gets no suggestion, and why."""

    field: str
    ratings: int
    overrides: int
    up: int
    down: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Report:
    """Where the engine and analysts disagree, under one policy version, and what follows."""

    policy_version: str
    ratings: int
    overridden: int
    up: int
    down: int
    other_versions: dict[str, int]  # ratings left out: made under another policy version
    matrix: dict[str, dict[str, int]]  # engine band -> analyst band -> ratings
    factors: list[Stats]
    by_category: list[Stats]
    by_source: list[Stats]
    by_language: list[Stats]
    suggestions: list[Suggestion]
    held_back: list[HeldBack]
    min_overrides: int = MIN_OVERRIDES

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_version": self.policy_version,
            "ratings": self.ratings,
            "overridden": self.overridden,
            "up": self.up,
            "down": self.down,
            "other_versions": dict(self.other_versions),
            "min_overrides": self.min_overrides,
            "matrix": {k: dict(v) for k, v in self.matrix.items()},
            "factors": [s.to_dict() for s in self.factors],
            "by_category": [s.to_dict() for s in self.by_category],
            "by_source": [s.to_dict() for s in self.by_source],
            "by_language": [s.to_dict() for s in self.by_language],
            "suggestions": [s.to_dict() for s in self.suggestions],
            "held_back": [h.to_dict() for h in self.held_back],
        }


def stored_ratings(principal: Principal, store: CaseStore) -> list[StoredRating]:
    """Every stored escalation's rating and effective band (aggregate use: not audited as
    a read, since no escalation's content leaves)."""
    principal.require(Permission.escalation_read)
    columns = (
        Escalation.id,
        Escalation.band,
        Escalation.override_band,
        Escalation.category,
        Escalation.source,
        Escalation.rated_language,
        Escalation.fast_lane,
        Escalation.policy_version,
        Escalation.factors,
    )
    out = []
    with store.read() as session:
        rows = session.execute(
            select(*columns).order_by(Escalation.id).execution_options(yield_per=2000)
        )
        for pk, band, override, category, source, language, lane, version, factors in rows:
            out.append(
                StoredRating(
                    escalation_pk=pk,
                    engine_band=band,
                    analyst_band=override or band,
                    category=category,
                    source=source,
                    language=language,
                    fast_lane=lane,
                    policy_version=version,
                    factors=tuple(
                        (str(f["name"]), str(f["input"]), float(f["contribution"]))  # type: ignore[arg-type]
                        for f in factors
                    ),
                )
            )
    return out


def build_report(ratings: Iterable[StoredRating], policy: Policy, base: Policy) -> Report:
    """The report on the ratings ``policy`` (the one in force) made; ``base`` is the policy
    before any adjustment, which bounds how far suggestions may go."""
    mine: list[StoredRating] = []
    others: Counter[str] = Counter()
    for r in ratings:
        if r.policy_version == policy.version:
            mine.append(r)
        else:
            others[r.policy_version] += 1
    overridden = [r for r in mine if r.overridden]
    matrix = {engine: dict.fromkeys(BANDS, 0) for engine in BANDS}
    for r in mine:
        matrix[r.engine_band][r.analyst_band] += 1
    present: dict[tuple[str, str], list[StoredRating]] = defaultdict(list)
    for r in mine:
        for key in r.present():
            present[key].append(r)
    factors = [
        _stats(f, v, rows, len(mine), len(overridden))
        for (f, v), rows in sorted(present.items(), key=lambda kv: _factor_rank(kv[0]))
    ]
    suggestions, held = _suggest(mine, policy, base)
    return Report(
        policy_version=policy.version,
        ratings=len(mine),
        overridden=len(overridden),
        up=sum(1 for r in overridden if r.shift > 0),
        down=sum(1 for r in overridden if r.shift < 0),
        other_versions=dict(sorted(others.items())),
        matrix=matrix,
        factors=factors,
        by_category=_by(mine, "category", len(overridden)),
        by_source=_by(mine, "source", len(overridden)),
        by_language=_by(mine, "language", len(overridden)),
        suggestions=suggestions,
        held_back=held,
    )


def report(
    principal: Principal, store: CaseStore, policy: Policy, base: Policy | None = None
) -> Report:
    """:func:`build_report` over the case store's escalations."""
    return build_report(stored_ratings(principal, store), policy, base or policy)


def _factor_rank(key: tuple[str, str]) -> tuple[int, str]:
    factor, value = key
    order = _FACTOR_ORDER.index(factor) if factor in _FACTOR_ORDER else len(_FACTOR_ORDER)
    return order, value


def _stats(
    factor: str, value: str, rows: Sequence[StoredRating], total: int, total_overridden: int
) -> Stats:
    shifts = [r.shift for r in rows]
    changed = [s for s in shifts if s]
    return Stats(
        factor=factor,
        value=value,
        ratings=len(rows),
        overridden=len(changed),
        up=sum(1 for s in changed if s > 0),
        down=sum(1 for s in changed if s < 0),
        share_of_ratings=_ratio(len(rows), total),
        share_of_overrides=_ratio(len(changed), total_overridden),
        mean_shift=round(sum(shifts) / len(shifts), 3) if shifts else 0.0,
    )


def _by(rows: Sequence[StoredRating], attribute: str, total_overridden: int) -> list[Stats]:
    groups: dict[str, list[StoredRating]] = defaultdict(list)
    for r in rows:
        groups[str(getattr(r, attribute))].append(r)
    return [
        _stats(attribute, value, members, len(rows), total_overridden)
        for value, members in sorted(groups.items())
    ]


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


# --------------------------------------------------------------------------- suggestions


@dataclass(frozen=True)
class _Evidence:
    ratings: int
    overrides: int
    up: int
    down: int
    p_value: float

    @property
    def direction(self) -> int:
        return 1 if self.up > self.down else -1

    @property
    def agree(self) -> int:
        return max(self.up, self.down)

    @property
    def share(self) -> float:
        return self.overrides / self.ratings if self.ratings else 0.0

    def fails(self) -> str | None:
        """Why this is not evidence for a one-step move, or None when it is."""
        if self.overrides < MIN_OVERRIDES:
            return f"fewer than {MIN_OVERRIDES} overrides"
        if self.up == self.down or self.p_value > MAX_P:
            return (
                f"not consistent: {self.up} up, {self.down} down "
                f"(sign test p={self.p_value:.3f} > {MAX_P:g})"
            )
        if self.share < MIN_SHARE:
            return (
                f"only {self.overrides} of {self.ratings} ratings overridden "
                f"(< {MIN_SHARE:.0%}): narrower than the whole group"
            )
        return None


def sign_test(agree: int, n: int) -> float:
    """Two-sided exact sign test: how likely ``agree`` of ``n`` (or more) in one direction
    would be if analysts raised and lowered at random."""
    if n == 0:
        return 1.0
    k = max(agree, n - agree)
    if n > _EXACT:  # big-integer sums grow slow; the normal approximation is exact enough
        z = (k - 0.5 - n / 2) / math.sqrt(n / 4)
        return min(1.0, math.erfc(z / math.sqrt(2)))
    tail = sum(math.comb(n, i) for i in range(k, n + 1))
    return min(1.0, tail / (1 << (n - 1)))


def _evidence(rows: Sequence[StoredRating]) -> _Evidence:
    shifts = [r.shift for r in rows if r.overridden]
    up = sum(1 for s in shifts if s > 0)
    down = len(shifts) - up
    return _Evidence(
        len(rows), len(shifts), up, down, round(sign_test(max(up, down), len(shifts)), 4)
    )


def value_of(policy: Policy, field_name: str) -> float:
    """A learnable number of ``policy`` by its dotted name."""
    kind, _, key = field_name.rpartition(".")
    if kind == SEVERITY and key in policy.severity:
        return float(policy.severity[key])
    if kind == CREDIBILITY and key in policy.credibility.sources:
        return float(policy.credibility.sources[key])
    raise InputError(f"not a learnable policy number: {field_name!r}", field="field")


def _suggest(
    rows: Sequence[StoredRating], policy: Policy, base: Policy
) -> tuple[list[Suggestion], list[HeldBack]]:
    """Greedy attribution: the strongest qualifying group takes its ratings, the others are
    judged again without them, until no group qualifies."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[f"{SEVERITY}.{r.category}"].append(i)
        groups[f"{CREDIBILITY}.{r.source}"].append(i)
    claimed: set[int] = set()
    decided: list[Suggestion | HeldBack] = []
    while True:
        best: tuple[tuple[float, int, float, int, str], str, list[int], _Evidence] | None = None
        for name, members in groups.items():
            left = [i for i in members if i not in claimed]
            ev = _evidence([rows[i] for i in left])
            if ev.fails() is not None:
                continue
            rank = (ev.share, ev.agree, -ev.p_value, -name.startswith(CREDIBILITY), name)
            if best is None or rank > best[0]:
                best = (rank, name, left, ev)
        if best is None:
            break
        _rank, name, left, ev = best
        claimed.update(left)
        del groups[name]
        decided.append(_one_step(name, ev, policy, base))
    for name, members in groups.items():  # enough overrides, yet no suggestion: say why
        ev = _evidence([rows[i] for i in members if i not in claimed])
        why = ev.fails()
        if ev.overrides >= MIN_OVERRIDES and why is not None:
            decided.append(HeldBack(name, ev.ratings, ev.overrides, ev.up, ev.down, why))
    suggestions = sorted((d for d in decided if isinstance(d, Suggestion)), key=lambda s: s.field)
    held = sorted((d for d in decided if isinstance(d, HeldBack)), key=lambda h: h.field)
    return suggestions, held


def _one_step(name: str, ev: _Evidence, policy: Policy, base: Policy) -> Suggestion | HeldBack:
    kind = name.rpartition(".")[0]
    current, origin = value_of(policy, name), value_of(base, name)
    proposed = current + ev.direction * STEPS[kind]
    way = "up (more urgent)" if ev.direction > 0 else "down (less urgent)"
    if not LOWEST <= proposed <= HIGHEST:
        reason = f"analysts moved it {way}, but {current:g} is already at the end of 1-5"
        return HeldBack(name, ev.ratings, ev.overrides, ev.up, ev.down, reason)
    if abs(proposed - origin) > MAX_DRIFT + 1e-9:
        reason = (
            f"analysts moved it {way}, but {current:g} is already {current - origin:+g} from "
            f"the base policy's {origin:g}: a bigger change is a policy edit"
        )
        return HeldBack(name, ev.ratings, ev.overrides, ev.up, ev.down, reason)
    why = (
        f"{ev.agree} of {ev.overrides} overrides {way}; {ev.overrides} of {ev.ratings} "
        f"ratings overridden; sign test p={ev.p_value:.3f}"
    )
    return Suggestion(
        name, current, proposed, origin, ev.ratings, ev.overrides, ev.up, ev.down, ev.p_value, why
    )


def diff(current: Policy, proposed: Policy) -> list[str]:
    """A unified diff of the two policies as YAML: what ``--apply`` would change."""

    def dump(p: Policy) -> list[str]:
        return yaml.safe_dump(p.to_dict(), sort_keys=False, allow_unicode=True).splitlines()

    return list(
        difflib.unified_diff(
            dump(current),
            dump(proposed),
            f"policy {current.version}",
            f"proposed {proposed.version}",
            n=1,
            lineterm="",
        )
    )


def preview(active: Policy, suggestions: Sequence[Suggestion], version: str) -> Policy:
    """The policy applying ``suggestions`` would put in force, to show as a :func:`diff`."""
    severity = dict(active.severity)
    sources = dict(active.credibility.sources)
    for s in suggestions:
        kind, _, key = s.field.rpartition(".")
        if kind == SEVERITY:
            severity[key] = int(s.proposed)
        else:
            sources[key] = s.proposed
    return replace(
        active,
        version=version,
        severity=severity,
        credibility=replace(active.credibility, sources=sources),
    )


def plain(value: float) -> int | float:
    """A number as YAML and JSON should show it: ``3``, not ``3.0``."""
    return int(value) if float(value).is_integer() else value
