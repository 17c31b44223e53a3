"""Detection metrics on tiny labelled sets whose every number is worked out by hand below."""

from __future__ import annotations

import random
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta, timezone

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.detect.alert import Alert, Severity
from custodes.detect.evaluation import (
    FIELDS,
    OVERALL,
    ActorDay,
    Evaluation,
    Label,
    ScenarioResult,
    evaluate,
)

D0 = date(2024, 1, 1)


def day(n: int) -> date:
    """Day n of the test period, 1-based: day(1) is 2024-01-01."""
    return D0 + timedelta(days=n - 1)


def at(n: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2024, 1, n, hour, minute)


def alert(
    actor: str,
    category: str,
    score: float,
    start: datetime,
    end: datetime,
    detector: str = "test",
) -> Alert:
    return Alert(actor, detector, category, Severity.high, score, start, end, ("because",))


def row(result: Evaluation, scenario: str) -> ScenarioResult:
    if scenario == OVERALL:
        return result.overall
    (found,) = (r for r in result.scenarios if r.scenario == scenario)
    return found


def padding(count: int, score: float, prefix: str = "benign") -> list[ActorDay]:
    """`count` benign actor-days at one score, one actor each so they never repeat a day."""
    return [ActorDay(f"{prefix}{i}", day(1), score) for i in range(count)]


# --- budgets and ties -------------------------------------------------------------------------


def test_budget_is_rounded_up_so_a_tiny_budget_still_reads_one_day() -> None:
    # N = 2 insider days + 35 benign days = 37.
    # k(0.1 %) = ceil(0.037) = 1, k(1 %) = ceil(0.37) = 1, k(5 %) = ceil(1.85) = 2.
    # "top" scores 1.0 -> rank 1; "second" scores 0.9 -> one row above it (top's 1.0) -> rank 2.
    scores = [ActorDay("top", day(1), 1.0), ActorDay("second", day(1), 0.9)]
    scores += padding(35, 0.5)
    labels = [
        Label("top", "data_exfiltration", at(1), at(1, 23)),
        Label("second", "data_exfiltration", at(1), at(1, 23)),
    ]
    result = evaluate(scores, labels, [])
    assert result.actor_days == 37
    assert result.budget_days == (1, 1, 2)
    exfil = row(result, "data_exfiltration")
    # At k = 1 only "top" is found (1 of 2); at k = 2 both are.
    assert exfil.recall_at_0_1pct == 0.5
    assert exfil.recall_at_1pct == 0.5
    assert exfil.recall_at_5pct == 1.0
    # Percentiles: top 100 * (37 - 1 + 1) / 37 = 100; second 100 * 36 / 37 = 97.297...
    assert exfil.mean_percentile == pytest.approx((100.0 + 100.0 * 36 / 37) / 2)


def test_budget_of_an_exact_multiple_is_not_rounded_up_further() -> None:
    # N = 1000: k(0.1 %) = 1 exactly, k(1 %) = 10, k(5 %) = 50 (no float 1.0000000001 -> 2).
    result = evaluate(padding(1000, 0.1), [], [])
    assert result.budget_days == (1, 10, 50)


def test_insider_day_tied_with_benign_days_ranks_below_all_of_them() -> None:
    # N = 100: benign 0.9 x1, 0.7 x4, 0.1 x94; the insider's only day scores 0.7.
    # rank = 1 + #higher (the 0.9) + #benign ties (four 0.7) = 1 + 1 + 4 = 6.
    # k(5 %) = ceil(5) = 5 < 6: not found (an optimistic tie-break, rank 2, would find it).
    # percentile = 100 * (100 - 6 + 1) / 100 = 95.
    scores = [ActorDay("insider", day(1), 0.7)]
    scores += padding(1, 0.9, "high") + padding(4, 0.7, "tie") + padding(94, 0.1)
    labels = [Label("insider", "productivity_gaming", at(1), at(1, 12))]
    gaming = row(evaluate(scores, labels, []), "productivity_gaming")
    assert gaming.recall_at_5pct == 0.0
    assert gaming.mean_percentile == pytest.approx(95.0)


