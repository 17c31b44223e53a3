"""Per-actor risk score, 0-100: many alerts in, one ranked and explained number out.

The formula, for one actor at time ``as_of`` (constants are :class:`RiskConfig` defaults):

1. **Evidence per alert.** ``x = score * 0.5 ** (age / half_life)`` with ``score`` the alert's
   0..1 score, ``age = as_of - window_end`` (zero for a window still open) and
   ``half_life = 14`` days. Alerts whose window starts after ``as_of`` were not yet known
   and are ignored; several alerts with one ``alert_id`` are one finding (the highest score
   counts), so re-running a detector does not double the evidence.
2. **Diminishing combination.** Sort ``x`` descending (ties by ``alert_id``), keep the top
   ``max_alerts = 100`` and weight the i-th by ``1 / i ** 1.5``: ``R = sum(x_i / i ** 1.5)``.
   This is Elastic's entity risk score aggregation. Why not a capped sum: with a sum, one
   noisy detector firing daily reaches the cap and outranks a single grave finding; here the
   strongest alert dominates, corroboration adds with diminishing returns (the 2nd full alert
   adds 0.35, the 10th 0.03) and even unlimited alerts keep ``R < zeta(1.5) = 2.61``. ``R``
   is the largest value of ``sum(w_j * x_assigned)`` over ways of giving the weights to
   distinct alerts (rearrangement inequality), so adding an alert or raising a score never
   lowers it.
3. **Saturation to a probability.** ``q = 1 - exp(-R / saturation)`` with ``saturation = 1``.
   Elastic divides by the largest possible ``R`` instead, which ties the scale to
   ``max_alerts``; the exponential does not, stays close to linear for weak evidence
   (``q ~ R``), never reaches 1 from alerts alone, and yields a probability whose odds the
   modifiers can scale. Calibration of the default: one fresh alert of score 1.0 gives 63.2
   (high); two give 74.2; three corroborating ones 78.7 (critical); a single 0.5 gives 39.3
   (moderate); a flood of 100 weak alerts at 0.1 only 21.4 (low).
4. **Context modifiers in odds space.** ``odds = q / (1 - q)`` is multiplied by each factor that
   applies, then ``p = odds' / (1 + odds')`` and ``risk_score = 100 * p``:
   ``privileged`` (x1.5: more capability and impact), ``priority_group`` (x1.5: access to
   high-profile accounts, where misuse harms most) and ``notice_given`` (x2.0, once the
   notice date is on or before ``as_of``: CERT's insider case studies find data theft clusters
   around departure). Multiplying odds (a Bayesian update with a likelihood ratio, as
   Elastic's asset criticality does) keeps the score below 100, moves borderline actors
   most, and leaves an actor without alert evidence at 0: context alone is not suspicion.
   Factors must be >= 1; these are aggravating circumstances only.
5. **Levels.** ``low`` < 25 <= ``moderate`` < 50 <= ``high`` < 75 <= ``critical``.

Decomposition, exact by construction: scores live on a grid of 2**-16 points
(:mod:`custodes.risk.apportionment`). The pre-modifier score ``100 * q`` is split over the
counted alerts in proportion to ``x_i / i ** 1.5`` (their share of ``R``); the modifiers'
lift ``100 * (p - q)`` is split over the applied modifiers in proportion to ``log(factor)``
(their share of the shift in log-odds, so the order they are applied in does not matter).
Every contribution is a multiple of the grid, so ``sum(contributions) == risk_score`` holds
exactly in floating point, in any order.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from custodes.detect.alert import Alert
from custodes.risk.apportionment import QUANTUM, apportion, to_units
from custodes.risk.decay import DEFAULT_HALF_LIFE_DAYS, age, decay_factor, naive_utc

__all__ = [
    "ActorContext",
    "ActorRisk",
    "Contribution",
    "Level",
    "RiskConfig",
    "level_for",
    "score_actors",
]

_MAX_EXP = 700.0  # math.expm1 overflows past ~709.78; the score is 100 long before that


class Level(StrEnum):
    low = "low"
    moderate = "moderate"
    high = "high"
    critical = "critical"


@dataclass(frozen=True)
class RiskConfig:
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS
    max_alerts: int = 100  # alerts counted per actor, strongest first
    weight_exponent: float = 1.5  # the i-th strongest alert weighs 1 / i ** weight_exponent
    saturation: float = 1.0  # q = 1 - exp(-R / saturation)
    privileged_factor: float = 1.5
    priority_group_factor: float = 1.5
    notice_factor: float = 2.0
    thresholds: tuple[float, float, float] = (25.0, 50.0, 75.0)  # moderate, high, critical
    max_reasons: int = 5

    def __post_init__(self) -> None:
        if not self.half_life_days > 0:
            raise ValueError(f"half_life_days must be positive, got {self.half_life_days}")
        if self.max_alerts < 1:
            raise ValueError(f"max_alerts must be at least 1, got {self.max_alerts}")
        if not self.weight_exponent >= 0:
            raise ValueError(f"weight_exponent must be >= 0, got {self.weight_exponent}")
        if not self.saturation > 0:
            raise ValueError(f"saturation must be positive, got {self.saturation}")
        for name in ("privileged_factor", "priority_group_factor", "notice_factor"):
            value = getattr(self, name)
            if not (value >= 1 and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite factor >= 1, got {value}")
        low, mid, top = self.thresholds
        if not 0 < low < mid < top <= 100:
            raise ValueError(
                f"thresholds must rise strictly within (0, 100], got {self.thresholds}"
            )
        if self.max_reasons < 1:
            raise ValueError(f"max_reasons must be at least 1, got {self.max_reasons}")


@dataclass(frozen=True)
class ActorContext:
    """What the staff directory says about an actor that changes how much an alert weighs."""

    privileged: bool = False
    priority_group: bool = False  # e.g. access to high-profile accounts
    notice_date: date | None = None  # resignation or termination notice given


@dataclass(frozen=True)
class Contribution:
    """One additive part of a risk score, for `custodes explain`.

    ``value`` is in score points; an actor's contributions sum exactly to its score.
    """

    kind: Literal["alert", "modifier"]
    name: str  # the alert_id, or the modifier's name
    value: float
    detail: str
    category: str | None = None  # alerts: the scenario family
    alert_score: float | None = None  # alerts: the alert's own 0..1 score
    decay: float | None = None  # alerts: 0.5 ** (age / half-life)
    weight: float | None = None  # alerts: 1 / rank ** weight_exponent
    factor: float | None = None  # modifiers: the odds multiplier


@dataclass(frozen=True)
class ActorRisk:
    """A row of `custodes risk` (data contract §2) plus its decomposition."""

    actor_id: str
    risk_score: float
    rank: int
    level: Level
    categories: tuple[str, ...]
    reasons: tuple[str, ...]
    window_start: datetime
    window_end: datetime
    contributions: tuple[Contribution, ...] = field(default=())

    def to_record(self) -> dict[str, object]:
        """The contract's fields, in its order."""
        return {
            "actor_id": self.actor_id,
            "risk_score": self.risk_score,
            "rank": self.rank,
            "level": self.level.value,
            "categories": list(self.categories),
            "reasons": list(self.reasons),
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
        }


