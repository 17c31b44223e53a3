"""Chart specs: valid Vega-Lite (pages skip validation per request, so it happens here),
the same numbers in the table as in the spec, and a sentence for people either way."""

from __future__ import annotations

from datetime import date
from typing import Any

import altair as alt
import pytest

from custodes.web import charts

WEEK = date(2026, 1, 5)


def _valid(chart: charts.Chart) -> dict[str, Any]:
    assert chart.spec is not None
    alt.Chart.from_dict(chart.spec, validate=True)  # raises on a spec Vega-Lite refuses
    assert chart.spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v6")
    assert chart.spec["width"] == "container"
    return chart.spec


def _values(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The inline rows (Altair names them and keeps them under ``datasets``)."""
    values: list[dict[str, Any]] = spec["datasets"][spec["data"]["name"]]
    return values


def test_risk_distribution_bins_fall_on_the_level_thresholds() -> None:
    scores = [3.0, 24.9, 25.0, 49.99, 50.0, 75.0, 99.9, 100.0]
    levels = {"low": 2, "moderate": 2, "high": 1, "critical": 3}
    chart = charts.risk_distribution(scores, levels, staff=10, as_of="2026-03-01 00:00 UTC")
    bins = {row["from"]: (row["staff"], row["level"]) for row in _values(_valid(chart))}
    assert bins[0] == (1, "low")
    assert bins[20] == (1, "low")
    assert bins[25] == (1, "moderate")
    assert bins[45] == (1, "moderate")
    assert bins[50] == (1, "high")
    assert bins[75] == (1, "critical")
    assert bins[95] == (2, "critical")  # 100 lands in the last bin
    assert sum(staff for staff, _ in bins.values()) == len(scores)
    assert chart.table.rows[-1] == ("no active alerts", 2)
    assert chart.summary.startswith("8 of 10 staff have active alerts (3 critical, 1 high")


def test_top_staff_keeps_rank_order_and_shows_pseudonyms_only() -> None:
    rows = [
        {
            "rank": 1,
            "subject": "S-AAAAAAAAAA",
            "score": 80.0,
            "level": "critical",
            "categories": ["snooping"],
            "alerts": 3,
        },
        {
            "rank": 2,
            "subject": "S-BBBBBBBBBB",
            "score": 40.0,
            "level": "moderate",
            "categories": [],
            "alerts": 1,
        },
    ]
    chart = charts.top_staff(rows)
    spec = _valid(chart)
    assert [v["subject"] for v in _values(spec)] == ["S-AAAAAAAAAA", "S-BBBBBBBBBB"]
    assert spec["encoding"]["y"]["sort"] is None  # the rank order, not alphabetical
    assert chart.table.rows[0] == (1, "S-AAAAAAAAAA", "80.0", "critical", "snooping", 3)


def test_open_alerts_table_totals_match_the_spec() -> None:
    counts = [("snooping", "high", 3), ("snooping", "low", 1), ("bribery", "critical", 5)]
    chart = charts.open_alerts(counts)
    spec = _valid(chart)
    assert sum(v["alerts"] for v in _values(spec)) == 9
    assert chart.table.columns == ("category", "low", "high", "critical", "total")
    assert chart.table.rows == (("bribery", 0, 0, 5, 5), ("snooping", 1, 3, 0, 4))
    assert chart.summary == "9 open alerts in 2 categories; most in bribery (5)."


def test_escalations_by_band_keeps_band_order_and_every_status() -> None:
    counts = [
        (band, sla, n)
        for band in ("P0", "P1", "P2", "P3", "P4")
        for sla, n in (("breached", 1), ("at risk", 0), ("on track", 2))
    ]
    chart = charts.escalations_by_band(counts)
    _valid(chart)
    assert [row[0] for row in chart.table.rows] == ["P0", "P1", "P2", "P3", "P4"]
    assert chart.table.rows[0] == ("P0", 1, 0, 2, 3)
    assert chart.summary == "15 open escalations: 5 past their SLA, 0 at risk."


def test_weekly_bars_span_their_week() -> None:
    rows = [(WEEK, "P1", 2), (WEEK, "P3", 1), (date(2026, 1, 19), "P1", 4)]
    chart = charts.weekly(
        "t",
        "Escalations per week",
        rows,
        series="band",
        what="escalations",
        colours=charts.BAND_COLOURS,
    )
    values = _values(_valid(chart))
    assert values[0]["week"] == "2026-01-05" and values[0]["end"] == "2026-01-12"
    assert chart.table.columns == ("week beginning", "P1", "P3", "total")
    assert chart.table.rows == (("2026-01-05", 2, 1, 3), ("2026-01-19", 4, 0, 4))
    assert "7 escalations in 2 weeks" in chart.summary


@pytest.mark.parametrize(
    "chart",
    [
        charts.risk_distribution([], {"low": 0, "moderate": 0, "high": 0, "critical": 0}, 5, "x"),
        charts.top_staff([]),
        charts.open_alerts([]),
        charts.escalations_by_band([("P0", "breached", 0)]),
        charts.weekly("w", "Alerts per week", [], series="category", what="alerts"),
    ],
    ids=lambda c: c.id,
)
def test_nothing_to_draw_is_said_in_words(chart: charts.Chart) -> None:
    assert chart.spec is None
    assert chart.summary.startswith("No")