def test_malicious_days_tied_with_each_other_share_the_top_rank() -> None:
    # Two insiders both score 1.0 over 98 benign days at 0.1: no benign day ties or beats them,
    # so both have rank 1 and are found even at k(0.1 %) = ceil(0.1) = 1; percentile 100 each.
    scores = [ActorDay("x", day(1), 1.0), ActorDay("y", day(1), 1.0), *padding(98, 0.1)]
    labels = [
        Label("x", "qa_collusion", at(1), at(1, 8)),
        Label("y", "qa_collusion", at(1), at(1, 8)),
    ]
    collusion = row(evaluate(scores, labels, []), "qa_collusion")
    assert collusion.recall_at_0_1pct == 1.0
    assert collusion.mean_percentile == 100.0


# --- a small organisation: two scenarios, one actor in both, one insider never active ----------

# Actors a, b, c are insiders; d, e are benign. Days 1..5, everyone active every day except c
# on day 1. N = 5 + 5 + 4 + 5 + 5 = 24.
ORG_SCORES: dict[str, list[float | None]] = {
    "a": [0.50, 0.95, 0.60, 0.90, 0.30],
    "b": [0.10, 0.20, 0.80, 0.10, 0.10],
    "c": [None, 0.40, 0.40, 0.40, 0.40],
    "d": [0.70, 0.65, 0.10, 0.10, 0.10],
    "e": [0.05, 0.05, 0.05, 0.05, 0.05],
}
ORG_LABELS = [
    # a exfiltrates on days 3 and 4 (10:00 on day 3 to 12:00 on day 4).
    Label("a", "data_exfiltration", at(3, 10), at(4, 12)),
    # b exfiltrates on day 2 only.
    Label("b", "data_exfiltration", at(2), at(2, 23)),
    # a abuses privileges from 08:00 on day 5, open-ended: until the last scored day, day 5.
    Label("a", "privilege_abuse", at(5, 8), None),
    # c abuses privileges on day 1, when c has no scored activity.
    Label("c", "privilege_abuse", at(1), at(1, 23, 59)),
]
ORG_ALERTS = [
    # al1: a's day 4 (half-open [4 00:00, 5 00:00)): meets a's exfiltration window (same
    # category); ends at 00:00 on day 5, before a's privilege window opens at 08:00.
    alert("a", "data_exfiltration", 0.90, at(4), at(5)),
    # al2: b's day 2 under another category: b is detected, but not in the same category.
    alert("b", "credential_sharing", 0.80, at(2), at(3)),
    # al3: c's day 3, outside c's window (day 1): does not count.
    alert("c", "privilege_abuse", 0.70, at(3), at(4)),
    # al4: d has no label: a false alert, and the highest-scoring one.
    alert("d", "data_exfiltration", 0.95, at(1), at(2)),
    # al5: inside a's open-ended privilege window.
    alert("a", "privilege_abuse", 0.60, at(5, 9), at(5, 10)),
    # al6: e has no label; ties al5 at 0.60.
    alert("e", "privilege_abuse", 0.60, at(5), at(6)),
    # al7: a's day 2, which ends at 00:00 on day 3, before a's window starts at 10:00.
    alert("a", "data_exfiltration", 0.50, at(2), at(3)),
    # al8: ends exactly when b's window starts (day 2, 00:00): half-open, so no overlap.
    alert("b", "data_exfiltration", 0.40, at(1), at(2)),
]


def org_rows() -> list[ActorDay]:
    return [
        ActorDay(actor, day(i + 1), score)
        for actor, scores in ORG_SCORES.items()
        for i, score in enumerate(scores)
        if score is not None
    ]


