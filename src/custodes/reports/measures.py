"""The few statistics reports use, defined once so every report means the same by them.

* **Durations** are summarised by count, median and 90th percentile, never a mean: handling
  times are skewed (most quick, a few very slow), and a mean would be moved by the few.
  Percentiles use the nearest-rank method (the value at rank ``ceil(q * n)``), so a figure
  is always one that really occurred and a test can recompute it from the rows.
* **Shares** are ``part / whole`` with ``None`` for an empty whole: "0 %" of nothing would
  read as a failure.
* **Changes** set a figure against the same figure for the period before.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Durations:
    """How long something took, over ``count`` cases, in hours."""

    count: int
    median_hours: float | None
    p90_hours: float | None

    @classmethod
    def of(cls, hours: Iterable[float]) -> Durations:
        values = sorted(hours)
        return cls(len(values), percentile(values, 0.5), percentile(values, 0.9))


@dataclass(frozen=True)
class Count:
    """One value of a breakdown (a source, a category...) and its share of the whole."""

    value: str
    count: int
    share: float | None


@dataclass(frozen=True)
class Change:
    """A figure this period against the period before."""

    name: str
    current: float | None
    previous: float | None
    kind: str = "count"  # count, share (0..1) or hours: how to show it

    @property
    def delta(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def relative(self) -> float | None:
        """The change as a share of the previous figure (None from zero or nothing)."""
        if self.delta is None or not self.previous:
            return None
        return self.delta / self.previous


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when there are none)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def share(part: int | float, whole: int | float) -> float | None:
    return part / whole if whole else None


def breakdown(values: Iterable[str], order: Sequence[str] = ()) -> tuple[Count, ...]:
    """Counts per value: the values of ``order`` first (zeros too, so a breakdown always
    shows its whole vocabulary), then any others by count, largest first."""
    counts = Counter(values)
    total = sum(counts.values())
    known = [(v, counts.get(v, 0)) for v in order]
    rest = sorted(
        ((v, n) for v, n in counts.items() if v not in set(order)), key=lambda kv: (-kv[1], kv[0])
    )
    return tuple(Count(v, n, share(n, total)) for v, n in [*known, *rest])


def hours(seconds: float) -> float:
    return seconds / 3600.0
