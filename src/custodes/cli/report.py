"""`custodes report ...`: insight reports as HTML and PDF files, and the transparency CSV.

    custodes report escalations [--period week|month] [--from DATE]   escalations, SLA, mitigations
    custodes report integrity   [--period week|month] [--from DATE]   alerts, cases, precision, risk
    custodes report transparency [--period ...] [--from DATE]         DSA-style counts as CSV
    custodes report case ID [--reason TEXT]                            one case, for HR or legal
    custodes report scheduled   (or: custodes report --schedule)       the due reports, once each

Periodic reports cover the last complete week or month (or the one containing ``--from``)
and go to ``DATA_DIR/reports/YYYY/`` unless ``--out`` says where; case reports to
``DATA_DIR/reports/cases/``. The command acts as the Custodes user given by ``--as`` (or
``CUSTODES_USER``, else the login name), with that user's permissions and need-to-know; a
case report is an audited read, like ``custodes case show``. Prints the files written.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from custodes.cli.options import DEFAULT_DATA_DIR, DataDir, Format
from custodes.cli.output import OutputFormat, emit
from custodes.errors import PermissionDeniedError

if TYPE_CHECKING:
    from custodes.reports.documents import Written
    from custodes.reports.sources import Sources

COLUMNS: Final = ("report", "name", "status", "file")
GROUP_FLAGS: Final = {
    "schedule": "--schedule",
    "as_user": "--as",
    "data_dir": "--data-dir",
    "today": "--today",
    "fmt": "--format",
}

app = typer.Typer(
    help="Insight reports (HTML, PDF) and the transparency export (CSV).",
    invoke_without_command=True,
)

As = Annotated[
    str | None,
    typer.Option(
        "--as", envvar="CUSTODES_USER", help="The Custodes user acting (default: your login)."
    ),
]
PeriodOption = Annotated[
    str, typer.Option("--period", help="week (Monday to Sunday) or month.", show_default=True)
]
From = Annotated[
    datetime | None,
    typer.Option(
        "--from",
        formats=["%Y-%m-%d"],
        help="A day in the period wanted (rounded down to its week or month); default: the "
        "last complete period.",
    ),
]
Out = Annotated[
    Path | None,
    typer.Option(
        "--out", file_okay=False, help="Folder to write into (default: DATA_DIR/reports/…)."
    ),
]
Today = Annotated[
    datetime | None,
    typer.Option("--today", formats=["%Y-%m-%d"], hidden=True, help="Pretend today is this day."),
]
PolicyFile = Annotated[
    Path | None,
    typer.Option("--policy", exists=True, dir_okay=False, help="A triage policy YAML file."),
]


@app.callback()
def _group(
    ctx: typer.Context,
    schedule: Annotated[
        bool, typer.Option("--schedule", help="Write the due reports (same as `scheduled`).")
    ] = False,
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    today: Today = None,
    fmt: Format = OutputFormat.table,
) -> None:
    """Insight reports: escalations, integrity, one case; the transparency export."""
    if ctx.invoked_subcommand is not None:
        # These options belong to --schedule here; given before a subcommand they would be
        # silently ignored (the subcommand has its own), so say where they go instead.
        from typer._click.core import ParameterSource

        misplaced = [
            flag
            for name, flag in GROUP_FLAGS.items()
            if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
        ]
        if misplaced:
            raise typer.BadParameter(
                f"put {', '.join(misplaced)} after `{ctx.invoked_subcommand}`",
                param_hint=misplaced[0],
            )
        return
    if not schedule:
        typer.echo(ctx.get_help())
        raise typer.Exit
    _scheduled(as_user, data_dir, today, force=False, fmt=fmt)


@app.command("escalations")
def escalations(
    period: PeriodOption = "week",
    start: From = None,
    out: Out = None,
    policy: PolicyFile = None,
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    today: Today = None,
    fmt: Format = OutputFormat.table,
) -> None:
    """Escalations: volumes, time to acknowledge, act and resolve against SLA, breaches
    and causes, overrides, mitigations and recurrence, changes, highlights."""
    _periodic("escalations", period, start, out, policy, as_user, data_dir, today, fmt)


@app.command("integrity")
def integrity(
    period: PeriodOption = "week",
    start: From = None,
    out: Out = None,
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    today: Today = None,
    fmt: Format = OutputFormat.table,
) -> None:
    """Integrity: alerts by family, cases opened and closed, time to close, detection
    precision from verdicts, top risk drivers; pseudonymised."""
    _periodic("integrity", period, start, out, None, as_user, data_dir, today, fmt)


@app.command("transparency")
def transparency(
    period: PeriodOption = "month",
    start: From = None,
    out: Out = None,
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    today: Today = None,
    fmt: Format = OutputFormat.table,
) -> None:
    """DSA-style aggregate counts (notices, orders, actions, decisions, appeals) as CSV."""
    _periodic("transparency", period, start, out, None, as_user, data_dir, today, fmt)


@app.command("case")
def case(
    case_id: Annotated[int, typer.Argument(help="The case's id.")],
    reason: Annotated[str, typer.Option(help="Why: kept in the audit log.")] = "",
    out: Out = None,
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """One case as a document for HR or legal: the case, timeline, evidence with hashes,
    notes, outcome and audit trail (an audited read; pseudonyms unless you have an active
    unmasking)."""
    from custodes.reports import catalogue, documents
    from custodes.reports.case import build

    with _sources(data_dir, as_user, None) as sources:
        report = build(
            sources.principal,
            sources.cases,
            sources.events,
            case_id,
            sources.pseudonyms,
            reason=reason,
        )
    written = documents.write_case(report, out or catalogue.case_folder(data_dir))
    _emit([_rows(written, "written")], fmt)


@app.command("scheduled")
def scheduled(
    force: Annotated[bool, typer.Option("--force", help="Rewrite reports already there.")] = False,
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    today: Today = None,
    fmt: Format = OutputFormat.table,
) -> None:
    """Write the due reports (last complete week and month) into DATA_DIR/reports/YYYY/,
    skipping those already written: safe to run from cron as often as you like."""
    _scheduled(as_user, data_dir, today, force=force, fmt=fmt)


# --- helpers --------------------------------------------------------------------------------


def _periodic(
    kind: str,
    period: str,
    start: datetime | None,
    out: Path | None,
    policy: Path | None,
    as_user: str | None,
    data_dir: Path,
    today: datetime | None,
    fmt: OutputFormat,
) -> None:
    from custodes.reports import catalogue
    from custodes.reports.period import choose

    chosen = choose(period, start.date() if start else None, _today(today))
    with _sources(data_dir, as_user, policy) as sources:
        written = sources.periodic(kind, chosen, out or catalogue.periodic_folder(data_dir, chosen))
    _emit([_rows(written, "written")], fmt)


def _scheduled(
    as_user: str | None, data_dir: Path, today: datetime | None, *, force: bool, fmt: OutputFormat
) -> None:
    from custodes.reports import schedule

    with _sources(data_dir, as_user, None) as sources:
        results = schedule.run(sources, data_dir, _today(today), force=force)
    rows = []
    for r in results:
        if r.files:
            rows += [
                {"report": r.kind, "name": r.name, "status": r.status, "file": str(f)}
                for f in r.files
            ]
        else:
            rows.append({"report": r.kind, "name": r.name, "status": r.status, "file": r.reason})
    emit(rows, fmt, columns=COLUMNS)


def _today(today: datetime | None) -> date:
    return today.date() if today else datetime.now(UTC).date()


def _rows(written: Written, status: str) -> list[dict[str, Any]]:
    return [
        {"report": written.kind, "name": written.name, "status": status, "file": str(f)}
        for f in written.files
    ]


def _emit(groups: list[list[dict[str, Any]]], fmt: OutputFormat) -> None:
    emit([row for group in groups for row in group], fmt, columns=COLUMNS)


@contextmanager
def _sources(data_dir: Path, username: str | None, policy: Path | None) -> Iterator[Sources]:
    """The acting user, the case store, the event store (read-only; None when there is
    none yet — never created here), pseudonyms and the triage policy in force."""
    from custodes.access import users
    from custodes.config import load_settings
    from custodes.privacy.pseudonyms import Pseudonyms
    from custodes.reports.sources import Sources
    from custodes.store.cases import CaseStore
    from custodes.store.events import DB_FILE, EventStore
    from custodes.triage.adjustment import active_policy
    from custodes.triage.policy import load_policy

    settings = load_settings(data_dir=data_dir)
    base = load_policy(policy)
    active = active_policy(data_dir, base)
    if active.warning:
        typer.echo(f"warning: {active.warning}", err=True)
    with CaseStore.open(settings) as store:
        name = username or getpass.getuser()
        with store.read() as session:
            user = users.find_user(session, name)
            if user.disabled:
                raise PermissionDeniedError(f"user {name!r} is disabled")
            principal = users.principal_of(user)
        pseudonyms = Pseudonyms.load(store, settings)
        if not (settings.data_dir / DB_FILE).exists():
            yield Sources(principal, store, None, pseudonyms, active.policy, base)
            return
        with EventStore.open(settings.data_dir, read_only=True, settings=settings) as events:
            yield Sources(principal, store, events, pseudonyms, active.policy, base)