# All 24 scores, highest first, malicious ones marked M:
#   .95 (a day 2, benign: outside a's windows), .90 (a4 M), .80 (b3), .70 (d1), .65 (d2),
#   .60 (a3 M), .50 (a1), .40 x4 (c), .30 (a5 M), .20 (b2 M), .10 x6, .05 x5.
# Ranks: a4 = 1 + 1 = 2; a3 = 1 + 5 = 6; a5 = 1 + 11 = 12; b2 = 1 + 12 = 13.
# Budgets for N = 24: k = ceil(0.024) = 1, ceil(0.24) = 1, ceil(1.2) = 2.
# Percentile of rank r: 100 * (24 - r + 1) / 24.
P_RANK_2 = 100 * 23 / 24
P_RANK_12 = 100 * 13 / 24
P_RANK_13 = 100 * 12 / 24


@pytest.fixture
def org() -> Evaluation:
    return evaluate(org_rows(), ORG_LABELS, ORG_ALERTS)


def test_org_budgets(org: Evaluation) -> None:
    assert org.actor_days == 24
    assert org.budget_days == (1, 1, 2)


def test_org_exfiltration_row(org: Evaluation) -> None:
    exfil = row(org, "data_exfiltration")
    # Insiders a (best rank 2) and b (rank 13). Nobody is within k = 1; a is within k = 2.
    # Detected: a by al1 (same category); b by al2 (credential_sharing; al8 ends at the start).
    # Precision over the four exfiltration alerts by score: al4 (.95, d: no), al1 (.90: yes),
    # al7 (.50: before a's window), al8 (.40: ends at b's start) -> 1 / 4.
    assert asdict(exfil) == {
        "scenario": "data_exfiltration",
        "insiders": 2,
        "detected": 2,
        "detected_same_category": 1,
        "recall_at_0_1pct": 0.0,
        "recall_at_1pct": 0.0,
        "recall_at_5pct": 0.5,
        "mean_percentile": pytest.approx((P_RANK_2 + P_RANK_13) / 2),
        "precision_top20": 0.25,
    }


def test_org_privilege_row(org: Evaluation) -> None:
    priv = row(org, "privilege_abuse")
    # Insiders a (day 5 only, rank 12) and c (no activity on day 1: not found, percentile 0).
    # Detected: a by al5; c's only alert al3 lies outside c's window.
    # Precision: al3 (.70: outside), then the tie at .60 -> al6 (e: false) before al5 (true)
    # -> 1 / 3 either way, since all three fit in the top 20.
    assert asdict(priv) == {
        "scenario": "privilege_abuse",
        "insiders": 2,
        "detected": 1,
        "detected_same_category": 1,
        "recall_at_0_1pct": 0.0,
        "recall_at_1pct": 0.0,
        "recall_at_5pct": 0.0,
        "mean_percentile": pytest.approx((P_RANK_12 + 0.0) / 2),
        "precision_top20": pytest.approx(1 / 3),
    }


def test_org_overall_row_counts_an_actor_in_two_scenarios_once(org: Evaluation) -> None:
    # Insiders a, b, c. a's best day over both windows is rank 2, b rank 13, c none.
    # Found within k = 2: a only -> 1/3. Percentile (P2 + P13 + 0) / 3.
    # Detected: a (same category, al1), b (al2, another category), c no -> 2, same 1.
    # Precision over all 8 alerts: hits al1, al2 (meets b's window, any category), al5 -> 3/8.
    assert asdict(org.overall) == {
        "scenario": OVERALL,
        "insiders": 3,
        "detected": 2,
        "detected_same_category": 1,
        "recall_at_0_1pct": 0.0,
        "recall_at_1pct": 0.0,
        "recall_at_5pct": pytest.approx(1 / 3),
        "mean_percentile": pytest.approx((P_RANK_2 + P_RANK_13 + 0.0) / 3),
        "precision_top20": 0.375,
    }


def test_scenarios_without_insiders_keep_counts_and_null_ratios(org: Evaluation) -> None:
    # credential_sharing has no insiders but one alert (al2, b: not a credential_sharing
    # insider) -> precision 0 / 1. unjustified_access has neither insiders nor alerts.
    assert row(org, "credential_sharing") == ScenarioResult(
        "credential_sharing", 0, 0, 0, None, None, None, None, 0.0
    )
    assert row(org, "unjustified_access") == ScenarioResult(
        "unjustified_access", 0, 0, 0, None, None, None, None, None
    )


