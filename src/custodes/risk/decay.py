"""Exponential time decay of evidence: yesterday's alert matters more than last quarter's.

Why exponential with a half-life: it is memoryless (re-scoring tomorrow multiplies every
alert by the same factor, so rankings do not jump), it never reaches zero abruptly at an
arbitrary cut-off the way a 30-day window does, and "an alert counts half as much after
``half_life_days``" is a setting an analyst can reason about.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = ["DEFAULT_HALF_LIFE_DAYS", "age", "decay_factor", "naive_utc"]

DEFAULT_HALF_LIFE_DAYS: Final = 14.0
_DAY: Final = timedelta(days=1)


def naive_utc(ts: datetime) -> datetime:
    """Naive UTC, as the contract stores every timestamp (aware values are converted)."""
    return ts if ts.tzinfo is None else ts.astimezone(UTC).replace(tzinfo=None)


def age(window_end: datetime, as_of: datetime) -> timedelta:
    """How old a finding is at ``as_of``: ``as_of - window_end``, never negative.

    A window still open at ``as_of`` is fresh (age zero), not "from the future".
    """
    return max(naive_utc(as_of) - naive_utc(window_end), timedelta(0))


def decay_factor(elapsed: timedelta, half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> float:
    """``0.5 ** (elapsed / half_life)``: 1 when fresh, 1/2 after one half-life, 1/4 after two."""
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be positive, got {half_life_days}")
    if elapsed < timedelta(0):
        raise ValueError(f"elapsed time must not be negative, got {elapsed}")
    return float(0.5 ** ((elapsed / _DAY) / half_life_days))
