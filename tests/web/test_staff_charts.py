"""The staff page's chart specs: valid Vega-Lite (pages skip validation per request), the
same numbers in the spec and the table, no names, and a sentence either way."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import altair as alt

from custodes.risk.profile import DayRisk, FamilyActivity, Peers
from custodes.web import staff_charts

START = date(2026, 3, 1)


def _valid(spec: dict[str, Any] | None) -> dict[str, Any]:
    assert spec is not None
    alt.Chart.from_dict(spec, validate=True)  # raises on a spec Vega-Lite refuses
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6")
    assert spec["width"] == "container"
    return spec


def _values(spec: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for values in spec.get("datasets", {}).values():
        found += values
    return found


def _peers(scores: tuple[float, ...], rank: int, activity: tuple[FamilyActivity, ...]) -> Peers:
    return Peers(
        role="qa_analyst",
        site="lisbon",
        size=len(scores),
        scores=scores,
        rank=rank,
        activity=activity,
        activity_start=datetime(2026, 2, 1),
        activity_end=datetime(2026, 3, 1),
    )


def test_risk_history_stacks_parts_that_add_up_to_each_day() -> None:
    days = [
        DayRisk(START, 0.0, ()),
        DayRisk(START + timedelta(days=1), 63.2, (("unjustified_access", 63.2),)),
        DayRisk(
            START + timedelta(days=2),
            70.5,
            (("unjustified_access", 50.0), ("data_exfiltration", 10.5), ("privileged", 10.0)),
        ),
    ]
    chart = staff_charts.risk_history(days)
    values = _values(_valid(chart.spec))
    for day in days:
        points = sum(v["points"] for v in values if v["day"] == day.day.isoformat())
        assert round(points, 1) == day.score
    # Families first in their fixed order, then context; the table lists each change.
    assert chart.table.columns == (
        "day",
        "score",
        "unjustified access",
        "data exfiltration",
        "privileged",
    )
    assert chart.table.rows[-1] == ("2026-03-03", "70.5", "50.0", "10.5", "10.0")
    assert chart.summary.startswith("70.5 on 2026-03-03, from 0.0 on 2026-03-01")
    assert "unjustified access" in chart.summary
    flat = staff_charts.risk_history([DayRisk(START, 0.0, ())])
    assert flat.spec is None and flat.summary.startswith("No active alerts")


def test_peer_scores_mark_the_person_among_unnamed_peers() -> None:
    chart = staff_charts.peer_scores(_peers((80.0, 10.0, 0.0, 0.0), 2, ()), 40.0)
    spec = _valid(chart.spec)
    assert spec["height"] == 90
    values = _values(spec)
    assert sorted(v["score"] for v in values if v["who"] == "peer") == [0.0, 0.0, 10.0, 80.0]
    assert [v["score"] for v in values if v["who"] == "this person"] == [40.0]
    assert set(values[0]) == {"who", "score"}  # no names, no ids
    assert chart.summary == (
        "Riskiest 2 of 5 qa analysts in lisbon at 40.0; 2 peers with active alerts, "
        "peers' median 5.0, 90th percentile 80.0."
    )
    alone = staff_charts.peer_scores(_peers((), 1, ()), 12.0)
    assert alone.spec is None and "No peers" in alone.summary


def test_activity_against_the_peers_median() -> None:
    rows = (
        FamilyActivity("data_access", 40.0, 10.0),
        FamilyActivity("session", 2.0, 2.0),
        FamilyActivity("custom", 1.0, None),
    )
    chart = staff_charts.activity_vs_peers(_peers((1.0,), 1, rows))
    values = _values(_valid(chart.spec))
    assert {(v["family"], v["who"]): v["per_day"] for v in values} == {
        ("data access", "this person"): 40.0,
        ("data access", "peers' median"): 10.0,
        ("session", "this person"): 2.0,
        ("session", "peers' median"): 2.0,
        ("custom", "this person"): 1.0,
    }
    assert chart.table.rows[2] == ("custom", "1.0", "\u2013")
    assert "furthest above peers in data access (40.0 against 10.0)" in chart.summary
    empty = staff_charts.activity_vs_peers(_peers((), 1, ()))
    assert empty.spec is None and empty.summary.startswith("No activity")