def level_for(score: float, thresholds: tuple[float, float, float] = (25.0, 50.0, 75.0)) -> Level:
    """Each threshold is the lowest score of the next level up (25 is moderate)."""
    low, mid, top = thresholds
    if score >= top:
        return Level.critical
    if score >= mid:
        return Level.high
    if score >= low:
        return Level.moderate
    return Level.low


def score_actors(
    alerts: Iterable[Alert],
    people: Mapping[str, ActorContext] | None,
    as_of: datetime,
    config: RiskConfig = RiskConfig(),  # frozen, so sharing it is safe
) -> list[ActorRisk]:
    """Score every actor with an alert known at ``as_of``; highest first, ties by actor_id.

    Actors without alerts get no row: with no evidence their score would be 0 whatever
    their context.
    """
    as_of = naive_utc(as_of)
    findings: dict[str, dict[str, Alert]] = defaultdict(dict)
    for alert in alerts:
        if naive_utc(alert.window_start) > as_of:
            continue
        seen = findings[alert.actor_id].get(alert.alert_id)
        if seen is None or _strength(alert) > _strength(seen):
            findings[alert.actor_id][alert.alert_id] = alert

    people = people or {}
    scored = [
        _score_one(actor, list(by_id.values()), people.get(actor, ActorContext()), as_of, config)
        for actor, by_id in findings.items()
    ]
    scored.sort(key=lambda r: (-r.risk_score, r.actor_id))
    return [replace(r, rank=rank) for rank, r in enumerate(scored, start=1)]


