"""`custodes case ...`: cases from the terminal, as a named Custodes user.

The CLI acts as the user given by ``--as`` (or ``CUSTODES_USER``, else the operating-system
login name), with that user's role and need-to-know, and is audited like the web app: the
terminal is not a back door around permissions or pseudonyms.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from custodes.access.principal import Principal
from custodes.cases import CaseService
from custodes.cases.views import CaseCreate, CaseDetail, CaseSummary, parse
from custodes.cli.options import DEFAULT_DATA_DIR, DataDir, Format
from custodes.cli.output import OutputFormat, emit, emit_object
from custodes.config import Settings, load_settings
from custodes.errors import PermissionDeniedError
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore

app = typer.Typer(help="Cases: investigate, document, decide.", no_args_is_help=True)

As = Annotated[
    str | None,
    typer.Option(
        "--as",
        envvar="CUSTODES_USER",
        help="The Custodes user acting (default: your login name).",
    ),
]
Version = Annotated[
    int | None,
    typer.Option("--version", help="The version you last saw (default: the current one)."),
]
Reason = Annotated[str, typer.Option(help="Why: kept in the audit log.")]

SUMMARY_COLUMNS = (
    "id",
    "title",
    "status",
    "severity",
    "category",
    "subjects",
    "assignee",
    "alert_count",
    "updated_at",
    "version",
)


@contextmanager
def _service(data_dir: DataDir, username: str | None) -> Iterator[tuple[CaseService, Principal]]:
    from custodes.access import users

    settings: Settings = load_settings(data_dir=data_dir)
    with CaseStore.open(settings) as store:
        name = username or getpass.getuser()
        with store.read() as session:
            user = users.find_user(session, name)
            if user.disabled:
                raise PermissionDeniedError(f"user {name!r} is disabled")
            principal = users.principal_of(user)
        yield CaseService(store, settings), principal


def _summary(case: CaseSummary) -> dict[str, Any]:
    data = case.model_dump(mode="json")
    data["subjects"] = [s["pseudonym"] for s in data["subjects"]]
    data["assignee"] = case.assignee.username if case.assignee else None
    return data


def _detail(case: CaseDetail, fmt: OutputFormat) -> None:
    if fmt in (OutputFormat.json, OutputFormat.jsonl):
        emit_object(case.model_dump(mode="json"), fmt)
        return
    data = _summary(case)
    data["subjects"] = [
        f"{s.pseudonym} ({s.actor_id})" if s.actor_id else s.pseudonym for s in case.subjects
    ]
    data["outcome"] = case.outcome.value if case.outcome else None
    data["alerts"] = [f"{a.alert_id} {a.detector} {a.score:.2f}" for a in case.alerts]
    data["tasks"] = [f"[{'x' if t.done else ' '}] {t.title}" for t in case.tasks]
    data["notes"] = len(case.notes)
    data["links"] = [f"{lk.direction} {lk.kind.value} #{lk.case_id}" for lk in case.links]
    emit_object(data, fmt)


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    category: Annotated[str | None, typer.Option(help="Only this scenario family.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only cases with this tag.")] = None,
    q: Annotated[str | None, typer.Option("--q", help="Title words, a pseudonym or an id.")] = None,
    sort: Annotated[str, typer.Option(help="A field, '-' first for descending.")] = "-updated_at",
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    offset: Annotated[int, typer.Option(help="Skip this many.")] = 0,
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Cases you may see, newest activity first."""
    with _service(data_dir, as_user) as (service, me):
        page = service.list(
            me,
            status=status,
            category=category,
            tag=tag,
            q=q,
            sort=sort,
            limit=limit,
            offset=offset,
        )
    emit(
        [_summary(c) for c in page.items],
        fmt,
        columns=SUMMARY_COLUMNS,
        title="Cases",
        caption=f"{len(page.items)} of {page.total}",
    )


