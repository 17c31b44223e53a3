"""Configuration is validated up front, and ids are formatted as the contract expects."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custodes.simulate import SimulationConfig
from custodes.simulate.ids import actor_ids, fixed_width


def test_defaults_match_the_documented_api() -> None:
    cfg = SimulationConfig()
    assert (cfg.staff, cfg.days, cfg.seed, cfg.start) == (300, 60, 7, date(2026, 1, 5))
    assert cfg.insider_fraction == 0.04
    assert cfg.escalation_rate == pytest.approx(300 / 15)
    assert SimulationConfig(escalations_per_day=3.5).escalation_rate == 3.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.staff = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"staff": 0}, "staff"),
        ({"staff": 2.5}, "staff"),
        ({"days": 0}, "days"),
        ({"seed": -1}, "seed"),
        ({"start": "2026-01-05"}, "start"),
        ({"insider_fraction": 0.9}, "insider_fraction"),
        ({"escalations_per_day": -1.0}, "escalations_per_day"),
        ({"scenarios": ("bribery",)}, "scenarios"),
        ({"scenarios": ("paid_reversal", "paid_reversal")}, "scenarios"),
        ({"volume": 0.0}, "volume"),
        ({"language_shares": (0.5, 0.5, 0.5)}, "language_shares"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=f"SimulationConfig.{field}="):
        SimulationConfig(**changes)  # type: ignore[arg-type]


@given(st.lists(st.integers(-5, 10**6), max_size=50))
def test_fixed_width_ids_pad_and_null(numbers: list[int]) -> None:
    arr = fixed_width("c", np.array(numbers, dtype=np.int64), 7)
    expected = [None if n < 0 else f"c{n:07d}" for n in numbers]
    assert arr.to_pylist() == expected


def test_ids_that_do_not_fit_are_an_error() -> None:
    with pytest.raises(ValueError, match="too large"):
        fixed_width("T", np.array([10**8]), 8)


def test_actor_ids_widen_only_when_needed() -> None:
    assert actor_ids(3) == ["u0001", "u0002", "u0003"]
    assert actor_ids(12_000)[-1] == "u12000"
