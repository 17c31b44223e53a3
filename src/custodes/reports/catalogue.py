"""The catalogue: which reports exist in a data dir, read off their file names.

For the web app (and anyone listing reports): :func:`list_reports` returns one
:class:`ReportEntry` per report — its kind, its period or case, and its files by format —
newest first. Only files whose names the report writers produce are listed (see
``reports.documents``): a half-written ``.part`` file, a stray file or a folder someone
dropped in is not a report, and :func:`find` never resolves a name outside the folder, so
a caller can serve ``find(data_dir, name).files["pdf"]`` without checking paths itself.

What the catalogue does not decide is who may see a report: a case report is about one
person and carries ``case_id`` (serve it only to those who may see that case), and one
made with a real identity says ``unmasked`` (serve it to nobody but its maker, or not at
all). Periodic reports are aggregate and pseudonymous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from custodes.errors import InputError
from custodes.reports.period import Period

FOLDER: Final = "reports"
CASES: Final = "cases"
UNMASKED: Final = "-unmasked"
FORMATS: Final = ("html", "pdf", "csv")


def root(data_dir: Path) -> Path:
    """Where reports live: ``DATA_DIR/reports``."""
    return data_dir / FOLDER


def periodic_folder(data_dir: Path, period: Period) -> Path:
    return root(data_dir) / str(period.year)


def case_folder(data_dir: Path) -> Path:
    return root(data_dir) / CASES


def periodic_name(kind: str, period: Period) -> str:
    return f"{kind}-{period.kind.value}-{period.label}"


def case_name(case_id: int, at: datetime, *, unmasked: bool) -> str:
    return f"case-{case_id}-{at.strftime('%Y%m%dT%H%M%SZ')}{UNMASKED if unmasked else ''}"


_PERIODIC: Final = re.compile(
    r"^(?P<kind>escalations|integrity|transparency)-(?P<period>week|month)-"
    r"(?P<label>\d{4}-W\d{2}|\d{4}-\d{2})$"
)
_CASE: Final = re.compile(r"^case-(?P<case>\d+)-(?P<at>\d{8}T\d{6}Z)(?P<unmasked>-unmasked)?$")


@dataclass(frozen=True)
class ReportEntry:
    """One report and its files."""

    name: str  # the files' common stem, e.g. escalations-week-2026-W10
    kind: str  # escalations | integrity | transparency | case
    period: Period | None  # periodic reports
    case_id: int | None  # case reports
    unmasked: bool  # a case report showing a real identity
    made_at: datetime  # the newest of its files' modification times (UTC)
    files: dict[str, Path] = field(default_factory=dict)  # format -> path

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.files.values() if p.exists())


def list_reports(data_dir: Path) -> list[ReportEntry]:
    """Every report under ``DATA_DIR/reports`` (any depth), newest first."""
    folder = root(data_dir)
    if not folder.is_dir():
        return []
    found: dict[tuple[Path, str], dict[str, Path]] = {}
    for path in sorted(folder.rglob("*")):
        suffix = path.suffix.lstrip(".")
        if suffix not in FORMATS or not path.is_file() or path.name.startswith("."):
            continue
        if _parse(path.stem) is None:
            continue
        found.setdefault((path.parent, path.stem), {})[suffix] = path
    entries = [_entry(stem, files) for (_parent, stem), files in found.items()]
    return sorted(entries, key=lambda e: (e.made_at, e.name), reverse=True)


def find(data_dir: Path, name: str) -> ReportEntry | None:
    """The report called ``name`` (a stem from :func:`list_reports`), or None."""
    if _parse(name) is None:
        return None
    return next((e for e in list_reports(data_dir) if e.name == name), None)


def _parse(stem: str) -> tuple[str, Period | None, int | None, bool] | None:
    if match := _PERIODIC.match(stem):
        try:
            period = Period.from_label(match["label"])
        except InputError:
            return None
        if period.kind.value != match["period"]:
            return None
        return match["kind"], period, None, False
    if match := _CASE.match(stem):
        return "case", None, int(match["case"]), bool(match["unmasked"])
    return None


def _entry(stem: str, files: dict[str, Path]) -> ReportEntry:
    parsed = _parse(stem)
    assert parsed is not None
    kind, period, case_id, unmasked = parsed
    made = max(p.stat().st_mtime for p in files.values())
    return ReportEntry(
        name=stem,
        kind=kind,
        period=period,
        case_id=case_id,
        unmasked=unmasked,
        made_at=datetime.fromtimestamp(made, UTC),
        files={f: files[f] for f in FORMATS if f in files},
    )