@app.command("show")
def show(
    case_id: Annotated[int, typer.Argument(help="The case.")],
    reason: Reason = "",
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """One case in full (an audited read)."""
    with _service(data_dir, as_user) as (service, me):
        case = service.get(me, case_id, reason=reason)
    _detail(case, fmt)


@app.command("create")
def create(
    title: Annotated[str, typer.Option(help="What the case is about.")],
    subject: Annotated[
        list[str] | None, typer.Option("--subject", help="A staff member's actor id (repeatable).")
    ] = None,
    category: Annotated[str | None, typer.Option(help="A scenario family.")] = None,
    severity: Annotated[str, typer.Option(help="low, medium, high or critical.")] = "medium",
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable).")] = None,
    description: Annotated[str, typer.Option(help="Markdown.")] = "",
    restricted: Annotated[
        bool, typer.Option("--restricted", help="Visible to members only (need-to-know).")
    ] = False,
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Open a case by hand."""
    data = parse(
        CaseCreate,
        {
            "title": title,
            "subjects": subject or [],
            "category": category,
            "severity": severity,
            "tags": tag or [],
            "description": description,
            "restricted": restricted,
        },
    )
    with _service(data_dir, as_user) as (service, me):
        case = service.create(me, data)
    _detail(case, fmt)


@app.command("from-alerts")
def from_alerts(
    alert_ids: Annotated[list[str], typer.Argument(help="Alerts of one staff member.")],
    title: Annotated[str | None, typer.Option(help="Default: category and pseudonym.")] = None,
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Open one case from alerts about one person; alerts already in open cases are skipped."""
    with (
        _service(data_dir, as_user) as (service, me),
        EventStore.open(data_dir, read_only=True) as events,
    ):
        case = service.create_from_alerts(me, alert_ids, events, title=title)
    _detail(case, fmt)


@app.command("move")
def move(
    case_id: Annotated[int, typer.Argument(help="The case.")],
    status: Annotated[str, typer.Argument(help="triage, investigating, pending_decision, new.")],
    version: Version = None,
    reason: Reason = "",
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Move a case along the workflow."""
    with _service(data_dir, as_user) as (service, me):
        current = version if version is not None else service.version(me, case_id)
        case = service.transition(me, case_id, current, status, reason=reason)
    _detail(case, fmt)


@app.command("close")
def close(
    case_id: Annotated[int, typer.Argument(help="The case.")],
    outcome: Annotated[
        str, typer.Argument(help="substantiated, unsubstantiated, policy_gap or referred.")
    ],
    version: Version = None,
    reason: Reason = "",
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Close a case with its outcome (which becomes its alerts' verdict)."""
    with _service(data_dir, as_user) as (service, me):
        current = version if version is not None else service.version(me, case_id)
        case = service.transition(me, case_id, current, "closed", outcome=outcome, reason=reason)
    _detail(case, fmt)


@app.command("note")
def note(
    case_id: Annotated[int, typer.Argument(help="The case.")],
    body: Annotated[str, typer.Argument(help="Markdown.")],
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Add a markdown note (notes are never edited; add a correction instead)."""
    with _service(data_dir, as_user) as (service, me):
        added = service.add_note(me, case_id, body)
    emit_object(added.model_dump(mode="json"), fmt)


@app.command("timeline")
def timeline(
    case_id: Annotated[int, typer.Argument(help="The case.")],
    family: Annotated[
        list[str] | None, typer.Option("--family", help="Only this action family (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many events.")] = 1000,
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """The case subjects' events around its alerts (an audited read)."""
    with (
        _service(data_dir, as_user) as (service, me),
        EventStore.open(data_dir, read_only=True) as events,
    ):
        tl = service.timeline(me, case_id, events, families=family, limit=limit)
    emit(
        [e.model_dump(mode="json") for e in tl.events],
        fmt,
        columns=("ts", "subject", "action", "family", "target_type", "target_id", "alert_evidence"),
        title=f"Case {case_id} timeline",
        caption="truncated: raise --limit" if tl.truncated else None,
    )


@app.command("sync")
def sync(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Copy closed cases' verdicts to detection feedback (detect does this too)."""
    from custodes.cases.feedback import sync_verdicts

    settings = load_settings(data_dir=data_dir)
    with CaseStore.open(settings) as store, EventStore.open(data_dir) as events:
        synced = sync_verdicts(store, events)
    emit_object({"synced_alerts": synced}, fmt)


@app.command("purge")
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would go.")] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Delete closed cases older than the retention period (CUSTODES_RETENTION_DAYS)."""
    from custodes.cases.retention import purge as run_purge

    settings = load_settings(data_dir=data_dir)
    actor = f"cli:{getpass.getuser()}"[:64]
    with CaseStore.open(settings) as store:
        result = run_purge(store, settings, dry_run=dry_run, actor=actor)
    emit_object(
        {
            "cutoff": result.cutoff,
            "dry_run": result.dry_run,
            "cases": len(result.case_ids),
            "case_ids": ", ".join(str(i) for i in result.case_ids),
        },
        fmt,
    )
