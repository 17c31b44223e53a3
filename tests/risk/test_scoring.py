"""Per-actor risk scores: formula checked by hand, decomposition exact, order-free, monotone."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.detect.alert import Alert, Severity
from custodes.risk import (
    ActorContext,
    ActorRisk,
    Level,
    RiskConfig,
    level_for,
    score_actors,
)

AS_OF = datetime(2024, 6, 30, 12, 0)
QUANTUM = 2.0**-16  # the score grid; hand values match to within a grid step
TOL = 1e-4


def alert(
    actor: str,
    score: float,
    *,
    days_old: float = 0.0,
    category: str = "data_exfiltration",
    detector: str = "det",
    reasons: tuple[str, ...] = ("because",),
) -> Alert:
    """An alert whose window is the hour ending `days_old` days before AS_OF."""
    end = AS_OF - timedelta(days=days_old)
    return Alert(
        actor, detector, category, Severity.high, score, end - timedelta(hours=1), end, reasons
    )


def only(risks: list[ActorRisk]) -> ActorRisk:
    (risk,) = risks
    return risk


# --- the formula by hand ----------------------------------------------------------------------


def test_one_fresh_alert() -> None:
    # R = 0.8 * decay 1 * weight 1 = 0.8; score = 100 * (1 - e^-0.8) = 55.067 -> high.
    risk = only(score_actors([alert("a", 0.8)], None, AS_OF))
    assert risk.risk_score == pytest.approx(100 * (1 - math.exp(-0.8)), abs=TOL)
    assert risk.level is Level.high
    assert risk.rank == 1
    (c,) = risk.contributions
    assert (c.kind, c.decay, c.weight, c.value) == ("alert", 1.0, 1.0, risk.risk_score)


def test_one_half_life_halves_the_alerts_evidence() -> None:
    # 14 days old with a 14-day half-life: decay = 0.5, evidence 0.8 * 0.5 = 0.4;
    # score = 100 * (1 - e^-0.4) = 32.968. Two half-lives: 0.8 * 0.25 = 0.2 -> 18.127.
    fresh = only(score_actors([alert("a", 0.8)], None, AS_OF))
    one = only(score_actors([alert("a", 0.8, days_old=14)], None, AS_OF))
    two = only(score_actors([alert("a", 0.8, days_old=28)], None, AS_OF))
    assert one.contributions[0].decay == 0.5
    assert two.contributions[0].decay == 0.25
    assert one.risk_score == pytest.approx(100 * (1 - math.exp(-0.4)), abs=TOL)
    assert two.risk_score == pytest.approx(100 * (1 - math.exp(-0.2)), abs=TOL)
    assert fresh.risk_score > one.risk_score > two.risk_score


def test_half_life_is_configurable() -> None:
    # 14 days with a 7-day half-life is two half-lives: 0.8 * 0.25 = 0.2 -> 18.127.
    risk = only(score_actors([alert("a", 0.8, days_old=14)], None, AS_OF, RiskConfig(7.0)))
    assert risk.contributions[0].decay == 0.25
    assert risk.risk_score == pytest.approx(100 * (1 - math.exp(-0.2)), abs=TOL)


def test_a_window_still_open_at_as_of_is_fresh_and_a_future_one_is_unknown() -> None:
    hour = timedelta(hours=1)
    why = ("r",)
    open_now = Alert(
        "a", "d", "privilege_abuse", Severity.low, 0.5, AS_OF - hour, AS_OF + hour, why
    )
    future = Alert("b", "d", "privilege_abuse", Severity.low, 0.9, AS_OF + hour, AS_OF + hour, why)
    (risk,) = score_actors([open_now, future], None, AS_OF)
    assert risk.actor_id == "a"
    assert risk.contributions[0].decay == 1.0


def test_aware_times_are_read_in_utc() -> None:
    # 14:00 at UTC+02:00 is 12:00 UTC, exactly when the alert ends: age 0, decay 1. Read
    # naively as 14:00 UTC the alert would be two hours old (decay 0.5^(2/24/14) < 1).
    aware = datetime(2024, 6, 30, 14, tzinfo=timezone(timedelta(hours=2)))
    risk = only(score_actors([alert("a", 0.5)], None, aware))
    assert risk.contributions[0].decay == 1.0
    # 14 days after the alert ended, in UTC: one half-life exactly.
    later = (AS_OF + timedelta(days=14)).replace(tzinfo=UTC)
    assert only(score_actors([alert("a", 0.5)], None, later)).contributions[0].decay == 0.5


def test_diminishing_returns() -> None:
    # n alerts of 0.5, all fresh: R_n = 0.5 * sum(i^-1.5, i=1..n); score = 100 (1 - e^-R).
    # R_1 = 0.5 -> 39.347; R_2 = 0.5 * (1 + 0.35355) = 0.67678 -> 49.175: the 2nd adds 9.83.
    # R_9 = 0.5 * 1.96370 -> 62.539; R_10 = R_9 + 0.5 * 10^-1.5 (0.01581) -> 63.126: adds 0.59.
    def score(n: int) -> float:
        alerts = [alert("a", 0.5, detector=f"d{i}") for i in range(n)]
        return only(score_actors(alerts, None, AS_OF)).risk_score

    assert score(2) == pytest.approx(100 * (1 - math.exp(-0.5 * (1 + 2**-1.5))), abs=TOL)
    second = score(2) - score(1)
    tenth = score(10) - score(9)
    # score(10) - score(9) = 100 * e^-R_9 * (1 - e^-(0.5 * 10^-1.5))
    r_9 = 0.5 * sum(i**-1.5 for i in range(1, 10))
    assert tenth == pytest.approx(
        100 * math.exp(-r_9) * (1 - math.exp(-0.5 * 10**-1.5)), abs=2 * TOL
    )
    assert 0 < tenth < second


def test_a_flood_of_weak_alerts_stays_below_one_strong_alert() -> None:
    # 100 alerts at 0.1: R = 0.1 * sum(i^-1.5, 1..100) = 0.1 * 2.4127 = 0.241 -> 21.4 (low);
    # one at 0.5: R = 0.5 -> 39.3 (moderate).
    flood = [alert("weak", 0.1, detector=f"d{i}") for i in range(100)]
    risks = {r.actor_id: r for r in score_actors([*flood, alert("strong", 0.5)], None, AS_OF)}
    harmonic = sum(i**-1.5 for i in range(1, 101))
    assert risks["weak"].risk_score == pytest.approx(100 * (1 - math.exp(-0.1 * harmonic)), abs=TOL)
    assert risks["weak"].level is Level.low
    assert risks["strong"].level is Level.moderate
    assert [r.actor_id for r in score_actors([*flood, alert("strong", 0.5)], None, AS_OF)] == [
        "strong",
        "weak",
    ]


def test_only_max_alerts_count() -> None:
    # With max_alerts = 2 the third alert (0.2) is left out: R = 0.9 + 0.5 * 2^-1.5.
    alerts = [alert("a", s, detector=f"d{s}") for s in (0.2, 0.9, 0.5)]
    risk = only(score_actors(alerts, None, AS_OF, RiskConfig(max_alerts=2)))
    assert [c.alert_score for c in risk.contributions] == [0.9, 0.5]
    assert risk.risk_score == pytest.approx(100 * (1 - math.exp(-(0.9 + 0.5 * 2**-1.5))), abs=TOL)


def test_the_same_finding_twice_counts_once() -> None:
    # Same detector, actor, category and window -> the same alert_id; the higher score counts.
    low, high = alert("a", 0.3), alert("a", 0.6)
    assert low.alert_id == high.alert_id
    risk = only(score_actors([low, high, low], None, AS_OF))
    assert risk.risk_score == pytest.approx(100 * (1 - math.exp(-0.6)), abs=TOL)


# --- modifiers in odds space -----------------------------------------------------------------

# One fresh alert of 1.0: q = 1 - e^-1 = 0.63212, odds = e - 1 = 1.71828.
ODDS = math.e - 1


def test_privileged_multiplies_the_odds_by_its_factor() -> None:
    # odds 1.71828 * 1.5 = 2.57742 -> p = 2.57742 / 3.57742 = 0.72047 -> 72.047 (from 63.212).
    people = {"a": ActorContext(privileged=True)}
    risk = only(score_actors([alert("a", 1.0)], people, AS_OF))
    assert risk.risk_score == pytest.approx(100 * 1.5 * ODDS / (1 + 1.5 * ODDS), abs=TOL)
    p = risk.risk_score / 100
    assert p / (1 - p) == pytest.approx(1.5 * ODDS, rel=1e-4)
    alert_part, modifier = risk.contributions
    assert alert_part.value == pytest.approx(100 * (1 - math.exp(-1)), abs=TOL)
    assert (modifier.kind, modifier.name, modifier.factor) == ("modifier", "privileged", 1.5)
    assert modifier.value == pytest.approx(72.04692 - 63.21206, abs=TOL)


def test_two_modifiers_multiply_and_split_the_lift_by_log_factor() -> None:
    # privileged x1.5 and notice x2: odds 1.71828 * 3 = 5.15485 -> 83.753. The lift over 63.212
    # is 20.541, split ln 1.5 : ln 2 = 0.4055 : 0.6931 -> 7.581 and 12.960.
    people = {"a": ActorContext(privileged=True, notice_date=date(2024, 6, 1))}
    risk = only(score_actors([alert("a", 1.0)], people, AS_OF))
    assert risk.risk_score == pytest.approx(100 * 3 * ODDS / (1 + 3 * ODDS), abs=TOL)
    mods = {c.name: c.value for c in risk.contributions if c.kind == "modifier"}
    lift = 100 * 3 * ODDS / (1 + 3 * ODDS) - 100 * (1 - math.exp(-1))
    ln3 = math.log(3)
    assert mods["privileged"] == pytest.approx(lift * math.log(1.5) / ln3, abs=TOL)
    assert mods["notice_given"] == pytest.approx(lift * math.log(2) / ln3, abs=TOL)


def test_configured_factor_is_the_one_applied() -> None:
    # priority_group at x4: odds 1.71828 * 4 = 6.87313 -> 87.299.
    people = {"a": ActorContext(priority_group=True)}
    config = RiskConfig(priority_group_factor=4.0)
    risk = only(score_actors([alert("a", 1.0)], people, AS_OF, config))
    assert risk.risk_score == pytest.approx(100 * 4 * ODDS / (1 + 4 * ODDS), abs=TOL)


def test_notice_in_the_future_does_not_count_and_factor_one_is_off() -> None:
    people = {
        "later": ActorContext(notice_date=date(2024, 7, 1)),
        "off": ActorContext(privileged=True),
    }
    config = RiskConfig(privileged_factor=1.0)
    risks = score_actors([alert("later", 1.0), alert("off", 1.0)], people, AS_OF, config)
    for risk in risks:
        assert [c.kind for c in risk.contributions] == ["alert"]
        assert risk.risk_score == pytest.approx(100 * (1 - math.exp(-1)), abs=TOL)


def test_context_without_evidence_adds_nothing() -> None:
    # A zero-score alert: R = 0, odds 0, and 0 * 1.5 is still 0.
    people = {"a": ActorContext(privileged=True, priority_group=True)}
    risk = only(score_actors([alert("a", 0.0)], people, AS_OF))
    assert risk.risk_score == 0.0
    assert risk.level is Level.low
    assert risk.categories == ()
    assert risk.reasons == ()


# --- levels -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (0.0, Level.low),
        (24.999, Level.low),
        (25.0, Level.moderate),
        (49.999, Level.moderate),
        (50.0, Level.high),
        (74.999, Level.high),
        (75.0, Level.critical),
        (100.0, Level.critical),
    ],
)
def test_levels_at_the_thresholds(score: float, level: Level) -> None:
    assert level_for(score) is level


def test_configured_thresholds_are_inclusive_lower_bounds() -> None:
    # An actor scoring 39.347 (one 0.5 alert) is "moderate" at thresholds (39.347..., ...).
    score = only(score_actors([alert("a", 0.5)], None, AS_OF)).risk_score
    at = RiskConfig(thresholds=(score, 60.0, 80.0))
    above = RiskConfig(thresholds=(score + QUANTUM, 60.0, 80.0))
    assert only(score_actors([alert("a", 0.5)], None, AS_OF, at)).level is Level.moderate
    assert only(score_actors([alert("a", 0.5)], None, AS_OF, above)).level is Level.low


@pytest.mark.parametrize(
    "config",
    [
        {"half_life_days": 0.0},
        {"max_alerts": 0},
        {"saturation": 0.0},
        {"privileged_factor": 0.5},
        {"notice_factor": math.inf},
        {"thresholds": (50.0, 25.0, 75.0)},
        {"thresholds": (25.0, 50.0, 101.0)},
    ],
)
def test_bad_config_is_refused(config: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(config))):
        RiskConfig(**config)  # type: ignore[arg-type]


# --- explanation: categories, reasons, window --------------------------------------------------


def test_categories_and_reasons_follow_contribution_size() -> None:
    # Evidence: exfiltration 0.9 (weight 1) and privilege 0.5 (weight 2^-1.5 = 0.35355 -> 0.17678);
    # R = 1.07678, q -> 65.931 split 0.9 : 0.17678 -> 55.107 and 10.824.
    # Notice (x2): odds (e^1.07678 - 1) * 2 = 3.8704 -> 79.468, lift 13.537.
    # By size: exfiltration alert 55.1 > notice 13.5 > privilege alert 10.8.
    # Both fresh (age 0): the exfiltration window is still open, the privilege one ends at AS_OF.
    hour = timedelta(hours=1)
    exfil = Alert(
        "a", "x", "data_exfiltration", Severity.high, 0.9, AS_OF - hour, AS_OF + hour,
        ("bulk export", "after notice"),
    )  # fmt: skip
    privilege = Alert(
        "a", "p", "privilege_abuse", Severity.medium, 0.5, AS_OF - 3 * hour, AS_OF,
        ("self-grant",),
    )  # fmt: skip
    people = {"a": ActorContext(notice_date=date(2024, 6, 3))}
    risk = only(score_actors([privilege, exfil], people, AS_OF))
    values = [round(c.value, 3) for c in risk.contributions]
    r = 1.0767767
    base = 100 * (1 - math.exp(-r))
    assert values == pytest.approx([0.9 / r * base, 0.1767767 / r * base, 79.468 - base], abs=2e-3)
    assert risk.categories == ("data_exfiltration", "privilege_abuse")
    assert risk.reasons == (
        "bulk export",
        "after notice",
        "gave notice on 2024-06-03 (odds x2)",
        "self-grant",
    )
    assert risk.window_start == privilege.window_start
    assert risk.window_end == exfil.window_end
    record = risk.to_record()
    assert list(record) == [
        "actor_id",
        "risk_score",
        "rank",
        "level",
        "categories",
        "reasons",
        "window_start",
        "window_end",
    ]
    assert record["level"] == "critical"


def test_reasons_are_capped_and_not_repeated() -> None:
    alerts = [
        alert("a", 0.9 - i / 10, detector=f"d{i}", reasons=(f"r{i}", "shared")) for i in range(5)
    ]
    risk = only(score_actors(alerts, None, AS_OF, RiskConfig(max_reasons=3)))
    assert risk.reasons == ("r0", "shared", "r1")


# --- ranking and determinism --------------------------------------------------------------------


def test_ties_rank_by_actor_id_whatever_the_input_order() -> None:
    alerts = [alert(actor, 0.7) for actor in ("b", "c", "a")]
    for order in (alerts, alerts[::-1]):
        ranked = score_actors(order, None, AS_OF)
        assert [(r.actor_id, r.rank) for r in ranked] == [("a", 1), ("b", 2), ("c", 3)]
        assert len({r.risk_score for r in ranked}) == 1


# --- properties ----------------------------------------------------------------------------------

ACTORS = ["a", "b", "c"]
alert_st = st.builds(
    lambda actor, score, days_old, category, detector: alert(
        actor, score, days_old=days_old, category=category, detector=detector
    ),
    st.sampled_from(ACTORS),
    st.floats(0.0, 1.0),
    st.floats(0.0, 120.0),
    st.sampled_from(["data_exfiltration", "privilege_abuse", "paid_reversal"]),
    st.sampled_from(["d1", "d2", "d3", "d4"]),
)
context_st = st.builds(
    ActorContext,
    st.booleans(),
    st.booleans(),
    st.none() | st.dates(date(2024, 1, 1), date(2024, 12, 31)),
)
people_st = st.dictionaries(st.sampled_from(ACTORS), context_st)


@settings(max_examples=300)
@given(st.lists(alert_st, max_size=40), people_st)
def test_contributions_sum_exactly_to_the_score(
    alerts: list[Alert], people: dict[str, ActorContext]
) -> None:
    for risk in score_actors(alerts, people, AS_OF):
        values = [c.value for c in risk.contributions]
        assert sum(values) == risk.risk_score
        assert sum(reversed(values)) == risk.risk_score
        assert math.fsum(values) == risk.risk_score
        assert 0.0 <= risk.risk_score < 100.0
        assert all(v >= 0 for v in values)
        assert risk.level is level_for(risk.risk_score)


@settings(max_examples=300)
@given(st.lists(alert_st, max_size=30), alert_st, people_st)
def test_another_alert_never_lowers_a_score(
    alerts: list[Alert], extra: Alert, people: dict[str, ActorContext]
) -> None:
    before = {r.actor_id: r.risk_score for r in score_actors(alerts, people, AS_OF)}
    after = {r.actor_id: r.risk_score for r in score_actors([*alerts, extra], people, AS_OF)}
    for actor, score in before.items():
        assert after[actor] >= score
    assert set(after) == set(before) | {extra.actor_id}


@settings(max_examples=200)
@given(st.lists(alert_st, max_size=30), people_st, st.randoms(use_true_random=False))
def test_input_order_changes_nothing(
    alerts: list[Alert], people: dict[str, ActorContext], rnd: random.Random
) -> None:
    before = score_actors(alerts, people, AS_OF)
    rnd.shuffle(alerts)
    after = score_actors(alerts, people, AS_OF)
    assert after == before
    assert [r.rank for r in after] == list(range(1, len(after) + 1))
    assert [(-r.risk_score, r.actor_id) for r in after] == sorted(
        (-r.risk_score, r.actor_id) for r in after
    )
