"""Quick charts of SQL results: valid Vega-Lite for bar and line, times sent as UTC ISO 8601,
the query's own order kept, at most MAX_POINTS drawn, and a clear reason when the chosen
columns cannot make a chart."""

from __future__ import annotations

from typing import Any

import altair as alt
import pytest

from custodes.web import charts

COLUMNS = [("day", "TIMESTAMP"), ("action", "VARCHAR"), ("events", "BIGINT"), ("share", "DOUBLE")]
ROWS: list[list[Any]] = [
    ["2026-03-02 00:00:00", "view_profile", 12, 0.5],
    ["2026-03-03 00:00:00", "qa_review", 30, 0.25],
    ["2026-03-04 00:00:00", "login", None, None],
]


def _data(chart: charts.Chart) -> list[dict[str, Any]]:
    assert chart.spec is not None
    alt.Chart.from_dict(chart.spec, validate=True)
    values: list[dict[str, Any]] = chart.spec["datasets"][chart.spec["data"]["name"]]
    return values


def test_a_bar_chart_keeps_the_querys_order() -> None:
    chart = charts.query_chart("q", "Actions", COLUMNS, ROWS, kind="bar", x="action", y="events")
    assert chart.spec is not None and chart.spec["mark"]["type"] == "bar"
    assert chart.spec["encoding"]["x"]["type"] == "nominal"
    assert chart.spec["encoding"]["x"]["sort"] is None
    assert [v["x"] for v in _data(chart)] == ["view_profile", "qa_review"]  # nulls left out
    assert chart.summary == (
        "A bar chart of events by action over 2 rows; the highest events is 30 at action qa_review."
    )
    assert chart.table.rows[-1] == ("login", None)


def test_a_line_over_time_sends_utc_instants() -> None:
    chart = charts.query_chart("q", "Daily", COLUMNS, ROWS, kind="line", x="day", y="share")
    assert chart.spec is not None and chart.spec["mark"]["type"] == "line"
    assert chart.spec["encoding"]["x"]["type"] == "temporal"
    assert [v["x"] for v in _data(chart)] == ["2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"]
    assert "at day 2026-03-02 00:00:00." in chart.summary  # as the result table shows it


def test_only_the_first_points_are_drawn() -> None:
    rows = [[f"a{i}", i] for i in range(charts.MAX_POINTS + 5)]
    chart = charts.query_chart(
        "q", "Many", [("a", "VARCHAR"), ("n", "INTEGER")], rows, kind="bar", x="a", y="n"
    )
    assert len(_data(chart)) == charts.MAX_POINTS
    assert chart.summary.endswith(f"Only the first {charts.MAX_POINTS:,} rows are drawn.")


@pytest.mark.parametrize(
    ("x", "y", "kind", "reason"),
    [
        ("nope", "events", "bar", "the result has no column 'nope' for the x axis"),
        ("action", "action", "bar", "the y axis needs numbers, and 'action' is VARCHAR"),
        ("action", "events", "pie", "no chart of kind 'pie'"),
    ],
)
def test_columns_that_cannot_chart_say_why(x: str, y: str, kind: str, reason: str) -> None:
    with pytest.raises(charts.ChartError, match=reason):
        charts.query_chart("q", "t", COLUMNS, ROWS, kind=kind, x=x, y=y)


def test_nothing_to_draw_is_a_sentence_not_a_spec() -> None:
    chart = charts.query_chart("q", "t", COLUMNS, [ROWS[2]], kind="bar", x="action", y="events")
    assert chart.spec is None
    assert chart.summary == "No rows with a number in events to chart."