def test_records_use_the_contract_fields_in_a_stable_order(org: Evaluation) -> None:
    records = org.to_records()
    assert FIELDS == (
        "scenario",
        "insiders",
        "detected",
        "detected_same_category",
        "recall_at_0_1pct",
        "recall_at_1pct",
        "recall_at_5pct",
        "mean_percentile",
        "precision_top20",
    )
    assert all(tuple(r) == FIELDS for r in records)
    # The contract's eight families in contract order, then the overall row.
    assert [r["scenario"] for r in records] == [
        "unjustified_access",
        "paid_reversal",
        "malicious_enforcement",
        "productivity_gaming",
        "qa_collusion",
        "data_exfiltration",
        "privilege_abuse",
        "credential_sharing",
        OVERALL,
    ]


def test_a_scenario_outside_the_contract_gets_its_own_row_after_the_contract_ones() -> None:
    labels = [Label("a", "x-custom", at(1), at(1, 5))]
    result = evaluate([ActorDay("a", day(1), 0.5)], labels, [])
    assert [r.scenario for r in result.scenarios][-1] == "x-custom"
    assert row(result, "x-custom").recall_at_0_1pct == 1.0


def test_arrow_input_gives_the_same_evaluation(org: Evaluation) -> None:
    rows = org_rows()
    table = pa.table(
        {
            "actor_id": [r.actor_id for r in rows],
            "day": pa.array([r.day for r in rows], pa.date32()),
            "score": [r.score for r in rows],
        }
    )
    assert evaluate(table, ORG_LABELS, ORG_ALERTS) == org


# --- precision at the top-20 cutoff -----------------------------------------------------------


def test_precision_counts_only_the_top_20_and_is_pessimistic_at_the_cutoff() -> None:
    # 19 true alerts at 0.9, then 3 true and 3 false at 0.5: the top 20 is the 19 plus one
    # alert at 0.5, taken pessimistically as a false one -> 19 / 20 = 0.95 (not 20 / 20).
    labels = [Label(f"t{i}", "paid_reversal", at(1), at(3)) for i in range(22)]
    alerts = [alert(f"t{i}", "paid_reversal", 0.9, at(2), at(3)) for i in range(19)]
    alerts += [alert(f"t{i}", "paid_reversal", 0.5, at(2), at(3)) for i in range(19, 22)]
    alerts += [alert(f"f{i}", "paid_reversal", 0.5, at(2), at(3)) for i in range(3)]
    result = evaluate([ActorDay("t0", day(2), 0.1)], labels, alerts)
    assert row(result, "paid_reversal").precision_top20 == 0.95
    assert result.overall.precision_top20 == 0.95


def test_precision_of_a_scenario_needs_a_label_of_that_scenario() -> None:
    # The actor is an insider of data_exfiltration; a privilege_abuse alert inside that window
    # is a hit overall (any label) but not for privilege_abuse (no such label) -> 1.0 vs 0.0.
    labels = [Label("a", "data_exfiltration", at(1), at(2))]
    alerts = [alert("a", "privilege_abuse", 0.8, at(1), at(2))]
    result = evaluate([ActorDay("a", day(1), 0.3)], labels, alerts)
    assert row(result, "privilege_abuse").precision_top20 == 0.0
    assert result.overall.precision_top20 == 1.0


# --- time handling ----------------------------------------------------------------------------


def test_aware_label_times_are_read_in_utc() -> None:
    # 01:00 on day 3 at UTC+02:00 is 23:00 on day 2 UTC, so day 2 is malicious: rank 1 of 2.
    # Read naively, the window would cover day 3 only, whose score (0.1) ranks 2nd.
    plus_two = timezone(timedelta(hours=2))
    labels = [
        Label(
            "a",
            "unjustified_access",
            datetime(2024, 1, 3, 1, tzinfo=plus_two),
            datetime(2024, 1, 3, 1, 30, tzinfo=plus_two),
        )
    ]
    scores = [ActorDay("a", day(2), 0.9), ActorDay("a", day(3), 0.1)]
    access = row(evaluate(scores, labels, []), "unjustified_access")
    assert access.mean_percentile == 100.0


