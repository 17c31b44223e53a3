"""How well the rating engine agrees with human triage labels, overall and per language.

The policy's numbers are tuned on a labelled development set and judged on a held-out
set nobody tuned on, so the measurement lives here as one reusable function: the same
figures for both sets, computed the same way. The headline safety figure is
``p0_below_p1`` — an escalation a human rated P0 that the engine rated P2 or lower is the
mistake that costs a life, so it is counted on its own and should be zero.

Each record is an escalation (data contract §1.6 fields) plus ``expected_band``,
``expected_category``, ``expected_fast_lane`` and, for trusted flaggers, ``trusted_areas``;
optional ``earlier_escalations``, ``open_cases`` and ``cluster_size`` fill the context.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from custodes.model.vocabulary import BANDS
from custodes.triage.escalation import EscalationInput
from custodes.triage.policy import Policy, load_policy
from custodes.triage.rating import Rating, RatingContext, rate
from custodes.triage.reading import read


@dataclass(frozen=True)
class Outcome:
    """One labelled escalation: what the label says and what the engine said."""

    escalation_id: str | None
    language: str
    expected_band: str
    band: str
    expected_category: str | None
    category: str
    expected_fast_lane: str | None
    fast_lane: str | None
    score: float

    @property
    def distance(self) -> int:
        """Bands between rating and label; positive when the engine rated too low."""
        return BANDS.index(self.band) - BANDS.index(self.expected_band)


@dataclass(frozen=True)
class Agreement:
    """Agreement figures for a group of outcomes (rates are fractions of ``n``)."""

    n: int
    exact: float
    within_one: float
    p0_below_p1: int  # labelled P0, rated P2 or lower: must be zero
    under: float  # rated less urgent than labelled
    over: float  # rated more urgent than labelled
    category: float
    fast_lane: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "exact": round(self.exact, 4),
            "within_one": round(self.within_one, 4),
            "p0_below_p1": self.p0_below_p1,
            "under": round(self.under, 4),
            "over": round(self.over, 4),
            "category": round(self.category, 4),
            "fast_lane": round(self.fast_lane, 4),
        }


@dataclass(frozen=True)
class Evaluation:
    """Overall and per-language agreement, and every outcome for inspecting the misses."""

    overall: Agreement
    by_language: dict[str, Agreement]
    outcomes: tuple[Outcome, ...]
    policy_version: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_version": self.policy_version,
            "overall": self.overall.to_dict(),
            "by_language": {k: v.to_dict() for k, v in sorted(self.by_language.items())},
        }


def evaluate(records: Iterable[Mapping[str, Any]], policy: Policy | None = None) -> Evaluation:
    """Rate every labelled record (reading its text with the triage reader) and compare."""
    chosen = policy or load_policy()
    outcomes = []
    for row, record in enumerate(records, 1):
        rating = rate_record(record, chosen, row=row)
        outcomes.append(
            Outcome(
                escalation_id=record.get("escalation_id"),
                language=record.get("language") or rating.language,
                expected_band=str(record["expected_band"]),
                band=rating.band,
                expected_category=record.get("expected_category"),
                category=rating.category,
                expected_fast_lane=record.get("expected_fast_lane"),
                fast_lane=rating.fast_lane,
                score=rating.score,
            )
        )
    languages = sorted({o.language for o in outcomes})
    return Evaluation(
        overall=agreement(outcomes),
        by_language={
            lang: agreement([o for o in outcomes if o.language == lang]) for lang in languages
        },
        outcomes=tuple(outcomes),
        policy_version=chosen.version,
    )


def rate_record(record: Mapping[str, Any], policy: Policy, *, row: int | None = None) -> Rating:
    """The engine's rating of one labelled record (its label fields are ignored)."""
    e = EscalationInput.from_dict(record, row=row)
    context = RatingContext(
        earlier_escalations=int(record.get("earlier_escalations") or 0),
        open_cases=int(record.get("open_cases") or 0),
        cluster_size=int(record.get("cluster_size") or 1),
        requester_trusted_areas=tuple(record.get("trusted_areas") or ()),
    )
    return rate(e, read(e.text, language_hint=e.language), context, policy)


def agreement(outcomes: list[Outcome]) -> Agreement:
    """Agreement figures for some outcomes (all zero for none)."""
    n = len(outcomes)

    def share(count: int) -> float:
        return count / n if n else 0.0

    return Agreement(
        n=n,
        exact=share(sum(o.distance == 0 for o in outcomes)),
        within_one=share(sum(abs(o.distance) <= 1 for o in outcomes)),
        p0_below_p1=sum(o.expected_band == "P0" and BANDS.index(o.band) > 1 for o in outcomes),
        under=share(sum(o.distance > 0 for o in outcomes)),
        over=share(sum(o.distance < 0 for o in outcomes)),
        category=share(sum(o.category == o.expected_category for o in outcomes)),
        fast_lane=share(sum(o.fast_lane == o.expected_fast_lane for o in outcomes)),
    )
