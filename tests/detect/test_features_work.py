"""Review-work features on hand-built days: decision speed and regularity, favourable
outcomes per owner, QA verdicts given and received, appeal overturns."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from pathlib import Path

import pytest

from custodes.detect.features import build_features
from custodes.detect.features.verdicts import DECISION_LOOKBACK_DAYS
from custodes.store.events import EventStore
from tests.detect.test_features import Org, build, features


def _decide(
    org: Org, ts: str, actor: str, outcome: str, ms: int | None = 30_000, **attrs: str
) -> str:
    extra = {"duration_ms": ms} if ms is not None else {}
    return org.event(
        ts,
        actor,
        "review_decision",
        target_type="content",
        target_id=f"c-{ts}-{actor}",
        outcome=outcome,
        attrs=attrs,
        **extra,
    )


def test_decision_speed_labels_and_classifier_agreement(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    plan = [  # seconds after 10:00, ms, outcome, suggested label
        (0, 2000, "approve", "approve"),
        (10, 4000, "approve", "approve"),
        (20, 6000, "approve", "approve"),
        (40, 8000, "approve", "remove"),
        (50, 10000, "remove", "remove"),
        (60, 12000, "remove", None),
    ]
    for sec, ms, outcome, suggested in plan:
        attrs = {"suggested_label": suggested} if suggested else {}
        _decide(org, f"2026-01-05T10:{sec // 60:02d}:{sec % 60:02d}Z", "m", outcome, ms, **attrs)
    row = build(store, org, tmp_path)[("m", "2026-01-05")]
    assert row["decisions"] == 6
    assert row["decision_ms_p50"] == pytest.approx(7000.0)  # between 6 s and 8 s
    assert row["decision_ms_p10"] == pytest.approx(3000.0)  # 2 s + 0.5 x (4 s - 2 s)
    assert row["decision_fast_share"] == pytest.approx(2 / 6)
    assert row["decision_top_label_share"] == pytest.approx(4 / 6)
    assert row["decision_suggestion_agree_share"] == pytest.approx(4 / 5)  # one has none
    assert row["favourable_against_suggestion_share"] == pytest.approx(1 / 4)
    gaps = [10, 10, 20, 10, 10]
    assert row["decision_gap_cv"] == pytest.approx(statistics.pstdev(gaps) / statistics.mean(gaps))


def test_metronome_gaps_have_zero_variation_and_breaks_do_not_count(
    store: EventStore, tmp_path: Path
) -> None:
    org = Org()
    for i in range(8):  # every 8 s, then an hour's break, then every 8 s again
        _decide(org, f"2026-01-05T10:00:{8 * i:02d}Z", "bot", "approve")
        _decide(org, f"2026-01-05T11:01:{8 * i:02d}Z", "bot", "approve")
    human_gaps = [5, 90, 12, 200, 30]
    at = 0
    for gap in [0, *human_gaps]:  # a human: irregular
        at += gap
        _decide(org, f"2026-01-05T10:{at // 60:02d}:{at % 60:02d}Z", "human", "approve")
    for sec in (0, 10, 20, 30):  # four decisions: three gaps, too few to judge
        _decide(org, f"2026-01-05T10:00:{sec:02d}Z", "few", "approve")
    got = build(store, org, tmp_path)
    assert got[("bot", "2026-01-05")]["decision_gap_cv"] == pytest.approx(0.0, abs=1e-12)
    expected = statistics.pstdev(human_gaps) / statistics.mean(human_gaps)
    assert got[("human", "2026-01-05")]["decision_gap_cv"] == pytest.approx(expected)
    assert got[("few", "2026-01-05")]["decision_gap_cv"] is None


def test_gaps_and_speed_ignore_decisions_without_duration(
    store: EventStore, tmp_path: Path
) -> None:
    org = Org()
    _decide(org, "2026-01-05T10:00:00Z", "m", "approve", None)
    _decide(org, "2026-01-05T10:00:10Z", "m", "approve", 4000)
    row = build(store, org, tmp_path)[("m", "2026-01-05")]
    assert row["decisions"] == 2
    assert row["decision_ms_p50"] == pytest.approx(4000.0)
    assert row["decision_fast_share"] == pytest.approx(1.0)


def test_favourable_outcomes_concentrated_on_one_owner(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    for i, owner in enumerate(("A", "A", "A", "B")):
        _decide(org, f"2026-01-05T10:0{i}:00Z", "paid", "approve", owner_account_id=owner)
    _decide(org, "2026-01-05T10:05:00Z", "paid", "remove", owner_account_id="C")
    _decide(org, "2026-01-05T10:06:00Z", "paid", "approve")  # no owner: not attributable
    org.event(
        "2026-01-05T10:07:00Z",
        "paid",
        "appeal_decision",
        outcome="overturn",
        attrs={"owner_account_id": "A"},
    )
    org.event(
        "2026-01-05T10:08:00Z",
        "paid",
        "appeal_decision",
        outcome="uphold",
        attrs={"owner_account_id": "A"},
    )
    for i, owner in enumerate("PQRSTUVWXY"):
        _decide(org, f"2026-01-05T11:0{i}:00Z", "fair", "approve", owner_account_id=owner)
    _decide(org, "2026-01-05T12:00:00Z", "strict", "remove", owner_account_id="A")
    got = build(store, org, tmp_path)
    paid = got[("paid", "2026-01-05")]
    assert paid["favourable_decisions"] == 5
    assert paid["favourable_top_owner_share"] == pytest.approx(4 / 5)
    assert paid["appeal_overturns_made"] == 1
    assert got[("fair", "2026-01-05")]["favourable_top_owner_share"] == pytest.approx(1 / 10)
    assert got[("strict", "2026-01-05")]["favourable_decisions"] == 0
    assert got[("strict", "2026-01-05")]["favourable_top_owner_share"] is None


def test_qa_verdicts_given_and_received_on_the_decisions_day(
    store: EventStore, tmp_path: Path
) -> None:
    org = Org()
    d = [_decide(org, f"2026-01-05T10:0{i}:00Z", "m1", "approve") for i in range(3)]
    d.append(_decide(org, "2026-01-05T10:05:00Z", "m2", "remove"))
    org.event("2026-01-06T09:00:00Z", "m1", "login")
    org.event("2026-01-06T09:00:00Z", "m2", "login")
    for i, (target, outcome) in enumerate(
        zip(d, ("agree", "agree", "agree", "disagree"), strict=True)
    ):
        org.event(
            f"2026-01-06T12:0{i}:00Z",
            "q",
            "qa_review",
            target_type="decision",
            target_id=target,
            outcome=outcome,
        )
    # A decision not in the store: the contract's attrs.reviewed_actor_id names whose it was.
    org.event(
        "2026-01-06T12:09:00Z",
        "q",
        "qa_review",
        target_id="e-elsewhere",
        outcome="disagree",
        attrs={"reviewed_actor_id": "m2"},
    )
    got = build(store, org, tmp_path)
    q = got[("q", "2026-01-06")]
    assert (q["qa_reviews_given"], q["qa_disagreements_given"]) == (5, 2)
    assert q["qa_top_moderator_agree_share"] == pytest.approx(3 / 5)
    m1, m2 = got[("m1", "2026-01-05")], got[("m2", "2026-01-05")]
    assert (m1["qa_received"], m1["qa_disagreements_received"]) == (3, 0)
    assert m1["qa_disagree_share_received"] == pytest.approx(0.0)
    assert (m2["qa_received"], m2["qa_disagreements_received"]) == (1, 1)
    assert got[("m1", "2026-01-06")]["qa_received"] == 0  # counted on the decisions' day
    assert got[("m2", "2026-01-06")]["qa_disagreements_received"] == 1  # the fallback
    assert m1["qa_reviews_given"] == 0


def test_appeal_overturn_rate_of_an_actors_decisions(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    d = [_decide(org, f"2026-01-05T10:0{i}:00Z", "m", "remove") for i in range(4)]
    by_content = org.events[-1]["target_id"]
    for i, (target, outcome) in enumerate(
        zip(d[:3], ("overturn", "overturn", "uphold"), strict=True)
    ):
        org.event(
            f"2026-01-08T10:0{i}:00Z",
            "h",
            "appeal_decision",
            target_type="content",
            outcome=outcome,
            attrs={"original_decision_id": target},
        )
    got = build(store, org, tmp_path)
    m = got[("m", "2026-01-05")]
    assert (m["appeals_received"], m["appeal_overturns_received"]) == (3, 2)
    assert m["appeal_overturn_rate"] == pytest.approx(2 / 3)
    assert got[("h", "2026-01-08")]["appeal_overturns_made"] == 2
    assert got[("h", "2026-01-08")]["appeals_received"] == 0
    # Without original_decision_id, an appeal goes to the latest earlier decision on the content.
    org.event(
        "2026-01-06T10:00:00Z",
        "m2",
        "review_decision",
        target_type="content",
        target_id=by_content,
        outcome="restrict",
    )
    org.event(
        "2026-01-09T10:00:00Z",
        "h",
        "appeal_decision",
        target_type="content",
        target_id=by_content,
        outcome="overturn",
    )
    got = build(store, org, tmp_path / "more")
    assert got[("m2", "2026-01-06")]["appeal_overturns_received"] == 1
    assert got[("m", "2026-01-05")]["appeals_received"] == 3
    assert math.isclose(got[("m2", "2026-01-06")]["appeal_overturn_rate"], 1.0)


def test_an_appeal_whose_decision_id_is_unknown_falls_back_to_the_content(
    store: EventStore, tmp_path: Path
) -> None:
    org = Org()
    _decide(org, "2026-01-05T10:00:00Z", "m", "remove")
    content = org.events[-1]["target_id"]
    org.event(
        "2026-01-07T10:00:00Z",
        "h",
        "appeal_decision",
        target_type="content",
        target_id=content,
        outcome="overturn",
        attrs={"original_decision_id": "e-purged"},
    )
    org.event(
        "2026-01-07T11:00:00Z",
        "h",
        "appeal_decision",
        target_type="content",
        target_id="c-never-decided",
        outcome="overturn",
    )
    got = build(store, org, tmp_path)
    assert got[("m", "2026-01-05")]["appeal_overturns_received"] == 1
    assert got[("h", "2026-01-07")]["appeal_overturns_made"] == 2


def test_incremental_build_links_verdicts_to_decisions_older_than_its_lookback(
    store: EventStore, tmp_path: Path
) -> None:
    """An incremental build looks decisions up in a few weeks before its window first; QA
    reviews of older decisions must still find whose they were, as a full build does."""
    org = Org()
    old = [_decide(org, f"2026-01-05T10:0{i}:00Z", "m", "remove") for i in range(2)]
    recent = _decide(org, "2026-05-01T10:00:00Z", "n", "remove")
    for i, target in enumerate([*old, recent]):
        org.event(
            f"2026-05-02T11:0{i}:00Z",
            "q",
            "qa_review",
            target_type="decision",
            target_id=target,
            outcome="agree",
        )
    full = build(store, org, tmp_path)
    since = dt.date(2026, 5, 2)
    assert since - dt.date(2026, 1, 5) > dt.timedelta(days=DECISION_LOOKBACK_DAYS)
    build_features(store, since)
    assert features(store) == full
    assert full[("q", "2026-05-02")]["qa_top_moderator_agree_share"] == pytest.approx(2 / 3)
