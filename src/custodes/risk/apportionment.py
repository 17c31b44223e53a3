"""Exact apportionment: split a total into parts that add back to it with no rounding drift.

Why: a risk score is explained as contributions, and an analyst (or a program reading the
JSON) who adds them up must get the score, not the score plus 0.0000001. Binary floats
cannot promise that for decimals, so scores live on a grid of ``1 / 2**16`` points: every
multiple of it below 2**37 is a float, and any sum of such values is exact in any order.
The largest-remainder method (Hamilton's) splits an integer number of grid steps in
proportion to weights, computed in exact rationals so ties and remainders never depend on
floating-point noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Final

__all__ = ["QUANTUM", "apportion", "to_units"]

QUANTUM: Final = 2.0**-16  # the grid of scores and contributions, in points


def to_units(points: float) -> int:
    """Points to whole grid steps (nearest)."""
    return round(points / QUANTUM)


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` grid steps in proportion to ``weights`` (non-negative); parts sum to it.

    Each part is the floor of its exact quota; the steps left over go to the largest
    fractional remainders, earlier positions first on ties.
    """
    if total < 0:
        raise ValueError(f"cannot apportion a negative total ({total})")
    if any(w < 0 or math.isnan(w) for w in weights):
        raise ValueError("apportionment weights must be non-negative numbers")
    exact = [Fraction(w) for w in weights]
    whole = sum(exact, Fraction(0))
    if total == 0:
        return [0] * len(weights)
    if whole == 0:
        raise ValueError(f"cannot apportion {total} over weights that are all zero")
    quotas = [total * w / whole for w in exact]
    parts = [math.floor(q) for q in quotas]
    left = total - sum(parts)
    by_remainder = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - parts[i]), i))
    for i in by_remainder[:left]:
        parts[i] += 1
    return parts
