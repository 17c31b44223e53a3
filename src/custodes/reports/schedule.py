"""Scheduled reports: the dated reports that are due, written once.

``custodes report scheduled`` (or ``custodes report --schedule``) is meant for cron or a
systemd timer, run as often as one likes: it works out the last complete week and month
before today and writes each periodic report of those periods into
``DATA_DIR/reports/YYYY/`` — unless its files are already there. So it is idempotent (a
second run writes nothing), catches up after a missed run within the same period, and
never rewrites a report someone has already read (``force`` does, on purpose). Because a
report counts nothing after its period's end, a report written late holds the same
numbers as one written on time.

Kinds the acting user may not read are skipped and said so, never half-made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from custodes.reports import catalogue
from custodes.reports.period import Period, PeriodKind
from custodes.reports.sources import NEEDS, PERIODIC, Sources

Status = Literal["written", "exists", "skipped"]


@dataclass(frozen=True)
class Due:
    kind: str
    period: Period
    folder: Path

    @property
    def name(self) -> str:
        return catalogue.periodic_name(self.kind, self.period)

    @property
    def files(self) -> tuple[Path, ...]:
        formats = ("csv",) if self.kind == "transparency" else ("html", "pdf")
        return tuple(self.folder / f"{self.name}.{f}" for f in formats)

    def done(self) -> bool:
        return all(p.is_file() for p in self.files)


@dataclass(frozen=True)
class Result:
    kind: str
    period: Period
    name: str
    status: Status
    files: tuple[Path, ...]
    reason: str = ""


def due(data_dir: Path, today: date) -> list[Due]:
    """Every periodic report of the last complete week and month before ``today``."""
    periods = [Period.last_complete(k, today) for k in (PeriodKind.week, PeriodKind.month)]
    return [
        Due(kind, period, catalogue.periodic_folder(data_dir, period))
        for period in periods
        for kind in PERIODIC
    ]


def run(sources: Sources, data_dir: Path, today: date, *, force: bool = False) -> list[Result]:
    """Write the due reports that are not there yet; say what happened to each."""
    out: list[Result] = []
    for item in due(data_dir, today):
        if not sources.may(item.kind):
            needs = ", ".join(p.value for p in NEEDS[item.kind])
            reason = f"{sources.principal.username} lacks {needs}"
            out.append(Result(item.kind, item.period, item.name, "skipped", (), reason))
            continue
        if item.done() and not force:
            out.append(Result(item.kind, item.period, item.name, "exists", item.files))
            continue
        written = sources.periodic(item.kind, item.period, item.folder)
        out.append(Result(item.kind, item.period, written.name, "written", written.files))
    return out