def _strength(alert: Alert) -> tuple[float, tuple[str, ...], tuple[str, ...]]:
    """Which copy of one finding counts: the highest score, then a fixed order."""
    return (alert.score, alert.reasons, alert.evidence_event_ids)


def _modifiers(
    context: ActorContext, as_of: datetime, config: RiskConfig
) -> list[tuple[str, float, str]]:
    applied: list[tuple[str, float, str]] = []
    if context.privileged:
        applied.append(("privileged", config.privileged_factor, "privileged access"))
    if context.priority_group:
        applied.append(("priority_group", config.priority_group_factor, "in a priority group"))
    if context.notice_date is not None and context.notice_date <= as_of.date():
        applied.append(
            (
                "notice_given",
                config.notice_factor,
                f"gave notice on {context.notice_date.isoformat()}",
            )
        )
    return [m for m in applied if m[1] > 1]


def _score_one(
    actor: str,
    alerts: Sequence[Alert],
    context: ActorContext,
    as_of: datetime,
    config: RiskConfig,
) -> ActorRisk:
    decays = {
        a.alert_id: decay_factor(age(a.window_end, as_of), config.half_life_days) for a in alerts
    }
    ranked = sorted(alerts, key=lambda a: (-(a.score * decays[a.alert_id]), a.alert_id))
    counted = ranked[: config.max_alerts]
    weights = [1.0 / (i**config.weight_exponent) for i in range(1, len(counted) + 1)]
    parts = [a.score * decays[a.alert_id] * w for a, w in zip(counted, weights, strict=True)]
    evidence = math.fsum(parts)

    x = min(evidence / config.saturation, _MAX_EXP)
    base = -math.expm1(-x)  # q = 1 - exp(-x)
    modifiers = _modifiers(context, as_of, config)
    lift = math.prod(f for _, f, _ in modifiers)
    final = _lifted(x, lift) if modifiers else base

    base_units = to_units(100.0 * base)
    score_units = max(to_units(100.0 * final), base_units)
    alert_units = apportion(base_units, parts)
    modifier_units = apportion(score_units - base_units, [math.log(f) for _, f, _ in modifiers])

    contributions = [
        Contribution(
            kind="alert",
            name=a.alert_id,
            value=units * QUANTUM,
            detail=f"{a.detector}: {a.reasons[0] if a.reasons else a.category}",
            category=a.category,
            alert_score=a.score,
            decay=decays[a.alert_id],
            weight=w,
        )
        for a, w, units in zip(counted, weights, alert_units, strict=True)
    ]
    contributions += [
        Contribution(
            kind="modifier",
            name=name,
            value=units * QUANTUM,
            detail=f"{text} (odds x{factor:g})",
            factor=factor,
        )
        for (name, factor, text), units in zip(modifiers, modifier_units, strict=True)
    ]
    score = score_units * QUANTUM
    return ActorRisk(
        actor_id=actor,
        risk_score=score,
        rank=0,
        level=level_for(score, config.thresholds),
        categories=_categories(contributions),
        reasons=_reasons(contributions, counted, config.max_reasons),
        window_start=min(naive_utc(a.window_start) for a in counted),
        window_end=max(naive_utc(a.window_end) for a in counted),
        contributions=tuple(contributions),
    )


def _lifted(x: float, lift: float) -> float:
    """``odds' / (1 + odds')`` with ``odds' = lift * odds(1 - exp(-x)) = lift * expm1(x)``."""
    odds = math.expm1(x) * lift
    return 1.0 if math.isinf(odds) else odds / (1.0 + odds)


def _categories(contributions: Sequence[Contribution]) -> tuple[str, ...]:
    """Scenario families with a positive share, largest share first, then by name."""
    totals: dict[str, float] = defaultdict(float)
    for c in contributions:
        if c.category is not None and c.value > 0:
            totals[c.category] += c.value
    return tuple(sorted(totals, key=lambda name: (-totals[name], name)))


def _reasons(
    contributions: Sequence[Contribution], counted: Sequence[Alert], limit: int
) -> tuple[str, ...]:
    """Alerts' own reasons and the modifiers' descriptions, biggest contribution first."""
    texts: list[tuple[str, ...]] = [a.reasons for a in counted]
    texts += [(c.detail,) for c in contributions[len(counted) :]]
    order = sorted(
        (i for i, c in enumerate(contributions) if c.value > 0),
        key=lambda i: -contributions[i].value,
    )
    reasons = dict.fromkeys(text for i in order for text in texts[i])
    return tuple(reasons)[:limit]
