"""Charts for the pages: Vega-Lite specs built with Altair, each with a table of the same
numbers and a one-sentence summary.

The browser draws the spec (the vendored vega-embed); the table and summary are what a
screen reader, a keyboard user, a printout or a browser without JavaScript gets, so every
chart says its numbers in text too. Data arrive pre-aggregated and already pseudonymised:
a spec carries a few dozen rows inline, never raw events, and never a real actor id.

Colours are fixed per value (a level, a band, an SLA status is always the same colour on
every page) and never the only cue: legends, axis labels and the tables name each value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

import altair as alt
from altair.utils.schemapi import disable_debug_mode

# Altair's debug mode validates every object as it is built, which doubles what a page
# spends on charts; the specs are validated against the schema in the tests instead
# (tests/web/test_charts.py), and ``to_dict(validate=True)`` still validates on demand.
disable_debug_mode()

HEIGHT: Final = 220

LEVEL_COLOURS: Final = {
    "low": "#8fb8de",
    "moderate": "#f2c14e",
    "high": "#e07a2f",
    "critical": "#b3261e",
}
SEVERITY_COLOURS: Final = {
    "low": "#8fb8de",
    "medium": "#f2c14e",
    "high": "#e07a2f",
    "critical": "#b3261e",
}
SLA_COLOURS: Final = {"breached": "#b3261e", "at risk": "#f2c14e", "on track": "#4c8c4a"}
BAND_COLOURS: Final = {
    "P0": "#67000d",
    "P1": "#b3261e",
    "P2": "#e07a2f",
    "P3": "#f2c14e",
    "P4": "#8fb8de",
}


@dataclass(frozen=True)
class Table:
    """A chart's numbers as rows; ``numeric`` columns are right-aligned."""

    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    numeric: tuple[bool, ...]


@dataclass(frozen=True)
class Chart:
    """What a page needs to show one chart: ``spec`` for vega-embed, ``summary`` and
    ``table`` for everyone. ``spec`` is None when there is nothing to draw."""

    id: str
    title: str
    summary: str
    spec: dict[str, Any] | None
    table: Table


