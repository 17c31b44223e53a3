"""Report data → files: the charts each report draws, the file names, and writing them.

File names say what a file is, so the catalogue (and a person in a file manager) can tell
without opening it: ``escalations-week-2026-W10.html``, ``integrity-month-2026-03.pdf``,
``transparency-month-2026-03.csv``, ``case-42-20260315T101500Z.pdf`` (with ``-unmasked``
when it shows a real identity). Periodic reports go to ``DATA_DIR/reports/YYYY/`` by
default, case reports to ``DATA_DIR/reports/cases/``.

Each file is written beside its final name and renamed into place, so a reader (the web
app, a backup) never sees half a report, and a crash leaves no file that looks finished.
Files are readable by their owner only (mode 0600, as ``mkstemp`` makes them): a report
is about colleagues, and a case report may name one.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from custodes.reports import charts, render
from custodes.reports.case import CaseReport
from custodes.reports.catalogue import case_name, periodic_name
from custodes.reports.escalations import EscalationReport
from custodes.reports.integrity import IntegrityReport
from custodes.reports.measures import Count
from custodes.reports.transparency import TransparencyReport


@dataclass(frozen=True)
class Written:
    """One report made: its kind, its name (the files' common stem) and its files."""

    kind: str
    name: str
    files: tuple[Path, ...]


# --- the reports ----------------------------------------------------------------------------


def write_escalations(report: EscalationReport, folder: Path) -> Written:
    figures = {
        "daily": charts.daily(
            "daily", "Escalations received per day", report.daily, axis="escalations"
        ),
        "band": charts.bars(
            "band",
            "Escalations by band",
            _pairs(report.by_band),
            axis="escalations",
            colours=charts.BAND_COLOURS,
        ),
        "source": charts.bars(
            "source", "Escalations by source", _pairs(report.by_source), axis="escalations"
        ),
        "category": charts.bars(
            "category", "Escalations by category", _pairs(report.by_category), axis="escalations"
        ),
        "sla": charts.stacked(
            "sla",
            "Steps on time and late, per SLA clock",
            [
                (c.label, part, n)
                for c in report.clocks
                for part, n in (("on time", c.steps - c.late), ("late", c.late))
            ],
            series=("on time", "late"),
            colours=charts.TWO_TONE,
            axis="steps",
        ),
        "causes": charts.bars(
            "causes",
            "Breaches by cause",
            [(_cause(b.cause, b.clock), float(b.breaches)) for b in report.breach_causes],
            axis="breaches",
        ),
        "mitigations": charts.stacked(
            "mitigations",
            "Resolutions, and those followed by a recurrence",
            [
                (m.resolution.replace("_", " "), part, n)
                for m in report.mitigations
                for part, n in (("held", m.resolved - m.recurred), ("recurred", m.recurred))
            ],
            series=("held", "recurred"),
            colours=charts.TWO_TONE,
            axis="escalations resolved",
        ),
    }
    name = periodic_name("escalations", report.period)
    return _write_document(
        "escalations",
        name,
        folder,
        "escalations.html",
        report=report,
        figures=figures,
        generated_at=report.generated_at,
        generated_by=report.generated_by,
    )


def write_integrity(report: IntegrityReport, folder: Path) -> Written:
    figures = {
        "families": charts.stacked(
            "families",
            "Alerts by scenario family",
            [
                (f.family.replace("_", " "), part, n)
                for f in report.alerts_by_family
                for part, n in (("active", f.alerts - f.suppressed), ("muted", f.suppressed))
            ],
            series=("active", "muted"),
            colours=(charts.INK, "#b8c2d1"),
            axis="alerts",
        ),
        "daily": charts.daily("daily", "Alerts per day", report.daily_alerts, axis="alerts"),
        "outcomes": charts.bars(
            "outcomes", "Cases closed by outcome", _pairs(report.outcomes), axis="cases"
        ),
        "precision": charts.stacked(
            "precision",
            "Verdicts by family",
            [
                (p.family.replace("_", " "), part, n)
                for p in report.precision
                for part, n in (
                    ("true positive", p.true_positives),
                    ("false positive", p.false_positives),
                )
            ],
            series=("true positive", "false positive"),
            colours=charts.TWO_TONE,
            axis="verdicts",
        ),
        "drivers": charts.bars(
            "drivers",
            "Risk points by scenario family",
            [(d.name.replace("_", " "), d.points) for d in report.drivers],
            axis="risk points (all staff)",
        ),
    }
    name = periodic_name("integrity", report.period)
    return _write_document(
        "integrity",
        name,
        folder,
        "integrity.html",
        report=report,
        figures=figures,
        generated_at=report.generated_at,
        generated_by=report.generated_by,
    )


def write_case(report: CaseReport, folder: Path) -> Written:
    name = case_name(report.case.id, report.generated_at, unmasked=bool(report.unmasked))
    return _write_document(
        "case",
        name,
        folder,
        "case.html",
        report=report,
        figures={},
        generated_at=report.generated_at,
        generated_by=report.generated_by,
    )


def write_transparency(report: TransparencyReport, folder: Path) -> Written:
    name = periodic_name("transparency", report.period)
    path = folder / f"{name}.csv"
    write_atomic(path, report.to_csv().encode())
    return Written("transparency", name, (path,))


# --- files ----------------------------------------------------------------------------------


def write_atomic(path: Path, data: bytes) -> None:
    """``data`` at ``path``, whole or not at all (written aside, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_document(
    kind: str,
    name: str,
    folder: Path,
    template: str,
    **context: object,
) -> Written:
    """The HTML (screen rendering) and the PDF (print rendering) of one report; the PDF
    is written first, so an HTML file means its PDF is there too."""
    page = render.html(template, medium="screen", **context)
    printed = render.pdf(render.html(template, medium="print", **context))
    pdf_path, html_path = folder / f"{name}.pdf", folder / f"{name}.html"
    write_atomic(pdf_path, printed)
    write_atomic(html_path, page.encode())
    return Written(kind, name, (html_path, pdf_path))


def _pairs(counts: tuple[Count, ...]) -> list[tuple[str, float]]:
    return [(c.value.replace("_", " "), float(c.count)) for c in counts]


def _cause(cause: str, clock: str) -> str:
    """A bar's label: the cause, with its clock when the cause does not name it (one
    requester deadline caps several clocks, and each is its own bar)."""
    return _short(cause if clock in cause else f"{cause} ({clock.replace('_', ' ')})")


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
