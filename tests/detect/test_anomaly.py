"""The anomaly detector (ECOD in SQL) on hand-built feature tables: its numbers match a
NumPy ECOD, rarity (not size) is what scores, training is strictly in the past, roles are
compared with their own kind, and alerts explain themselves."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from custodes.detect.detector import DetectContext, Findings, create
from custodes.detect.detectors.anomaly import MEASURES, Anomaly, EcodParams, Measure, Tail
from custodes.detect.detectors.anomaly.ecod import Window, contributions_sql, materialised, plan
from custodes.detect.features.build import table_ddl
from custodes.detect.features.catalog import FEATURE_COLUMNS
from custodes.store.events import EventStore

START = date(2026, 1, 5)  # a Monday: with 7-day periods, day 0 starts a period
AS_OF = datetime(2026, 3, 1)

VIEWS = Measure(
    "views",
    "private_views_unticketed",
    "unjustified_access",
    "private-data views with no ticket",
    ("view_private_data",),
    log=True,
    step=0.1,
)
FAST = Measure(
    "fast",
    "decision_fast_share",
    "productivity_gaming",
    "share of decisions under 5 s",
    ("review_decision",),
)
GAP = Measure(
    "gap",
    "decision_gap_cv",
    "productivity_gaming",
    "regularity of gaps between decisions",
    ("review_decision",),
    Tail.LOW,
)
QA = Measure(
    "qa",
    "qa_disagree_share_received",
    "malicious_enforcement",
    "share of their decisions QA disagreed with",
    ("review_decision",),
    Tail.BOTH,
)


@pytest.fixture
def features(store: EventStore) -> EventStore:
    store.execute(table_ddl())
    return store


def _day(i: int) -> date:
    return START + timedelta(days=i)


def _insert(store: EventStore, rows: list[dict[str, Any]]) -> None:
    """Feature rows by column name; columns not given are NULL."""
    columns = sorted({k for r in rows for k in r})
    table = pa.table({c: [r.get(c) for r in rows] for c in columns})
    store.register("rows_in", table)
    try:
        store.execute("INSERT INTO features_actor_day BY NAME SELECT * FROM rows_in")
    finally:
        store.unregister("rows_in")


def _people(store: EventStore, roles: dict[str, str]) -> None:
    for actor, role in roles.items():
        store.execute(
            "INSERT INTO people (actor_id, role, timezone) VALUES (?, ?, 'UTC')", [actor, role]
        )


def _run(store: EventStore, detector: Anomaly, since: date | None = None) -> Findings:
    return detector.run(DetectContext(store, AS_OF, since))


def _scores(findings: Findings) -> dict[tuple[str, int], float]:
    return {
        (r["actor_id"], (r["day"] - START).days): r["score"] for r in findings.scores.to_pylist()
    }


def _raw(store: EventStore, measures: tuple[Measure, ...], params: EcodParams) -> dict[Any, Any]:
    """ECOD's raw outlier score and stratum per scored actor-day."""
    with materialised(store, plan(measures, params, Window.of(params, None))):
        rows = store.fetch_all("SELECT actor_id, day, o, stratum FROM ecod_raw")
    return {(r[0], (r[1] - START).days): (r[2], r[3]) for r in rows}


# -- the numbers ---------------------------------------------------------------------------


def _reference_ecod(
    train: np.ndarray[Any, Any], test: np.ndarray[Any, Any], tails: list[Tail]
) -> np.ndarray[Any, Any]:
    """ECOD by the paper (training ECDFs, 1 / (n + 1) beyond the training range), on grid
    values; NaN = undefined, adds nothing."""
    sums = np.zeros((3, len(test)))  # left, right, skewness-chosen
    for j, tail in enumerate(tails):
        xs = train[:, j][~np.isnan(train[:, j])]
        n = len(xs)
        centred = xs - xs.mean()
        skew = (centred**3).mean() / (centred**2).mean() ** 1.5
        for i, x in enumerate(test[:, j]):
            if np.isnan(x):
                continue
            ge, le = (xs >= x - 1e-9).sum(), (xs <= x + 1e-9).sum()
            high = -np.log(ge / n if ge else 1 / (n + 1))
            low = -np.log(le / n if le else 1 / (n + 1))
            if tail is Tail.HIGH:
                variants = (high, high, high)
            elif tail is Tail.LOW:
                variants = (low, low, low)
            else:
                variants = (low, high, low if skew < 0 else high)
            sums[:, i] += variants
    result: np.ndarray[Any, Any] = sums.max(axis=0)
    return result