def test_aware_alert_times_are_read_in_utc() -> None:
    # The alert [23:00, 23:30) UTC on day 2 meets a window that starts at 23:00 UTC on day 2;
    # written at UTC-05:00 it is 18:00-18:30 local.
    minus_five = timezone(timedelta(hours=-5))
    labels = [Label("a", "unjustified_access", at(2, 23), at(3, 2))]
    alerts = [
        alert(
            "a",
            "unjustified_access",
            0.5,
            datetime(2024, 1, 2, 18, tzinfo=minus_five),
            datetime(2024, 1, 2, 18, 30, tzinfo=minus_five),
        )
    ]
    result = evaluate([ActorDay("a", day(2), 0.5)], labels, alerts)
    assert row(result, "unjustified_access").detected == 1
    assert result.overall.precision_top20 == 1.0
    assert datetime(2024, 1, 2, 23, tzinfo=UTC) == alerts[0].window_start


def test_zero_length_alert_is_the_instant_of_its_start() -> None:
    labels = [Label("a", "privilege_abuse", at(2, 8), at(2, 9))]
    inside = alert("a", "privilege_abuse", 0.5, at(2, 8, 30), at(2, 8, 30))
    on_end = alert("a", "privilege_abuse", 0.4, at(2, 9), at(2, 9))
    after = alert("a", "privilege_abuse", 0.3, at(2, 9, 1), at(2, 9, 1))
    result = evaluate([ActorDay("a", day(2), 0.5)], labels, [inside, on_end, after])
    # Closed label window: 08:30 and 09:00 are in it, 09:01 is not -> 2 of 3.
    assert row(result, "privilege_abuse").precision_top20 == pytest.approx(2 / 3)


def test_open_ended_label_runs_to_the_last_scored_day() -> None:
    # Scored days 1..3; the label opens on day 2 with no end: days 2 and 3 are malicious.
    # Day 3 (0.8) is the top day overall -> rank 1; an alert on day 4 is after the last scored
    # day and does not count.
    scores = [ActorDay("a", day(1), 0.9), ActorDay("a", day(2), 0.2)]
    scores += [ActorDay("a", day(3), 0.8), ActorDay("b", day(3), 0.85)]
    labels = [Label("a", "credential_sharing", at(2), None)]
    late = alert("a", "credential_sharing", 0.9, at(4), at(5))
    sharing = row(evaluate(scores, labels, [late]), "credential_sharing")
    # Benign above day 3's 0.8: a's day 1 (0.9) and b's 0.85 -> rank 3 of 4, percentile 50.
    assert sharing.mean_percentile == pytest.approx(100 * (4 - 3 + 1) / 4)
    assert sharing.detected == 0


# --- bad input --------------------------------------------------------------------------------


def test_repeated_actor_day_is_refused_with_where() -> None:
    scores = [ActorDay("a", day(1), 0.1), ActorDay("b", day(1), 0.2), ActorDay("a", day(1), 0.3)]
    with pytest.raises(ValueError, match=r"'a' on 2024-01-01 \(row 2\)"):
        evaluate(scores, [], [])


def test_nan_score_is_refused_with_its_row() -> None:
    with pytest.raises(ValueError, match="NaN at row 1"):
        evaluate([ActorDay("a", day(1), 0.1), ActorDay("a", day(2), float("nan"))], [], [])


def test_label_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        Label("a", "paid_reversal", at(3), at(2))


def test_arrow_input_without_a_column_is_refused() -> None:
    with pytest.raises(ValueError, match="no column 'score'"):
        evaluate(pa.table({"actor_id": ["a"], "day": [day(1)]}), [], [])


def test_nothing_scored_finds_nobody() -> None:
    result = evaluate([], [Label("a", "paid_reversal", at(1), None)], [])
    assert result.budget_days == (0, 0, 0)
    assert row(result, "paid_reversal").recall_at_5pct == 0.0
    assert row(result, "paid_reversal").mean_percentile == 0.0