def count(n: int, one: str, many: str | None = None) -> str:
    """One alert, 3 alerts: the summaries are sentences people read."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _scale(colours: dict[str, str], present: Sequence[str] = ()) -> alt.Scale:
    """A colour scale fixed to ``colours``, plus any unexpected values (grey)."""
    extra = [v for v in present if v not in colours]
    return alt.Scale(
        domain=[*colours, *extra], range=[*colours.values(), *["#888888"] * len(extra)]
    )


def _spec(chart: alt.Chart, title: str) -> dict[str, Any]:
    """The finished spec: container width, our fonts, no frame, the title for Vega's own
    ARIA description."""
    finished = (
        chart.properties(width="container", height=HEIGHT, description=title)
        .configure(font="system-ui, sans-serif", background="transparent")
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=12, titleFontSize=12, grid=False)
        .configure_legend(labelFontSize=12, titleFontSize=12, orient="bottom", columns=3)
    )
    # Validation against the Vega-Lite schema costs more than building the chart; the tests
    # validate every chart (tests/web/test_charts.py), so requests need not.
    spec: dict[str, Any] = finished.to_dict(validate=False)
    return spec


def risk_distribution(
    scores: Sequence[float], levels: dict[str, int], staff: int, as_of: str
) -> Chart:
    """Staff by risk score in bins of 5 (the level thresholds fall on bin edges)."""
    from custodes.risk import level_for

    counts = [0] * 20
    for score in scores:
        counts[min(int(score // 5), 19)] += 1
    rows = [
        {"from": 5 * i, "to": 5 * (i + 1), "staff": n, "level": level_for(5 * i).value}
        for i, n in enumerate(counts)
    ]
    scored = len(scores)
    parts = ", ".join(f"{levels[name]} {name}" for name in reversed(list(LEVEL_COLOURS)))
    summary = (
        f"{scored:,} of {count(staff, 'staff member', 'staff')} have active alerts ({parts}) "
        f"as of {as_of}."
        if scored
        else "No staff have active alerts."
    )
    spec = None
    if scored:
        chart = (
            alt.Chart(alt.InlineData(values=rows))
            .mark_bar()
            .encode(
                x=alt.X(
                    "from:Q", bin="binned", title="risk score", scale=alt.Scale(domain=[0, 100])
                ),
                x2="to:Q",
                y=alt.Y("staff:Q", title="staff"),
                color=alt.Color("level:N", scale=_scale(LEVEL_COLOURS), title="level"),
                tooltip=[
                    alt.Tooltip("from:Q", title="from"),
                    alt.Tooltip("to:Q", title="to"),
                    alt.Tooltip("staff:Q", title="staff"),
                    alt.Tooltip("level:N", title="level"),
                ],
            )
        )
        spec = _spec(chart, "Staff by risk score")
    table = Table(
        ("level", "staff"),
        (
            *((name, levels[name]) for name in reversed(list(LEVEL_COLOURS))),
            ("no active alerts", max(staff - scored, 0)),
        ),
        (False, True),
    )
    return Chart("risk-distribution", "Risk distribution", summary, spec, table)


def top_staff(rows: Sequence[dict[str, Any]]) -> Chart:
    """The riskiest staff by pseudonym: ``rows`` have rank, subject, score, level,
    categories and alerts."""
    summary = (
        f"The riskiest is {rows[0]['subject']} at {rows[0]['score']:.1f} ({rows[0]['level']})."
        if rows
        else "Nobody has a risk score yet."
    )
    spec = None
    if rows:
        data = [
            {"subject": r["subject"], "score": round(r["score"], 1), "level": r["level"]}
            for r in rows
        ]
        chart = (
            alt.Chart(alt.InlineData(values=data))
            .mark_bar()
            .encode(
                y=alt.Y("subject:N", sort=None, title=None),
                x=alt.X("score:Q", title="risk score", scale=alt.Scale(domain=[0, 100])),
                color=alt.Color("level:N", scale=_scale(LEVEL_COLOURS), title="level"),
                tooltip=[
                    alt.Tooltip("subject:N", title="subject"),
                    alt.Tooltip("score:Q", title="risk score"),
                    alt.Tooltip("level:N", title="level"),
                ],
            )
        )
        spec = _spec(chart, "Riskiest staff by pseudonym")
    table = Table(
        ("rank", "subject", "risk score", "level", "categories", "alerts"),
        tuple(
            (
                r["rank"],
                r["subject"],
                f"{r['score']:.1f}",
                r["level"],
                ", ".join(r["categories"]),
                r["alerts"],
            )
            for r in rows
        ),
        (True, False, True, False, False, True),
    )
    return Chart("top-staff", "Riskiest staff", summary, spec, table)


def _pivot(
    rows: Sequence[tuple[str, str, int]], order: Sequence[str]
) -> tuple[list[str], dict[str, dict[str, int]]]:
    """(row key, column key, n) → row keys in first-seen order, {row: {column: n}}."""
    keys: list[str] = []
    table: dict[str, dict[str, int]] = {}
    for key, column, n in rows:
        if key not in table:
            keys.append(key)
            table[key] = dict.fromkeys(order, 0)
        table[key][column] = table[key].get(column, 0) + n
    return keys, table


def open_alerts(counts: Sequence[tuple[str, str, int]]) -> Chart:
    """Open alerts (active, not yet judged) by category, stacked by severity."""
    severities = list(SEVERITY_COLOURS)
    keys, table = _pivot(counts, severities)
    keys.sort(key=lambda k: (-sum(table[k].values()), k))
    total = sum(n for _c, _s, n in counts)
    summary = (
        f"{count(total, 'open alert')} in {count(len(keys), 'category', 'categories')}; "
        f"most in {keys[0]} ({sum(table[keys[0]].values()):,})."
        if total
        else "No open alerts."
    )
    spec = None
    if total:
        data = [{"category": c, "severity": s, "alerts": n} for c, s, n in counts]
        chart = (
            alt.Chart(alt.InlineData(values=data))
            .mark_bar()
            .encode(
                y=alt.Y("category:N", sort=keys, title=None),
                x=alt.X("sum(alerts):Q", title="open alerts"),
                color=alt.Color(
                    "severity:N",
                    scale=_scale(SEVERITY_COLOURS, [s for _c, s, _n in counts]),
                    sort=severities,
                    title="severity",
                ),
                order=alt.Order("severity_order:Q"),
                tooltip=[
                    alt.Tooltip("category:N", title="category"),
                    alt.Tooltip("severity:N", title="severity"),
                    alt.Tooltip("alerts:Q", title="alerts"),
                ],
            )
            .transform_calculate(
                severity_order="indexof(['low','medium','high','critical'], datum.severity)"
            )
        )
        spec = _spec(chart, "Open alerts by category and severity")
    columns = [s for s in severities if any(table[k].get(s) for k in keys)] or severities
    return Chart(
        "open-alerts",
        "Open alerts by category",
        summary,
        spec,
        Table(
            ("category", *columns, "total"),
            tuple(
                (k, *(table[k].get(s, 0) for s in columns), sum(table[k].values())) for k in keys
            ),
            (False, *(True for _ in columns), True),
        ),
    )


def escalations_by_band(counts: Sequence[tuple[str, str, int]]) -> Chart:
    """Open escalations per band, stacked by SLA status."""
    statuses = list(SLA_COLOURS)
    keys, table = _pivot(counts, statuses)
    total = sum(n for _b, _s, n in counts)
    breached = sum(n for _b, s, n in counts if s == "breached")
    at_risk = sum(n for _b, s, n in counts if s == "at risk")
    summary = (
        f"{count(total, 'open escalation')}: {breached:,} past their SLA, {at_risk:,} at risk."
        if total
        else "No open escalations."
    )
    spec = None
    if total:
        data = [{"band": b, "sla": s, "escalations": n} for b, s, n in counts if n]
        chart = (
            alt.Chart(alt.InlineData(values=data))
            .mark_bar()
            .encode(
                x=alt.X("band:N", sort=keys, title="band", axis=alt.Axis(labelAngle=0)),
                y=alt.Y("sum(escalations):Q", title="open escalations"),
                color=alt.Color("sla:N", scale=_scale(SLA_COLOURS), sort=statuses, title="SLA"),
                order=alt.Order("sla_order:Q"),
                tooltip=[
                    alt.Tooltip("band:N", title="band"),
                    alt.Tooltip("sla:N", title="SLA"),
                    alt.Tooltip("escalations:Q", title="escalations"),
                ],
            )
            .transform_calculate(sla_order="indexof(['breached','at risk','on track'], datum.sla)")
        )
        spec = _spec(chart, "Open escalations by band and SLA status")
    return Chart(
        "escalations-by-band",
        "Open escalations by band and SLA",
        summary,
        spec,
        Table(
            ("band", *statuses, "total"),
            tuple((k, *(table[k][s] for s in statuses), sum(table[k].values())) for k in keys),
            (False, True, True, True, True),
        ),
    )


def weekly(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[date, str, int]],
    *,
    series: str,
    what: str,
    colours: dict[str, str] | None = None,
) -> Chart:
    """Counts per week (``rows``: the Monday it starts, series value, n), stacked by
    series; each bar spans its week on a time axis, so missing weeks show as gaps."""
    found = {s for _w, s, _n in rows}
    known = [c for c in colours if c in found] if colours is not None else []
    names = known + sorted(found - set(known))
    keys, table = _pivot([(w.isoformat(), s, n) for w, s, n in rows], names)
    weeks = sorted(keys)
    totals = {w: sum(table[w].values()) for w in weeks}
    summary = (
        f"{sum(totals.values()):,} {what} in {count(len(weeks), 'week')} from {weeks[0]} to "
        f"{weeks[-1]}; the busiest began {max(weeks, key=lambda w: totals[w])} "
        f"({max(totals.values()):,})."
        if weeks
        else f"No {what} yet."
    )
    spec = None
    if weeks:
        data = [
            {"week": w.isoformat(), "end": (w + timedelta(days=7)).isoformat(), series: s, what: n}
            for w, s, n in rows
        ]
        scale = _scale(colours, names) if colours is not None else alt.Scale(scheme="tableau10")
        chart = (
            alt.Chart(alt.InlineData(values=data))
            .mark_bar(stroke="white", strokeWidth=1)
            .encode(
                x=alt.X(
                    "week:T",
                    title="week beginning",
                    scale=alt.Scale(type="utc"),
                    axis=alt.Axis(format="%d %b", labelAngle=0),
                ),
                x2="end:T",
                y=alt.Y(f"sum({what}):Q", title=what),
                color=alt.Color(f"{series}:N", scale=scale, sort=names, title=series),
                tooltip=[
                    alt.Tooltip("week:N", title="week beginning"),
                    alt.Tooltip(f"{series}:N", title=series),
                    alt.Tooltip(f"{what}:Q", title=what),
                ],
            )
        )
        spec = _spec(chart, title)
    return Chart(
        chart_id,
        title,
        summary,
        spec,
        Table(
            ("week beginning", *names, "total"),
            tuple((w, *(table[w].get(n, 0) for n in names), totals[w]) for w in weeks),
            (False, *(True for _ in names), True),
        ),
    )


# --- quick charts of SQL results -----------------------------------------------------------

MAX_POINTS: Final = 1_000
_NUMBER_TYPES: Final = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "REAL",
    "DECIMAL",
)


class ChartError(ValueError):
    """The chart asked for cannot be drawn from this result; the message says why."""


def _is_number(kind: str) -> bool:
    return kind.upper().startswith(_NUMBER_TYPES)


def _is_time(kind: str) -> bool:
    return kind.upper().startswith(("DATE", "TIMESTAMP"))


def _instant(value: object, kind: str) -> object:
    """DuckDB's text for a time (``2026-03-02 10:00:00``) as ISO 8601 in UTC, which every
    browser parses the same way (a space-separated time would be read as local time)."""
    if isinstance(value, str) and kind.upper().startswith("TIMESTAMP") and " " in value:
        text = value.replace(" ", "T", 1)
        return text if text.endswith("Z") or "+" in text[10:] else text + "Z"
    return value


def query_chart(
    chart_id: str,
    title: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[object]],
    *,
    kind: str,
    x: str,
    y: str,
) -> Chart:
    """A bar or line chart of column ``y`` (numbers) against column ``x`` over a query's
    ``rows`` (``columns``: name and DuckDB type), in the query's own order, at most
    ``MAX_POINTS`` points. Raises :class:`ChartError` when the columns do not fit."""
    names = [name for name, _type in columns]
    for axis, name in (("x", x), ("y", y)):
        if name not in names:
            listed = ", ".join(names) or "none"
            raise ChartError(f"the result has no column {name!r} for the {axis} axis ({listed})")
    xi, yi = names.index(x), names.index(y)
    x_type, y_type = columns[xi][1], columns[yi][1]
    if not _is_number(y_type):
        raise ChartError(f"the y axis needs numbers, and {y!r} is {y_type}")
    if kind not in ("bar", "line"):
        raise ChartError(f"no chart of kind {kind!r}: bar or line")
    kept = [
        row
        for row in rows[:MAX_POINTS]
        if isinstance(row[yi], int | float) and not isinstance(row[yi], bool)
    ]
    points = [{"x": _instant(row[xi], x_type), "y": row[yi]} for row in kept]
    if _is_time(x_type):
        encoding = alt.X("x:T", title=x, scale=alt.Scale(type="utc"))
    elif kind == "line" and _is_number(x_type):
        encoding = alt.X("x:Q", title=x)
    else:
        encoding = alt.X("x:N", title=x, sort=None, axis=alt.Axis(labelLimit=160))
    spec = None
    if points:
        base = alt.Chart(alt.InlineData(values=points))
        mark = base.mark_bar() if kind == "bar" else base.mark_line(point=True)
        chart = mark.encode(
            x=encoding,
            y=alt.Y("y:Q", title=y),
            tooltip=[
                alt.Tooltip(f"x:{'T' if _is_time(x_type) else 'N'}", title=x),
                alt.Tooltip("y:Q", title=y),
            ],
        )
        spec = _spec(chart, title)
    shown = len(points)
    if shown:
        top = max(kept, key=lambda row: float(row[yi]))  # type: ignore[arg-type]
        summary = (
            f"A {kind} chart of {y} by {x} over {count(shown, 'row')}; the highest {y} is "
            f"{top[yi]} at {x} {top[xi]}."
        )
    else:
        summary = f"No rows with a number in {y} to chart."
    if len(rows) > MAX_POINTS:
        summary += f" Only the first {MAX_POINTS:,} rows are drawn."
    table = Table(
        (x, y),
        tuple((row[xi], row[yi]) for row in rows[:MAX_POINTS]),
        (_is_number(x_type), True),
    )
    return Chart(chart_id, title, summary, spec, table)
