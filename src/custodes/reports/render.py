"""Report data → HTML (Jinja2) → PDF (WeasyPrint).

Why one template for both: the HTML file and the PDF are the same document, so they are
rendered from the same template and only the ``medium`` differs — ``screen`` embeds charts
as SVG, ``print`` as PNG (see ``reports.charts``). The stylesheet is inlined, so the HTML
file is whole on its own (it can be mailed, or served as it is) and WeasyPrint reads it
with ``@media print`` rules for page size, running headers and page numbers.

WeasyPrint is given a URL fetcher that allows ``data:`` URLs only: a report never loads
anything from a network or the disk while it is being made (a note's markdown image link
stays text), and a chart that cannot be embedded fails the report rather than vanishing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, Final, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from custodes import __version__

Medium = Literal["screen", "print"]
NONE: Final = "\u2013"  # an en dash: no figure
MINUS: Final = "\u2212"  # a true minus sign, as wide as the plus


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("custodes.reports", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=number,
        pct=percent,
        hours=duration_hours,
        days=duration_days,
        when=moment,
        day=day,
        signed=signed,
        name=name,
        calendar=calendar,
    )
    env.globals["version"] = __version__
    return env


def html(template: str, *, medium: Medium, **context: Any) -> str:
    """The document as HTML for ``medium``."""
    return environment().get_template(template).render(medium=medium, **context)


def pdf(document: str) -> bytes:
    """The document as PDF (the ``print`` rendering of it)."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",), fail_on_errors=True)
    out: bytes = HTML(string=document, url_fetcher=fetcher).write_pdf()
    return out


# --- filters: how numbers read in every report ----------------------------------------------


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return NONE
    return f"{value:,.{digits}f}"


def percent(value: float | None) -> str:
    return NONE if value is None else f"{100 * value:.0f}%"


def duration_hours(value: float | None) -> str:
    """Hours as people say them: ``45 min``, ``3.5 h``, ``2.1 d``."""
    if value is None:
        return NONE
    if value < 1:
        return f"{value * 60:.0f} min"
    if value < 48:
        return f"{value:.1f} h"
    return f"{value / 24:.1f} d"


def duration_days(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f} d"


def moment(value: datetime | None) -> str:
    if value is None:
        return NONE
    at = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return at.strftime("%Y-%m-%d %H:%M UTC")


def day(value: date | datetime | None) -> str:
    return NONE if value is None else value.strftime("%Y-%m-%d")


def signed(value: float | None, kind: str = "number") -> str:
    """A change: ``+3``, ``-12`` (a true minus sign), ``±0``; shares as percentage points."""
    if value is None:
        return NONE
    if kind == "share":
        points = round(100 * value)
        return "±0 pts" if points == 0 else f"{points:+d} pts".replace("-", MINUS)
    if kind == "hours":
        if abs(value) < 1 / 60:
            return "±0"
        return ("+" if value > 0 else MINUS) + duration_hours(abs(value))
    rounded = round(value, 2)
    if rounded == 0:
        return "±0"
    text = f"{rounded:+,.0f}" if float(rounded).is_integer() else f"{rounded:+,.2f}"
    return text.replace("-", MINUS)


def calendar(daily: Sequence[tuple[date, int]]) -> list[tuple[date, list[int | None]]]:
    """Day counts as calendar rows: (the Monday, counts Monday to Sunday, None outside the
    period), so a month's 31 numbers fit in five short rows."""
    rows: dict[date, list[int | None]] = {}
    for when, count in daily:
        monday = when - timedelta(days=when.weekday())
        rows.setdefault(monday, [None] * 7)[when.weekday()] = count
    return sorted(rows.items())


def name(code: str | None) -> str:
    """``law_enforcement`` → ``law enforcement``."""
    return NONE if code is None else str(code).replace("_", " ")
