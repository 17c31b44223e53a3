"""Report periods: ISO weeks from Monday, calendar months, half-open in UTC; a start date
rounds down to its period; the default is the last complete one; a running period is
refused; labels round-trip."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custodes.errors import InputError
from custodes.reports.period import Period, PeriodKind, choose


def test_a_week_runs_from_monday_to_the_next_monday() -> None:
    week = Period.containing("week", date(2026, 3, 4))  # a Wednesday
    assert (week.start, week.end) == (date(2026, 3, 2), date(2026, 3, 9))
    assert week.label == "2026-W10"
    assert week.start_at == datetime(2026, 3, 2, tzinfo=UTC)
    assert week.end_at == datetime(2026, 3, 9, tzinfo=UTC)
    assert len(week.days) == 7 and week.days[-1] == date(2026, 3, 8)
    assert week.title == "week 10 of 2026 (2\u20138 March 2026)"


def test_a_month_is_the_calendar_month_including_december_and_february() -> None:
    assert Period.containing("month", date(2026, 12, 31)) == Period(
        PeriodKind.month, date(2026, 12, 1), date(2027, 1, 1)
    )
    february = Period.containing("month", date(2028, 2, 10))
    assert february.end == date(2028, 3, 1) and len(february.days) == 29  # leap year
    assert february.label == "2028-02" and february.title == "February 2028"


def test_previous_steps_back_across_years_and_iso_week_years() -> None:
    first_week = Period.containing("week", date(2027, 1, 4))
    assert first_week.label == "2027-W01"
    assert first_week.previous().label == "2026-W53"  # 2026 has 53 ISO weeks
    assert Period.containing("month", date(2026, 1, 15)).previous().label == "2025-12"
    # A week that starts in December but belongs to the next ISO year is filed under it.
    straddling = Period.containing("week", date(2025, 12, 31))
    assert straddling.label == "2026-W01" and straddling.year == 2026


def test_the_default_is_the_last_complete_period() -> None:
    monday = date(2026, 3, 9)
    assert choose("week", None, monday).label == "2026-W10"  # the week that just ended
    assert choose("week", None, date(2026, 3, 8)).label == "2026-W09"  # Sunday: W10 runs
    assert choose("month", None, date(2026, 3, 1)).label == "2026-02"
    assert choose("month", None, date(2026, 3, 31)).label == "2026-02"


def test_from_rounds_down_to_its_period_and_a_running_period_is_refused() -> None:
    today = date(2026, 3, 20)
    assert choose("week", date(2026, 3, 8), today).start == date(2026, 3, 2)
    assert choose("month", date(2026, 2, 17), today).label == "2026-02"
    with pytest.raises(InputError, match="has not ended yet"):
        choose("week", date(2026, 3, 18), today)
    with pytest.raises(InputError, match="has not ended yet"):
        choose("month", date(2026, 3, 1), today)
    with pytest.raises(InputError, match="week or month"):
        choose("fortnight", None, today)


def test_labels_round_trip_and_bad_ones_are_refused() -> None:
    for label in ("2026-W10", "2026-W53", "2026-03", "2025-12"):
        assert Period.from_label(label).label == label
    for bad in ("2026-W54", "2026-13", "2026-3", "March"):
        with pytest.raises(InputError):
            Period.from_label(bad)


@given(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)),
    st.sampled_from(list(PeriodKind)),
)
def test_every_day_lies_in_exactly_one_period_and_periods_tile(day: date, kind: PeriodKind) -> None:
    period = Period.containing(kind, day)
    assert period.start <= day < period.end
    assert period.previous().end == period.start
    assert Period.containing(kind, period.end).start == period.end
    assert Period.from_label(period.label) == period
