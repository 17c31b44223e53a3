"""The one source of "now", so every stored timestamp is naive UTC like the contract's."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def utc_now_aware() -> datetime:
    """For the case store, whose columns are timezone-aware on every database."""
    return datetime.now(UTC)
