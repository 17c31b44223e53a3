"""Evaluation of the rating engine against labelled escalations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custodes.triage.evaluation import Outcome, agreement, evaluate, rate_record
from custodes.triage.policy import load_policy

DATA = Path(__file__).parent / "data"
DEV = DATA / "labelled_dev.jsonl"
DEV2 = DATA / "labelled_dev2.jsonl"

DEV3 = DATA / "labelled_dev3.jsonl"
DEV4 = DATA / "labelled_dev4.jsonl"
# Floors just below what the default policy reaches (2026.11-4: rules, with the band model
# as a safety net), so that one more miss still passes and a real regression fails; raise
# them with the engine. The rules were tuned on dev and dev2, and the band model learned from
# dev, dev2 and dev3; dev4 was written independently, never trained or tuned on (it was
# looked at, with dev3 and simulated escalations, when choosing how the model is used) (2026.11-4:
# 62.5 % exact, 85.8 % within one band, no P0 below P1; the rules alone had 59.2 %, 82.5 %
# and 4). Every set must keep P0-worthy escalations at P1 or above.
# (split, file, overall exact, overall within one, {language: (exact, within one)})
FLOORS = (
    ("dev", DEV, 0.92, 0.97, {"en": (0.9, 0.95), "es": (0.9, 0.95), "pt": (0.95, 0.95)}),
    ("dev2", DEV2, 0.93, 0.96, {"en": (0.9, 0.95), "es": (0.95, 0.95), "pt": (0.92, 0.92)}),
    ("dev3", DEV3, 0.56, 0.85, {"en": (0.6, 0.82), "es": (0.56, 0.84), "pt": (0.54, 0.9)}),
    ("dev4", DEV4, 0.6, 0.84, {"en": (0.65, 0.85), "es": (0.52, 0.8), "pt": (0.62, 0.85)}),
)


def _outcome(expected: str, got: str, language: str = "en", category: str = "hate") -> Outcome:
    return Outcome("x", language, expected, got, "hate", category, None, None, 50.0)


def test_agreement_figures() -> None:
    outcomes = [
        _outcome("P0", "P0"),
        _outcome("P0", "P2"),  # the dangerous miss
        _outcome("P2", "P3"),
        _outcome("P3", "P1", category="fraud"),
    ]
    a = agreement(outcomes)
    assert a.n == 4
    assert a.exact == 0.25
    assert a.within_one == 0.5
    assert a.p0_below_p1 == 1
    assert a.under == 0.5
    assert a.over == 0.25
    assert a.category == 0.75
    assert a.fast_lane == 1.0
    assert agreement([]).exact == 0.0


def test_evaluate_rates_records_per_language() -> None:
    base: dict[str, Any] = {"received_at": "2026-11-20T10:00:00Z", "expected_category": "ip"}
    records = [
        base
        | {
            "source": "creator_partner",
            "body": "DMCA copyright notice for my song.",
            "language": "en",
            "expected_band": "P4",
            "expected_fast_lane": None,
        },
        base
        | {
            "source": "trusted_flagger",
            "body": "Aviso de derechos de autor: película pirateada.",
            "language": "es",
            "expected_band": "P4",
            "expected_fast_lane": None,
            "trusted_areas": ["hate"],
        },
    ]
    result = evaluate(records)
    assert set(result.by_language) == {"en", "es"}
    assert result.overall.n == 2
    assert [o.escalation_id for o in result.outcomes] == [None, None]
    assert result.to_dict()["overall"]["n"] == 2
    assert result.policy_version


@pytest.mark.skipif(not DEV.exists(), reason="the labelled development set is not there")
def test_no_p0_worthy_escalation_of_the_dev_set_is_rated_below_p1() -> None:
    records = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    result = evaluate(records)
    assert result.overall.p0_below_p1 == 0
    assert result.overall.within_one >= 0.8


@pytest.mark.parametrize(("split", "path", "exact", "within_one", "languages"), FLOORS)
def test_agreement_with_the_development_sets_stays_above_its_floors(
    split: str, path: Path, exact: float, within_one: float, languages: dict[str, Any]
) -> None:
    if not path.exists():
        pytest.skip(f"the labelled {split} set is not there")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    result = evaluate(records)
    assert result.overall.p0_below_p1 == 0, split
    assert result.overall.exact >= exact, (split, result.overall)
    assert result.overall.within_one >= within_one, (split, result.overall)
    for language, (lowest, near) in languages.items():
        # the record's true language is in its id (the hint is often left out)
        mine = [o for o in result.outcomes if f"-{language}-" in (o.escalation_id or "")]
        figures = agreement(mine)
        assert figures.p0_below_p1 == 0, (split, language)
        assert figures.exact >= lowest, (split, language, figures)
        assert figures.within_one >= near, (split, language, figures)


# The banding guide's own examples (docs/triage-bands.md), written in the three languages as
# escalations arrive (labelled_guide.jsonl); read and rated end to end. The band model
# learned from them too: this checks that the engine keeps to the guide, not how it does on
# unseen text (that is dev4, above).
GUIDE = DATA / "labelled_guide.jsonl"
GUIDE_EXAMPLES = [json.loads(line) for line in GUIDE.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("record", GUIDE_EXAMPLES, ids=lambda r: str(r["escalation_id"]))
def test_the_guides_examples_rate_as_the_guide_says(record: dict[str, Any]) -> None:
    rating = rate_record(record, load_policy())
    assert rating.band == record["expected_band"], (
        rating.band,
        rating.score,
        rating.category,
        rating.fast_lane,
    )