# --- invariants -------------------------------------------------------------------------------

ACTORS = [f"u{i}" for i in range(6)]
CATEGORIES = ["data_exfiltration", "privilege_abuse"]

actor_days = st.dictionaries(
    st.tuples(st.sampled_from(ACTORS), st.integers(1, 10)),
    st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]),  # few values, so ties are common
    min_size=1,
    max_size=40,
)
labels_st = st.lists(
    st.builds(
        lambda actor, scenario, start, length: Label(
            actor,
            scenario,
            at(start),
            None if length is None else at(start) + timedelta(hours=length),
        ),
        st.sampled_from(ACTORS),
        st.sampled_from(CATEGORIES),
        st.integers(1, 10),
        st.none() | st.integers(0, 72),
    ),
    max_size=6,
)
alerts_st = st.lists(
    st.builds(
        lambda actor, category, score, start, hours: alert(
            actor, category, score, at(start), at(start) + timedelta(hours=hours)
        ),
        st.sampled_from(ACTORS),
        st.sampled_from(CATEGORIES),
        st.sampled_from([0.1, 0.5, 0.9]),
        st.integers(1, 10),
        st.integers(0, 48),
    ),
    max_size=30,
)


def to_rows(scored: dict[tuple[str, int], float]) -> list[ActorDay]:
    return [ActorDay(actor, day(d), s) for (actor, d), s in scored.items()]


@settings(max_examples=200)
@given(actor_days, labels_st, alerts_st)
def test_recall_never_falls_as_the_budget_grows(
    scored: dict[tuple[str, int], float], labels: list[Label], alerts: list[Alert]
) -> None:
    result = evaluate(to_rows(scored), labels, alerts)
    for r in (*result.scenarios, result.overall):
        if r.insiders:
            assert r.recall_at_0_1pct is not None
            assert r.recall_at_1pct is not None
            assert r.recall_at_5pct is not None
            assert r.recall_at_0_1pct <= r.recall_at_1pct <= r.recall_at_5pct
        assert r.detected_same_category <= r.detected <= r.insiders


@settings(max_examples=200)
@given(actor_days, st.lists(st.sampled_from(ACTORS), min_size=1, unique=True), st.data())
def test_a_perfect_scorer_finds_everyone_at_the_top(
    scored: dict[tuple[str, int], float], insiders: list[str], data: st.DataObject
) -> None:
    # Each insider's window opens on their first active day and never closes; their days all
    # score 1.0 and every benign day less -> every insider has rank 1.
    active = {actor for actor, _ in scored}
    insiders = [a for a in insiders if a in active]
    labels = []
    for actor in insiders:
        first = min(d for a, d in scored if a == actor)
        labels.append(Label(actor, data.draw(st.sampled_from(CATEGORIES)), at(first), None))
    perfect = {
        (actor, d): 1.0 if actor in insiders else min(s, 0.75) for (actor, d), s in scored.items()
    }
    result = evaluate(to_rows(perfect), labels, [])
    if insiders:
        assert result.overall.mean_percentile == 100.0
        assert result.overall.recall_at_0_1pct == 1.0
    for r in result.scenarios:
        if r.insiders:
            assert r.mean_percentile == 100.0
            assert (r.recall_at_0_1pct, r.recall_at_1pct, r.recall_at_5pct) == (1.0, 1.0, 1.0)


@settings(max_examples=200)
@given(actor_days, labels_st, alerts_st, st.randoms(use_true_random=False))
def test_row_order_changes_nothing(
    scored: dict[tuple[str, int], float],
    labels: list[Label],
    alerts: list[Alert],
    rnd: random.Random,
) -> None:
    rows = to_rows(scored)
    before = evaluate(rows, labels, alerts)
    rnd.shuffle(rows)
    rnd.shuffle(labels)
    rnd.shuffle(alerts)
    assert evaluate(rows, labels, alerts) == before