def test_raw_scores_match_a_numpy_ecod(features: EventStore) -> None:
    rng = np.random.default_rng(7)
    measures = (FAST, GAP, QA)
    n_train, n_test = 15, 8

    def values(n: int) -> np.ndarray[Any, Any]:
        grid = rng.integers(0, 40, size=(n, 3)) * 0.02  # on the 0.02 grid already
        grid[:, 2] = rng.choice([0.0, 0.02, 0.04, 0.5, 0.9], size=n)  # skewed: BOTH matters
        grid[rng.random((n, 3)) < 0.15] = np.nan
        return grid

    train, test = values(n_train), values(n_test)
    rows = []
    for day, block in ((0, train), (1, test)):
        for i, row in enumerate(block):
            given = zip(measures, row, strict=True)
            known = {m.sql: (None if np.isnan(v) else float(v)) for m, v in given}
            rows.append({"actor_id": f"m{i:02}", "day": _day(day)} | known)
    _insert(features, rows)
    _people(features, {f"m{i:02}": "moderator" for i in range(n_train)})
    params = EcodParams(train_days=1, period_days=1, min_train=5, min_calibration=1)

    raw = _raw(features, measures, params)

    expected = _reference_ecod(train, test, [m.tail for m in measures])
    got = np.array([raw[(f"m{i:02}", 1)][0] for i in range(n_test)])
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-9)  # raw scores are rounded
    assert not any(day == 0 for _, day in raw)  # nothing before it: not scored
    assert len(set(np.round(got, 6))) > 3  # a test of something, not of zeros


# -- rarity, not size --------------------------------------------------------------------

TWO = (VIEWS, FAST)
WEEKLY = EcodParams(train_days=14, period_days=7, min_train=50, quantile=0.99, min_calibration=50)


def _team(days: int = 21, actors: int = 20, habitual: int = 4) -> list[dict[str, Any]]:
    """Moderators m00.. with no unticketed views and a fast-decision share that wanders
    over 0..0.18 (each day, exactly a tenth of them at each level, so every window has the
    same distribution), and habitual viewers h1.. who make 3 such views every day and no
    decisions (a sixth of all moderator-days, with the defaults)."""
    rows = []
    for d in range(days):
        for a in range(actors):
            rows.append(
                {
                    "actor_id": f"m{a:02}",
                    "day": _day(d),
                    "private_views_unticketed": 0,
                    "decision_fast_share": ((a + d) % 10) * 0.02,
                }
            )
        for h in range(1, habitual + 1):
            rows.append({"actor_id": f"h{h}", "day": _day(d), "private_views_unticketed": 3})
    return rows


def _moderators(actors: int = 20, habitual: int = 4) -> dict[str, str]:
    names = [f"m{a:02}" for a in range(actors)] + [f"h{h}" for h in range(1, habitual + 1)]
    return dict.fromkeys(names, "moderator")


def _set(rows: list[dict[str, Any]], actor: str, day: int, **values: Any) -> None:
    for r in rows:
        if r["actor_id"] == actor and r["day"] == _day(day):
            r.update(values)


def test_far_tail_scores_highest_and_a_common_high_value_does_not_alert(
    features: EventStore,
) -> None:
    rows = _team()
    _set(rows, "m00", 18, private_views_unticketed=40)  # never seen: the finding
    _set(rows, "m05", 18, private_views_unticketed=3, decision_fast_share=0.0)  # high, but common
    _insert(features, rows)
    _people(features, _moderators())

    findings = _run(features, Anomaly(TWO, WEEKLY))

    scores = _scores(findings)
    week3 = {k: v for k, v in scores.items() if k[1] >= 14}
    assert max(week3, key=week3.__getitem__) == ("m00", 18)
    assert scores[("m00", 18)] > 0.5
    assert scores[("m05", 18)] < 0.5
    assert all(v < 0.5 for (a, _), v in week3.items() if a.startswith("h"))
    assert {(a.actor_id, (a.window_start.date() - START).days) for a in findings.alerts} == {
        ("m00", 18)
    }
    # The first two weeks have no training, or no scored training days to calibrate on.
    assert min(day for _, day in scores) == 14


