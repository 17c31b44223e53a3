"""SLA clocks: elapsed and business time, time zones, DST, weekends, holidays, deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from custodes.triage.policy import Calendar, SlaPolicy, load_policy
from custodes.triage.sla import (
    Clock,
    Schedule,
    add_business_time,
    by_time_to_breach,
    is_working_day,
    schedule,
)

NY = ZoneInfo("America/New_York")
MADRID = ZoneInfo("Europe/Madrid")
MEXICO = ZoneInfo("America/Mexico_City")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def _sla() -> SlaPolicy:
    return load_policy().sla


def _calendar(name: str) -> Calendar:
    return next(c for c in _sla().calendars if c.name == name)


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_urgent_bands_run_on_elapsed_time() -> None:
    received = _utc(2026, 11, 21, 23, 50)  # a Saturday night: no business hours for P1
    clocks = schedule("P1", received, _sla(), jurisdiction="ES").as_dict()
    assert clocks == {
        "acknowledge": received + timedelta(hours=1),
        "first_action": received + timedelta(hours=4),
        "resolve": received + timedelta(days=3),
    }


def test_elapsed_clock_over_spring_forward_is_real_hours() -> None:
    received = datetime(2026, 3, 7, 20, 0, tzinfo=NY)  # EST, the night before DST starts
    due = schedule("P0", received, _sla()).as_dict()["resolve"]
    assert due - received.astimezone(UTC) == timedelta(hours=24)
    assert due.astimezone(NY).hour == 21  # 24 real hours later is 21:00 EDT local


def test_elapsed_clock_over_fall_back_is_real_hours() -> None:
    received = datetime(2026, 10, 24, 20, 0, tzinfo=MADRID)  # CEST, DST ends that night
    due = schedule("P0", received, _sla()).as_dict()["resolve"]
    assert due - received.astimezone(UTC) == timedelta(hours=24)
    assert due.astimezone(MADRID).hour == 19


@pytest.mark.parametrize(
    ("zone", "calendar", "received", "expected_utc", "expected_local_hour"),
    [
        # New York, spring forward (Sun 8 Mar 2026): Fri 1 h, Mon 09:00 EDT + 7 h
        (NY, "new_york", datetime(2026, 3, 6, 16, 0), _utc(2026, 3, 9, 20, 0), 16),
        # New York, fall back (Sun 1 Nov 2026): Mon opens 09:00 EST = 14:00 UTC
        (NY, "new_york", datetime(2026, 10, 30, 16, 0), _utc(2026, 11, 2, 21, 0), 16),
        # Madrid, spring forward (Sun 29 Mar 2026): Fri 1 h, Mon 09:00 CEST + 7 h
        (MADRID, "madrid", datetime(2026, 3, 27, 17, 0), _utc(2026, 3, 30, 14, 0), 16),
        # Madrid, fall back (Sun 25 Oct 2026)
        (MADRID, "madrid", datetime(2026, 10, 23, 17, 0), _utc(2026, 10, 26, 15, 0), 16),
        # Mexico City has had no DST since 2022: UTC-6 on both sides of the US change
        (MEXICO, "mexico_city", datetime(2026, 3, 6, 17, 0), _utc(2026, 3, 9, 22, 0), 16),
        (MEXICO, "mexico_city", datetime(2026, 10, 30, 17, 0), _utc(2026, 11, 2, 22, 0), 16),
    ],
)
def test_business_hours_across_dst_changes(
    zone: ZoneInfo,
    calendar: str,
    received: datetime,
    expected_utc: datetime,
    expected_local_hour: int,
) -> None:
    start = received.replace(tzinfo=zone)
    due = add_business_time(start, timedelta(hours=8), _calendar(calendar))
    assert due == expected_utc
    assert due.astimezone(zone).hour == expected_local_hour


def test_sao_paulo_keeps_one_offset_all_year() -> None:
    cal = _calendar("sao_paulo")
    for month in (1, 7):
        start = datetime(2026, month, 6, 9, 0, tzinfo=SAO_PAULO)  # a Tuesday / a Monday
        assert is_working_day(start.date(), cal)
        due = add_business_time(start, timedelta(hours=1), cal)
        assert due == _utc(2026, month, 6, 13, 0)


def test_business_time_inside_one_day_and_before_opening() -> None:
    cal = _calendar("madrid")
    tuesday = datetime(2026, 11, 17, 10, 0, tzinfo=MADRID)
    assert add_business_time(tuesday, timedelta(hours=2), cal) == tuesday + timedelta(hours=2)
    early = datetime(2026, 11, 17, 7, 0, tzinfo=MADRID)
    expected = datetime(2026, 11, 17, 10, 0, tzinfo=MADRID)
    assert add_business_time(early, timedelta(hours=1), cal) == expected


def test_weekend_is_skipped() -> None:
    saturday = datetime(2026, 11, 21, 12, 0, tzinfo=NY)
    due = add_business_time(saturday, timedelta(hours=1), _calendar("new_york"))
    assert due.astimezone(NY) == datetime(2026, 11, 23, 10, 0, tzinfo=NY)


@pytest.mark.parametrize(
    ("calendar", "zone", "received", "expected_local"),
    [
        # Epiphany (Tue 6 Jan 2026) is a national holiday in Spain
        ("madrid", MADRID, datetime(2026, 1, 5, 17, 0), datetime(2026, 1, 7, 16, 0)),
        # Independence Day (Wed 16 Sep 2026) in Mexico
        ("mexico_city", MEXICO, datetime(2026, 9, 15, 17, 0), datetime(2026, 9, 17, 16, 0)),
        # Thanksgiving (Thu 26 Nov 2026) in the US; 8 h days there
        ("new_york", NY, datetime(2026, 11, 25, 16, 0), datetime(2026, 11, 27, 16, 0)),
        # Tiradentes (Tue 21 Apr 2026) in Brazil
        ("sao_paulo", SAO_PAULO, datetime(2026, 4, 20, 17, 0), datetime(2026, 4, 22, 16, 0)),
    ],
)
def test_public_holidays_are_skipped(
    calendar: str, zone: ZoneInfo, received: datetime, expected_local: datetime
) -> None:
    cal = _calendar(calendar)
    assert not is_working_day((received + timedelta(days=1)).date(), cal)
    due = add_business_time(received.replace(tzinfo=zone), timedelta(hours=8), cal)
    assert due.astimezone(zone).replace(tzinfo=None) == expected_local


def test_low_bands_use_the_jurisdictions_calendar() -> None:
    received = datetime(2026, 1, 5, 17, 0, tzinfo=MADRID)  # Monday before Epiphany
    plan = schedule("P3", received, _sla(), jurisdiction="ES")
    ack = plan.as_dict()["acknowledge"]
    assert ack.astimezone(MADRID) == datetime(2026, 1, 7, 16, 0, tzinfo=MADRID)
    assert "business time (madrid)" in plan.clocks[0].cause
    # an unknown jurisdiction falls back to the default (Dublin) calendar
    assert _sla().calendar_for("ZZ").name == "dublin"
    assert _sla().calendar_for("AR").name == "mexico_city"


def test_deadline_earlier_than_the_bands_clock_caps_it() -> None:
    received = _utc(2026, 11, 20, 10, 0)
    deadline = received + timedelta(hours=2)
    plan = schedule("P2", received, _sla(), deadline=deadline, deadline_cause="requester deadline")
    clocks = plan.as_dict()
    assert clocks == {"acknowledge": deadline, "first_action": deadline, "resolve": deadline}
    assert plan.due_at() == deadline
    assert {c.cause for c in plan.clocks} == {"requester deadline"}


def test_deadline_later_than_some_clocks_caps_only_those() -> None:
    received = _utc(2026, 11, 20, 10, 0)
    deadline = received + timedelta(hours=2)
    clocks = schedule("P1", received, _sla(), deadline=deadline).as_dict()
    assert clocks["acknowledge"] == received + timedelta(hours=1)
    assert clocks["first_action"] == deadline
    assert clocks["resolve"] == deadline


def test_business_deadline_caps_business_clocks() -> None:
    received = datetime(2026, 11, 20, 17, 0, tzinfo=NY)  # Friday afternoon
    deadline = datetime(2026, 11, 21, 12, 0, tzinfo=NY)  # Saturday noon
    clocks = schedule("P4", received, _sla(), jurisdiction="US", deadline=deadline).as_dict()
    assert max(clocks.values()) == deadline


def test_reply_clock_for_organisational_impact() -> None:
    received = _utc(2026, 11, 20, 10, 0)
    plan = schedule(
        "P3",
        received,
        _sla(),
        replies=[("regulator", timedelta(hours=48)), ("press", timedelta(hours=24))],
    )
    reply = next(c for c in plan.clocks if c.name == "reply")
    assert reply.due_at == received + timedelta(hours=24)
    assert reply.cause == "reply to press: 1d"


def test_time_to_breach_and_breaches_with_cause() -> None:
    received = _utc(2026, 11, 20, 10, 0)
    plan = schedule("P1", received, _sla())
    now = received + timedelta(minutes=30)
    assert plan.time_to_breach(now) == timedelta(minutes=30)
    late = received + timedelta(hours=5)
    assert plan.time_to_breach(late) == timedelta(hours=-4)
    breaches = plan.breaches(late)
    assert [b.clock for b in breaches] == ["acknowledge", "first_action"]
    assert breaches[0].overdue == timedelta(hours=4)
    assert breaches[0].cause == "P1 acknowledge: 1h"
    # once acknowledged, the next open clock is the one that counts
    assert plan.time_to_breach(now, done={"acknowledge"}) == timedelta(hours=3, minutes=30)
    assert [b.clock for b in plan.breaches(late, done={"acknowledge"})] == ["first_action"]
    assert plan.time_to_breach(now, done={"acknowledge", "first_action", "resolve"}) is None


def test_queue_is_ordered_by_time_to_breach() -> None:
    now = _utc(2026, 11, 20, 12, 0)
    plans = {
        "later": Schedule((Clock("acknowledge", now + timedelta(hours=3), "x"),)),
        "breached": Schedule((Clock("acknowledge", now - timedelta(hours=1), "x"),)),
        "soon": Schedule((Clock("acknowledge", now + timedelta(minutes=5), "x"),)),
        "done": Schedule(()),
    }
    order = by_time_to_breach(list(plans), now, lambda name: plans[name].due_at())
    assert order == ["breached", "soon", "later", "done"]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule("P1", datetime(2026, 11, 20, 10, 0), _sla())


def test_calendar_without_working_time_is_an_error() -> None:
    never = Calendar("never", "UTC", (), time(9), time(17))
    with pytest.raises(ValueError, match="no working time"):
        add_business_time(_utc(2026, 1, 1), timedelta(hours=1), never)
