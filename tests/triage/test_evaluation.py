"""Evaluation of the rating engine against labelled escalations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custodes.triage.evaluation import Outcome, agreement, evaluate

DEV = Path(__file__).parent / "data" / "labelled_dev.jsonl"


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
