"""Report periods: whole ISO weeks (Monday to Sunday) or whole calendar months, in UTC.

Why whole, aligned periods: a report is compared with the one before it (period-over-period
changes) and found again by name (``2026-W10``, ``2026-03``); both need every report of a
kind to cover the same kind of stretch. So a start date given by hand (``--from``) is
rounded down to the start of its week or month, and "no start date" means the last
*complete* period before today: a report of a period still running would change under its
readers' feet.

Periods are half-open, ``[start, end)``, in UTC days: an event at exactly midnight belongs
to the period that starts then, never to two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final

from custodes.errors import InputError

_DASH: Final = "\u2013"
_WEEK_LABEL: Final = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH_LABEL: Final = re.compile(r"^(\d{4})-(\d{2})$")
_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class PeriodKind(StrEnum):
    week = "week"
    month = "month"


@dataclass(frozen=True, order=True)
class Period:
    """One whole week or month: ``start`` is its first day, ``end`` the day after its last."""

    kind: PeriodKind
    start: date
    end: date

    @classmethod
    def containing(cls, kind: PeriodKind | str, day: date) -> Period:
        """The week (from its Monday) or the month that ``day`` falls in."""
        which = parse_kind(str(kind))
        if which is PeriodKind.week:
            monday = day - timedelta(days=day.weekday())
            return cls(which, monday, monday + timedelta(days=7))
        first = day.replace(day=1)
        return cls(which, first, _next_month(first))

    @classmethod
    def last_complete(cls, kind: PeriodKind | str, today: date) -> Period:
        """The latest period that ended on or before ``today`` (today's own is running)."""
        return cls.containing(kind, today).previous()

    @classmethod
    def from_label(cls, label: str) -> Period:
        """The period a label names: ``2026-W10`` (ISO week) or ``2026-03`` (month)."""
        if match := _WEEK_LABEL.match(label):
            try:
                monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
            except ValueError:
                raise InputError(f"no ISO week {label!r}", field="period") from None
            return cls.containing(PeriodKind.week, monday)
        if match := _MONTH_LABEL.match(label):
            month = int(match[2])
            if not 1 <= month <= 12:
                raise InputError(f"no month {label!r}", field="period")
            return cls.containing(PeriodKind.month, date(int(match[1]), month, 1))
        raise InputError(f"not a period label: {label!r} (2026-W10 or 2026-03)", field="period")

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        return Period.containing(self.kind, self.start - timedelta(days=1))

    @property
    def start_at(self) -> datetime:
        """The first instant (aware UTC)."""
        return datetime.combine(self.start, time(), UTC)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period (aware UTC): comparisons are ``< end_at``."""
        return datetime.combine(self.end, time(), UTC)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]

    @property
    def label(self) -> str:
        """``2026-W10`` for a week (ISO year and week), ``2026-03`` for a month."""
        if self.kind is PeriodKind.week:
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def year(self) -> int:
        """The year in the label (a week's ISO year), so folders match names."""
        return int(self.label[:4])

    @property
    def title(self) -> str:
        """For people: ``week 10 of 2026 (2-8 March 2026)`` (an en dash) or ``March 2026``."""
        if self.kind is PeriodKind.month:
            return f"{_MONTHS[self.start.month - 1]} {self.start.year}"
        last = self.end - timedelta(days=1)
        year, week, _ = self.start.isocalendar()
        return f"week {week} of {year} ({_span(self.start, last)})"

    @property
    def noun(self) -> str:
        """``week`` or ``month``, for sentences ("the week before")."""
        return self.kind.value


def parse_kind(value: str) -> PeriodKind:
    try:
        return PeriodKind(value)
    except ValueError:
        raise InputError(f"unknown period {value!r} (week or month)", field="period") from None


def choose(kind: PeriodKind | str, start: date | None, today: date) -> Period:
    """The period a command asks for: the one containing ``start`` when given (rounded
    down to its week or month), else the last complete one before ``today``. A period that
    has not ended yet is refused: its numbers would still change."""
    which = parse_kind(str(kind))
    period = Period.containing(which, start) if start else Period.last_complete(which, today)
    if period.end > today:
        raise InputError(
            f"the {which.value} {period.label} has not ended yet (it ends {period.end}); "
            "reports cover whole, finished periods",
            field="from",
        )
    return period


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _span(first: date, last: date) -> str:
    end = f"{last.day} {_MONTHS[last.month - 1]} {last.year}"
    if first.month == last.month:
        return f"{first.day}{_DASH}{end}"
    if first.year == last.year:
        return f"{first.day} {_MONTHS[first.month - 1]} {_DASH} {end}"
    return f"{first.day} {_MONTHS[first.month - 1]} {first.year} {_DASH} {end}"