def test_scores_are_monotone_in_the_raw_score_and_half_at_the_threshold(
    features: EventStore,
) -> None:
    rows = _team()
    _set(rows, "m00", 18, private_views_unticketed=40)
    _insert(features, rows)
    _people(features, _moderators())
    with materialised(features, plan(TWO, WEEKLY, Window.of(WEEKLY, None))):
        got = features.fetch_all("SELECT o, threshold, mean, score FROM ecod_scores ORDER BY o")
    ordered = [r[3] for r in got]
    assert ordered == sorted(ordered)
    _, threshold, mean, _ = got[0]
    slope = np.log(99) / max(threshold - mean, WEEKLY.scale_floor)
    for o, t, _, score in got:
        assert score == pytest.approx(1 / (1 + np.exp(-(o - t) * slope)))
    ordinary = [score for o, _, _, score in got if o <= mean]
    assert ordinary and max(ordinary) <= 0.0101  # ordinary days are near 0


# -- training is the past ----------------------------------------------------------------

DAILY = EcodParams(train_days=7, period_days=1, min_train=20, quantile=0.99, min_calibration=20)


def _daily_team(bursting: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = _team(days=20, actors=10, habitual=0)
    for r in rows:
        r["private_views_unticketed"] = (int(r["actor_id"][1:]) + (r["day"] - START).days) % 2
        if r["actor_id"] in bursting and (r["day"] - START).days >= 14:
            r["private_views_unticketed"] = 30  # from day 14 on, every day
    return rows


def test_a_burst_is_not_its_own_baseline_until_it_is_in_the_past(features: EventStore) -> None:
    team = {f"m{a:02}": "moderator" for a in range(10)}
    _insert(features, _daily_team(("m00", "m01", "m02")))
    _people(features, team)
    burst = _raw(features, (VIEWS,), DAILY)

    features.execute("DELETE FROM features_actor_day")
    _insert(features, _daily_team(("m00",)))
    alone = _raw(features, (VIEWS,), DAILY)

    # On its first day, three people doing it at once is as surprising as one doing it.
    assert burst[("m00", 14)][0] == pytest.approx(alone[("m00", 14)][0])
    assert burst[("m01", 14)][0] == pytest.approx(burst[("m00", 14)][0])
    # Once in the training window, repeating it is less and less surprising...
    views = [burst[("m00", d)][0] for d in range(14, 20)]
    assert views == sorted(views, reverse=True) and views[-1] < views[0] - 1.0
    # ...and faster when more people did it.
    assert burst[("m00", 16)][0] < alone[("m00", 16)][0]


# -- roles -----------------------------------------------------------------------------------


def test_roles_are_compared_with_their_own_kind(features: EventStore) -> None:
    rows = _team()  # moderators m00..m19
    for a in range(10):  # investigators look at private data all day, with tickets or not
        for d in range(21):
            rows.append(
                {
                    "actor_id": f"i{a}",
                    "day": _day(d),
                    "private_views_unticketed": 15 + (a + d) % 11,
                    "decision_fast_share": ((a + d) % 10) * 0.02,
                }
            )
    rows.append(
        {
            "actor_id": "admin",
            "day": _day(18),
            "private_views_unticketed": 20,
            "decision_fast_share": 0.0,
        }
    )
    _set(rows, "m00", 18, private_views_unticketed=20, decision_fast_share=0.0)
    _set(rows, "i3", 18, private_views_unticketed=25, decision_fast_share=0.0)
    _insert(features, rows)
    investigators = {f"i{a}": "investigator" for a in range(10)}
    _people(features, _moderators() | investigators | {"admin": "admin"})

    findings = _run(features, Anomaly(TWO, WEEKLY))

    alerted = {(a.actor_id, (a.window_start.date() - START).days): a for a in findings.alerts}
    assert ("m00", 18) in alerted
    assert ("i3", 18) not in alerted  # a busy day for an investigator
    assert "moderator-days" in alerted[("m00", 18)].reasons[0]
    # One admin is too few to be a population: compared with all staff instead, among whom
    # 20 views is what investigators do every day.
    raw = _raw(features, TWO, WEEKLY)
    assert raw[("admin", 18)][1] == "*"
    assert raw[("m00", 18)][1] == "moderator"
    assert ("admin", 18) not in alerted
    assert _scores(findings)[("admin", 18)] < 0.5


def test_too_little_history_scores_nothing(features: EventStore) -> None:
    _insert(features, _team(days=21, actors=3, habitual=0))  # 21 actor-days a week: < 50
    _people(features, _moderators(3, 0))
    findings = _run(features, Anomaly(TWO, WEEKLY))
    assert findings.scores.num_rows == 0 and findings.alerts == []


# -- runs ------------------------------------------------------------------------------------


def test_runs_are_deterministic_and_incremental_runs_agree_with_full_ones(
    features: EventStore,
) -> None:
    rows = _team()
    _set(rows, "m00", 18, private_views_unticketed=40)
    _set(rows, "m07", 16, decision_fast_share=0.9)
    _insert(features, rows)
    _people(features, _moderators())
    detector = Anomaly(TWO, WEEKLY)

    first, second = _run(features, detector), _run(features, detector)
    assert first.scores.equals(second.scores)
    assert first.alerts == second.alerts

    since = _day(17)  # mid-period
    later = _run(features, detector, since)
    full = _scores(first)
    assert _scores(later) == {k: v for k, v in full.items() if k[1] >= 17}
    assert later.alerts == [a for a in first.alerts if a.window_start.date() >= since]
    assert later.alerts  # m00's day is in it


# -- explanations ----------------------------------------------------------------------------


def test_alert_names_the_rare_measures_their_family_and_the_evidence(
    features: EventStore,
) -> None:
    rows = _team()
    _set(rows, "m00", 18, private_views_unticketed=40, decision_fast_share=0.1)
    _insert(features, rows)
    _people(features, _moderators())
    day = datetime.combine(_day(18), datetime.min.time())
    for n, action in enumerate(("view_private_data", "view_private_data", "login")):
        features.execute(
            "INSERT INTO events (event_id, ts, actor_id, action) VALUES (?, ?, 'm00', ?)",
            [f"ev{n}", day + timedelta(hours=9 + n), action],
        )

    [alert] = _run(features, Anomaly(TWO, WEEKLY)).alerts

    assert alert.detector == "anomaly"
    assert alert.category == "unjustified_access"
    assert alert.reasons[0] == (
        "private-data views with no ticket: 40 — higher than all 336 earlier moderator-days"
    )
    assert alert.reasons[-1].startswith("anomaly score ")
    assert "99th percentile of moderator-days in the 14 days before" in alert.reasons[-1]
    assert alert.evidence_event_ids == ("ev0", "ev1")
    assert 0.5 < alert.score <= 1.0
    assert alert.window_start == day and alert.window_end == day + timedelta(days=1)


def test_a_rare_but_not_unique_value_says_how_rare(features: EventStore) -> None:
    rows = _team()
    _set(rows, "m10", 3, private_views_unticketed=40)  # once before, in training
    _set(rows, "m00", 18, private_views_unticketed=40)
    _insert(features, rows)
    _people(features, _moderators())
    findings = _run(features, Anomaly(TWO, WEEKLY))
    [alert] = [a for a in findings.alerts if a.actor_id == "m00"]
    assert alert.reasons[0] == (
        "private-data views with no ticket: 40 — rarer than 99.7% of 336 earlier moderator-days"
    )


# -- the default measures --------------------------------------------------------------------


def test_default_measures_read_catalogued_features_and_name_every_family() -> None:
    from custodes.model.vocabulary import SCENARIOS

    names = [m.name for m in MEASURES]
    assert len(names) == len(set(names))
    for m in MEASURES:
        words = m.sql.replace("(", " ").replace(",", " ").split()
        assert set(words) & set(FEATURE_COLUMNS), m.name
        assert m.actions and m.what and m.step > 0
    assert {m.category for m in MEASURES} == set(SCENARIOS)


def test_registered_detector_runs_on_the_default_measures(features: EventStore) -> None:
    rows = []
    for a in range(30):
        for d in range(28):
            rows.append(
                {
                    "actor_id": f"m{a:02}",
                    "day": _day(d),
                    "decisions": 100 + (a * d) % 17,
                    "private_views": (a + d) % 3,
                    "private_views_unticketed": 0,
                    "events_total": 120,
                    "after_hours_events": (a + 2 * d) % 5,
                    "distinct_ips": 1,
                    "decision_fast_share": ((a + d) % 7) * 0.01,
                }
            )
    _set(rows, "m00", 25, private_views_unticketed=12, private_views=12, distinct_ips=3)
    _insert(features, rows)
    _people(features, {f"m{a:02}": "moderator" for a in range(30)})
    [detector] = create(["anomaly"])
    assert isinstance(detector, Anomaly)
    findings = detector.run(
        DetectContext(features, AS_OF)
    )  # EcodParams defaults: 56-day window, 99.9th percentile
    scores = _scores(findings)
    assert scores and max(scores, key=scores.__getitem__) == ("m00", 25)
    assert [a.category for a in findings.alerts] == ["unjustified_access"]


def test_every_step_transpiles_to_spark() -> None:
    import sqlglot
    from sqlglot.errors import ErrorLevel

    params = EcodParams()
    for window in (Window.of(params, None), Window.of(params, date(2026, 2, 4))):
        steps = plan(MEASURES, params, window)
        texts = [sql for _, sql in steps] + [contributions_sql(MEASURES, "wanted")]
        for sql in texts:
            [spark] = sqlglot.transpile(
                sql, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE
            )
            assert "LAMBDA" not in spark.upper() and "->" not in spark


def test_parameters_are_checked() -> None:
    with pytest.raises(ValueError, match="multiple"):
        EcodParams(train_days=10, period_days=7)
    with pytest.raises(ValueError, match="quantile"):
        EcodParams(quantile=1.0)
    with pytest.raises(ValueError, match="measure"):
        plan((), EcodParams(), Window.of(EcodParams(), None))


# -- the optional Isolation Forest -----------------------------------------------------------


def test_isolation_forest_finds_a_rare_combination_and_explains_it_with_ecod(
    features: EventStore,
) -> None:
    # Two shares that trade off (one high means the other low); one day has both high, each
    # at a level that is common on its own. (A forest's splits lie within the training
    # range, so it cannot tell a value far beyond everything seen from the largest seen,
    # which is most misconduct in counts: hence ECOD is the default.)
    top = Measure(
        "top",
        "decision_top_label_share",
        "productivity_gaming",
        "share of decisions with one label",
        ("review_decision",),
    )
    rows = _team(habitual=0)
    for r in rows:
        r["decision_top_label_share"] = round(0.18 - r["decision_fast_share"], 2)
    _set(rows, "m00", 18, decision_fast_share=0.18, decision_top_label_share=0.18)
    _insert(features, rows)
    _people(features, _moderators(habitual=0))
    detector = Anomaly((FAST, top), WEEKLY, model="isolation_forest")

    findings = _run(features, detector)

    scores = _scores(findings)
    week3 = {k: v for k, v in scores.items() if k[1] >= 14}
    assert max(week3, key=week3.__getitem__) == ("m00", 18)
    assert scores[("m00", 18)] > 0.5
    assert sorted(week3.values())[-2] < 0.5
    [alert] = findings.alerts
    assert alert.reasons[0] == (
        "share of decisions under 5 s: 0.18 — rarer than 90% of 280 earlier moderator-days"
    )
    assert "(isolation forest over 2 measures)" in alert.reasons[-1]
    assert _run(features, detector).scores.equals(findings.scores)  # seeded


def test_a_setting_selects_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    [default] = create(["anomaly"])
    assert isinstance(default, Anomaly) and default.model == "ecod"
    monkeypatch.setenv("CUSTODES_ANOMALY_MODEL", "isolation_forest")
    [chosen] = create(["anomaly"])
    assert isinstance(chosen, Anomaly) and chosen.model == "isolation_forest"
    assert chosen.params.scale_floor < default.params.scale_floor  # its scores are 0..1


def test_scikit_learn_is_only_imported_when_the_forest_is_chosen() -> None:
    # It takes ~3 s to import: module-level imports would tax every incremental run.
    import ast
    from pathlib import Path

    import custodes.detect.detectors.anomaly as package

    for path in Path(package.__file__).parent.glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.split(".")[0] in ("sklearn", "pyod") for n in names), path
