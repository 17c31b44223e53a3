"""SLA clocks: when an escalation must be acknowledged, first acted on and resolved.

Two kinds of time, because two kinds of team:

* **Elapsed time** for urgent bands: on-call staff work around the clock, so "4 h" means
  four real hours. All arithmetic is done in UTC, which makes it correct across daylight
  saving changes by construction (a 24 h clock over a spring-forward night ends at 21:00
  local, not 20:00).
* **Business time** for low bands (the policy's ``business_hours``): only the serving
  team's working hours count, in its own time zone (``zoneinfo``), on its working days,
  skipping its public holidays (the ``holidays`` package). Each working day's window is
  built from local wall-clock times and converted to UTC, so a day that changes its
  offset still opens at 09:00 local.

A requester's or legal deadline caps every clock: nothing may be due after it. The
``cause`` of each clock says which rule set it, so a breach can be recorded with its cause.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final, TypeVar
from zoneinfo import ZoneInfo

import holidays

from custodes.triage.policy import CLOCKS, Calendar, SlaPolicy

MAX_DAYS: Final = 3660  # business time never searches more than ten years ahead
T = TypeVar("T")


@dataclass(frozen=True)
class Clock:
    """One deadline of an escalation and the rule that set it."""

    name: str  # acknowledge, first_action, resolve, or reply (organisational impact)
    due_at: datetime  # aware, UTC
    cause: str  # e.g. "P3 acknowledge: 8h of business time (madrid)" or "deadline"


@dataclass(frozen=True)
class Breach:
    """A clock that ran out before its step was done: what, when, by how much, and why."""

    clock: str
    due_at: datetime
    detected_at: datetime
    overdue: timedelta
    cause: str


@dataclass(frozen=True)
class Schedule:
    """An escalation's clocks. ``done`` names the steps already completed."""

    clocks: tuple[Clock, ...]

    def open(self, done: Iterable[str] = ()) -> tuple[Clock, ...]:
        finished = set(done)
        return tuple(c for c in self.clocks if c.name not in finished)

    def due_at(self, done: Iterable[str] = ()) -> datetime | None:
        """The first open clock to run out (None when every step is done)."""
        still = self.open(done)
        return min(c.due_at for c in still) if still else None

    def time_to_breach(self, now: datetime, done: Iterable[str] = ()) -> timedelta | None:
        """Time left before the first open clock runs out; negative once breached."""
        due = self.due_at(done)
        return None if due is None else due - _aware(now)

    def breaches(self, now: datetime, done: Iterable[str] = ()) -> tuple[Breach, ...]:
        """Every open clock that has run out at ``now``, earliest first."""
        at = _aware(now)
        out = [
            Breach(c.name, c.due_at, at, at - c.due_at, c.cause)
            for c in self.open(done)
            if c.due_at <= at
        ]
        return tuple(sorted(out, key=lambda b: b.due_at))

    def as_dict(self) -> dict[str, datetime]:
        return {c.name: c.due_at for c in self.clocks}


def schedule(
    band: str,
    received_at: datetime,
    policy: SlaPolicy,
    *,
    jurisdiction: str | None = None,
    deadline: datetime | None = None,
    deadline_cause: str = "deadline",
    replies: Sequence[tuple[str, timedelta]] = (),
) -> Schedule:
    """The band's clocks from receipt, in business time when the band asks for it, each
    capped by ``deadline``; plus a ``reply`` clock for the most pressing reply duty."""
    start = _aware(received_at).astimezone(UTC)
    limit = _aware(deadline).astimezone(UTC) if deadline is not None else None
    business = band in policy.business_hours
    calendar = policy.calendar_for(jurisdiction) if business else None
    clocks = []
    for name in CLOCKS:
        length = policy.clocks[band].get(name)
        if calendar is not None:
            due = add_business_time(start, length, calendar)
            cause = f"{band} {name}: {_show(length, days=False)} of business time ({calendar.name})"
        else:
            due = start + length
            cause = f"{band} {name}: {_show(length)}"
        clocks.append(_capped(Clock(name, due, cause), limit, deadline_cause))
    if replies:
        who, length = min(replies, key=lambda r: r[1])
        reply = Clock("reply", start + length, f"reply to {who}: {_show(length)}")
        clocks.append(_capped(reply, limit, deadline_cause))
    return Schedule(tuple(clocks))


def add_business_time(start: datetime, length: timedelta, calendar: Calendar) -> datetime:
    """``start`` plus ``length`` of the calendar's working time, as an aware UTC time."""
    zone = ZoneInfo(calendar.timezone)
    at = _aware(start).astimezone(UTC)
    day = at.astimezone(zone).date()
    remaining = length
    for _ in range(MAX_DAYS):
        if is_working_day(day, calendar):
            opens = datetime.combine(day, calendar.opens, zone).astimezone(UTC)
            closes = datetime.combine(day, calendar.closes, zone).astimezone(UTC)
            begin = max(opens, at)
            if begin < closes:
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
        day += timedelta(days=1)
    raise ValueError(f"calendar '{calendar.name}' has no working time within {MAX_DAYS} days")


def is_working_day(day: date, calendar: Calendar) -> bool:
    """A working weekday of the calendar that is not one of its public holidays."""
    if day.weekday() not in calendar.days:
        return False
    if calendar.holidays is None:
        return True
    return day not in _holidays(calendar.holidays, calendar.subdivision, day.year)


def by_time_to_breach(
    items: Iterable[T], now: datetime, due: Callable[[T], datetime | None]
) -> list[T]:
    """Queue order: the item closest to (or furthest past) breach first; items with no
    open clock last. Stable, so equal deadlines keep their arrival order."""
    at = _aware(now)
    far = timedelta.max

    def key(item: T) -> timedelta:
        when = due(item)
        return far if when is None else _aware(when) - at

    return sorted(items, key=key)


@lru_cache(maxsize=256)
def _holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def _capped(clock: Clock, limit: datetime | None, cause: str) -> Clock:
    if limit is not None and limit < clock.due_at:
        return Clock(clock.name, limit, cause)
    return clock


def _aware(value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise ValueError("SLA arithmetic needs timezone-aware datetimes")
    return value


def _show(length: timedelta, *, days: bool = True) -> str:
    seconds = int(length.total_seconds())
    units = (("d", 86400), ("h", 3600), ("m", 60)) if days else (("h", 3600), ("m", 60))
    for unit, size in units:
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
