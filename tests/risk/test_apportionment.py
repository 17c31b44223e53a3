"""Exact apportionment and decay: the building blocks of an explainable score."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custodes.risk.apportionment import QUANTUM, apportion, to_units
from custodes.risk.decay import age, decay_factor


def test_largest_remainders_get_the_left_over_steps() -> None:
    # Quotas 3.5, 1.75, 1.75 -> floors 3, 1, 1 (5 of 7); the 2 left go to the two .75s.
    assert apportion(7, [0.5, 0.25, 0.25]) == [3, 2, 2]
    # Quotas 3.33 each -> floors 3, 3, 3; the one left goes to the first on a tie.
    assert apportion(10, [1.0, 1.0, 1.0]) == [4, 3, 3]
    # Zero weight, zero share.
    assert apportion(5, [0.0, 2.0]) == [0, 5]


def test_nothing_to_split_is_zeros_and_impossible_splits_are_refused() -> None:
    assert apportion(0, [0.0, 0.0]) == [0, 0]
    with pytest.raises(ValueError, match="all zero"):
        apportion(3, [0.0])
    with pytest.raises(ValueError, match="negative"):
        apportion(-1, [1.0])
    with pytest.raises(ValueError, match="non-negative"):
        apportion(1, [-0.5, 1.0])


@given(st.integers(0, 100 * 2**16), st.lists(st.floats(0, 1e6), min_size=1, max_size=50))
def test_parts_always_add_up_and_stay_within_one_step_of_their_quota(
    total: int, weights: list[float]
) -> None:
    if total and not any(weights):
        return
    parts = apportion(total, weights)
    assert sum(parts) == total
    whole = sum(weights)
    for part, w in zip(parts, weights, strict=True):
        if whole:
            assert abs(part - total * w / whole) < 1 + 1e-6


def test_grid_values_add_exactly_as_floats() -> None:
    # 0.1 + 0.2 != 0.3 in binary; on the 2^-16 grid every sum is exact.
    a, b = to_units(0.1) * QUANTUM, to_units(0.2) * QUANTUM
    assert (a + b) - a == b
    assert to_units(100.0) == 100 * 2**16


def test_decay_by_hand() -> None:
    assert decay_factor(timedelta(0)) == 1.0
    assert decay_factor(timedelta(days=14)) == 0.5
    assert decay_factor(timedelta(days=7), half_life_days=7) == 0.5
    assert decay_factor(timedelta(days=21), half_life_days=7) == 0.125
    # Half a half-life: 2^-0.5 = 0.70711.
    assert decay_factor(timedelta(days=7)) == pytest.approx(0.7071068)
    with pytest.raises(ValueError, match="half_life_days"):
        decay_factor(timedelta(days=1), half_life_days=0)


def test_age_is_never_negative() -> None:
    now = datetime(2024, 1, 10)
    assert age(datetime(2024, 1, 3), now) == timedelta(days=7)
    assert age(datetime(2024, 1, 11), now) == timedelta(0)
