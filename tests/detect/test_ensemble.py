"""The ensemble ranking: agreement between detectors counts, one detector's repetition does
not, every active day is ranked, persistence accumulates when configured, and incremental
runs rebuild only their days."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from custodes.detect import ensemble
from custodes.detect.features.build import table_ddl
from custodes.detect.results import actor_day_scores
from custodes.store.events import EventStore

D0 = date(2026, 3, 1)


def _scores(store: EventStore, rows: list[tuple[str, int, str, float]]) -> None:
    for actor, day, detector, score in rows:
        store.execute(
            "INSERT INTO actor_day_scores VALUES (?, ?, ?, ?, 1)",
            [actor, D0 + timedelta(days=day), detector, score],
        )


def _active(store: EventStore, days: dict[str, list[int]]) -> None:
    store.execute(table_ddl())
    for actor, ds in days.items():
        for d in ds:
            store.execute(
                "INSERT INTO features_actor_day (actor_id, day) VALUES (?, ?)",
                [actor, D0 + timedelta(days=d)],
            )


def _ensemble(store: EventStore, since: date | None = None) -> dict[tuple[str, int], float]:
    ensemble.build_ensemble(store, since, 2)
    table = actor_day_scores(store).to_pylist()
    return {(r["actor_id"], (r["day"] - D0).days): r["score"] for r in table}


def _evidence(at_least_as_high: int, active: int) -> float:
    """ln(P_FLOOR / p) for a day whose detector tail share is p."""
    return max(0.0, math.log(ensemble.P_FLOOR * active / at_least_as_high))


def _quiet(n: int) -> dict[str, list[int]]:
    """n ordinary staff with one active, unscored day each: the population ranks run over."""
    return {f"q{i}": [0] for i in range(n)}


def test_evidence_is_rarity_within_each_detector(store: EventStore) -> None:
    _active(store, {"a": [0, 1], "b": [0], **_quiet(97)})  # 100 active actor-days
    _scores(store, [("a", 0, "baselines", 0.9), ("b", 0, "baselines", 0.2)])
    got = _ensemble(store)
    assert got[("a", 0)] == pytest.approx(1 - math.exp(-_evidence(1, 100) / ensemble.SCALE))
    assert got[("b", 0)] == pytest.approx(1 - math.exp(-_evidence(2, 100) / ensemble.SCALE))
    assert got[("a", 0)] > got[("b", 0)] > 0
    assert got[("a", 1)] == 0.0  # active, unscored: ranked at the bottom, not dropped


def test_scales_do_not_matter_only_ranks(store: EventStore) -> None:
    """A detector that scores its rarest day 0.2 counts as much as one that scores it 0.99."""
    _active(store, {"x": [0], "y": [0], **_quiet(98)})
    _scores(store, [("x", 0, "anomaly", 0.2), ("y", 0, "rules", 0.99)])
    got = _ensemble(store)
    assert got[("x", 0)] == pytest.approx(got[("y", 0)])


def test_common_scores_are_no_evidence(store: EventStore) -> None:
    everyone = {f"m{i}": [0] for i in range(10)}
    _active(store, everyone)
    _scores(store, [(a, 0, "baselines", 0.9) for a in everyone])  # all tie: p = 1
    assert set(_ensemble(store).values()) == {0.0}


def test_agreement_of_two_detectors_beats_either_alone(store: EventStore) -> None:
    _active(store, {"both": [0], "one": [0], **_quiet(98)})
    _scores(
        store,
        [
            ("both", 0, "baselines", 0.8),
            ("both", 0, "rules", 0.8),
            ("one", 0, "baselines", 0.8),
        ],
    )
    got = _ensemble(store)
    b, r = _evidence(2, 100), _evidence(1, 100)  # baselines ties two days; rules has one
    assert got[("both", 0)] == pytest.approx(1 - math.exp(-(r + b / 2) / ensemble.SCALE))
    assert got[("both", 0)] > got[("one", 0)]


def test_persistence_accumulates_with_decay_when_a_window_is_set(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ensemble, "WINDOW_DAYS", 14)
    monkeypatch.setattr(ensemble, "HALF_LIFE_DAYS", 2.0)
    _active(store, {"steady": list(range(5)), "spike": list(range(5)), **_quiet(190)})
    _scores(store, [("steady", d, "baselines", 0.8) for d in range(5)])
    _scores(store, [("spike", 4, "baselines", 0.8)])
    got = _ensemble(store)
    e = _evidence(6, 200)  # six days tie at 0.8 among 200 active actor-days
    t = sum(e * 2 ** (-k / 2.0) for k in range(5))
    assert got[("steady", 4)] == pytest.approx(1 - math.exp(-t / ensemble.SCALE))
    assert got[("steady", 4)] > got[("spike", 4)]


def test_incremental_rebuild_keeps_earlier_days(store: EventStore) -> None:
    _active(store, {"a": [0, 1, 2], **_quiet(50)})
    _scores(store, [("a", 0, "baselines", 0.9), ("a", 2, "baselines", 0.9)])
    before = _ensemble(store)
    store.execute("DELETE FROM actor_day_scores WHERE detector = 'baselines' AND day >= ?", [D0])
    _scores(store, [("a", 2, "baselines", 0.95)])
    after = _ensemble(store, since=D0 + timedelta(days=1))
    assert after[("a", 0)] == before[("a", 0)]  # not rebuilt: before `since`
    assert after[("a", 2)] > before[("a", 2)]


def _alert(store: EventStore, alert_id: str, actor: str, day: int, own: float) -> None:
    start = D0 + timedelta(days=day)
    store.execute(
        "INSERT INTO alerts (alert_id, actor_id, detector, category, severity, score, "
        "window_start, window_end, detector_score) VALUES (?, ?, 'baselines', "
        "'unjustified_access', 'low', ?, ?, ?, ?)",
        [alert_id, actor, own, start, start + timedelta(days=1), own],
    )


def test_alerts_are_ordered_by_the_ensemble_with_their_own_score_breaking_ties(
    store: EventStore,
) -> None:
    """The confident alert of one detector's lone spike ranks below a modest alert on a
    day two detectors agree about; on one day, the detector's own score orders alerts."""
    _active(store, {"both": [0], "one": [0], **_quiet(98)})
    _scores(
        store,
        [("both", 0, "baselines", 0.6), ("both", 0, "rules", 0.6), ("one", 0, "anomaly", 0.99)],
    )
    _alert(store, "lone", "one", 0, 0.99)
    _alert(store, "agreed-low", "both", 0, 0.3)
    _alert(store, "agreed-high", "both", 0, 0.6)
    got = _ensemble(store)
    ensemble.prioritise_alerts(store, None)
    ensemble.prioritise_alerts(store, None)  # idempotent: reads only detector_score
    rows = dict(store.fetch_all("SELECT alert_id, score FROM alerts"))
    assert rows["agreed-high"] > rows["agreed-low"] > rows["lone"]
    w = ensemble.OWN_WEIGHT
    assert rows["lone"] == pytest.approx((1 - w) * got[("one", 0)] + w * 0.99)
    assert rows["agreed-low"] == pytest.approx((1 - w) * got[("both", 0)] + w * 0.3)
