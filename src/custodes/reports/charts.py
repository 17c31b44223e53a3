"""Report charts: Vega-Lite specs built with Altair and drawn offline by vl-convert.

Why drawn here rather than in a browser: a report is a file (HTML mailed round, a PDF
filed with HR) that must look the same anywhere, years later, with no JavaScript and no
network. vl-convert runs Vega in-process and returns an SVG (embedded in the HTML: sharp
at any zoom, a few kB) and a PNG drawn from that SVG at twice the size (embedded in the
PDF: every PDF reader shows a raster image the same way). ``allowed_base_urls=[]`` forbids
the spec any URL or file: the data are inline, and a chart can never fetch anything.

Every chart in a report sits above a table of the same numbers (the templates do that), so
a chart is never the only way to read a figure; colours are fixed per value (a band is the
same colour everywhere) and never the only cue, since the axis names each bar.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import altair as alt
import vl_convert

WIDTH: Final = 560
BAR_HEIGHT: Final = 22  # per bar of a horizontal bar chart
DAY_HEIGHT: Final = 160
PNG_SCALE: Final = 2.0
FONT: Final = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
INK: Final = "#2f4b7c"
BAND_COLOURS: Final = {
    "P0": "#67000d",
    "P1": "#b3261e",
    "P2": "#e07a2f",
    "P3": "#f2c14e",
    "P4": "#8fb8de",
}
SEVERITY_COLOURS: Final = {
    "critical": "#b3261e",
    "high": "#e07a2f",
    "medium": "#f2c14e",
    "low": "#8fb8de",
}
LEVEL_COLOURS: Final = {
    "critical": "#b3261e",
    "high": "#e07a2f",
    "moderate": "#f2c14e",
    "low": "#8fb8de",
}
TWO_TONE: Final = ("#4c8c4a", "#b3261e")  # good / bad (on time / late, held / recurred)


@dataclass(frozen=True)
class Figure:
    """One drawn chart: SVG text for screens, PNG bytes for print."""

    id: str
    title: str
    svg: str
    png: bytes

    @property
    def svg_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode()).decode()

    @property
    def png_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode()


def draw(chart_id: str, title: str, spec: dict[str, Any]) -> Figure:
    """Render a Vega-Lite spec to SVG, and the SVG to PNG, with no network access."""
    svg = vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])
    png = vl_convert.svg_to_png(svg, scale=PNG_SCALE)
    return Figure(chart_id, title, svg, png)


def bars(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, float]],
    *,
    axis: str,
    colours: dict[str, str] | None = None,
    percent: bool = False,
) -> Figure | None:
    """Horizontal bars, one per row, in the order given; None when all are zero."""
    if not any(value for _label, value in rows):
        return None
    data = [{"label": label, "value": value} for label, value in rows]
    top = max(value for _label, value in rows)
    x = alt.X(
        "value:Q",
        title=axis,
        axis=alt.Axis(format=".0%") if percent else _count_axis(top),
        scale=alt.Scale(domain=[0, 1]) if percent else alt.Undefined,
    )
    colour: Any = alt.value(INK)
    if colours is not None:
        labels = [label for label, _v in rows]
        colour = alt.Color(
            "label:N",
            scale=alt.Scale(
                domain=labels, range=[colours.get(label, "#888888") for label in labels]
            ),
            legend=None,
        )
    chart = (
        alt.Chart(alt.InlineData(values=data))
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=None, title=None),
            x=x,
            color=colour,
        )
        .properties(height=BAR_HEIGHT * len(rows))
    )
    return draw(chart_id, title, _finish(chart, title))


def stacked(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, str, float]],
    *,
    series: Sequence[str],
    colours: Sequence[str],
    axis: str,
) -> Figure | None:
    """Horizontal bars split by ``series`` (label, series value, n), in the order given."""
    if not any(value for _l, _s, value in rows):
        return None
    labels = list(dict.fromkeys(label for label, _s, _v in rows))
    data = [
        {"label": label, "part": part, "value": value, "order": list(series).index(part)}
        for label, part, value in rows
    ]
    chart = (
        alt.Chart(alt.InlineData(values=data))
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=labels, title=None),
            x=alt.X("sum(value):Q", title=axis, axis=_count_axis(_widest(rows))),
            color=alt.Color(
                "part:N",
                scale=alt.Scale(domain=list(series), range=list(colours)),
                sort=list(series),
                title=None,
                legend=alt.Legend(orient="bottom"),
            ),
            order=alt.Order("order:Q"),
        )
        .properties(height=BAR_HEIGHT * len(labels))
    )
    return draw(chart_id, title, _finish(chart, title))


def daily(
    chart_id: str, title: str, rows: Sequence[tuple[date, int]], *, axis: str
) -> Figure | None:
    """One column per day of the period, labelled ``Mon 02``; None when all are zero."""
    if not any(n for _day, n in rows):
        return None
    data = [{"day": d.strftime("%a %d"), "value": n} for d, n in rows]
    chart = (
        alt.Chart(alt.InlineData(values=data))
        .mark_bar(color=INK)
        .encode(
            x=alt.X("day:N", sort=None, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("value:Q", title=axis, axis=_count_axis(max(n for _d, n in rows))),
        )
        .properties(height=DAY_HEIGHT)
    )
    return draw(chart_id, title, _finish(chart, title))


def _count_axis(top: float, title: str | None = None) -> alt.Axis:
    """Whole-number ticks (no "0.5 escalations"): every integer up to 10, else Vega's."""
    if top <= 10:
        return alt.Axis(values=list(range(int(top) + 1)), format="d")
    return alt.Axis(format=",.0f", tickMinStep=1)


def _widest(rows: Sequence[tuple[str, str, float]]) -> float:
    totals: dict[str, float] = {}
    for label, _part, value in rows:
        totals[label] = totals.get(label, 0.0) + value
    return max(totals.values(), default=0.0)


def _finish(chart: alt.Chart, title: str) -> dict[str, Any]:
    finished = (
        chart.properties(width=WIDTH, description=title)
        .configure(font=FONT, background="white")
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=11, titleFontSize=11, grid=False, labelLimit=220)
        .configure_legend(labelFontSize=11)
    )
    spec: dict[str, Any] = finished.to_dict(validate=False)
    return spec
