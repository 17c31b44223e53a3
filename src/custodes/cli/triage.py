"""`custodes triage ...`: rate escalation files, import them into the store, see the queue,
and learn from analysts' overrides.

One group, four subcommands::

    custodes triage rate FILE      rate a .jsonl/.csv file, store nothing (contract §2 output)
    custodes triage import FILE    submit each row to the case store, as the ``--as`` user
    custodes triage queue          the stored escalations by time to breach
    custodes triage calibrate      where analysts overrode the engine; a learned adjustment,
                                   written only with ``--apply``, undone with ``--revert``

Every rating uses the policy in force: the base policy with the newest learned adjustment in
``DATA_DIR/triage/adjustments`` laid over it (``custodes.triage.calibration``); without one
it is the base policy itself.

``custodes triage FILE`` (the data contract's spelling) is ``custodes triage rate FILE``:
a first argument that is not a subcommand's name is read as a file to rate. A file named
like a subcommand (``queue``) can still be rated as ``triage rate queue``.

Bad rows never stop good ones: each is reported on stderr as ``file, row N, field 'x':
reason`` and the command exits with status 1 after doing all it could.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from typer import _click as click
from typer.core import TyperGroup

from custodes.access.principal import Principal
from custodes.cli.options import DEFAULT_DATA_DIR, DataDir, Format
from custodes.cli.output import OutputFormat, emit, emit_object
from custodes.errors import InputError, PermissionDeniedError

if TYPE_CHECKING:
    from custodes.store.cases import CaseStore
    from custodes.triage.adjustment import Adjustment
    from custodes.triage.calibration import Report
    from custodes.triage.policy import Policy

RATING_COLUMNS: Final = (
    "escalation_id",
    "rating",
    "score",
    "factors",
    "route",
    "sla_due_at",
    "language",
    "category",
)
QUEUE_COLUMNS: Final = (
    "id",
    "escalation_id",
    "band",
    "score",
    "category",
    "route",
    "sla_due_at",
    "time_to_breach_seconds",
    "status",
    "overridden",
    "version",
)
IMPORT_COLUMNS: Final = ("row", "escalation_id", "id", "result", "band", "score")


class _RateByDefault(TyperGroup):
    """A group whose first argument, when it names no subcommand, is a file to rate."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["rate", *args]
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=_RateByDefault,
    help="Escalation triage: rate files, import them, work the queue.",
    no_args_is_help=True,
)

File = Annotated[
    Path,
    typer.Argument(exists=True, dir_okay=False, readable=True, help="Escalations: .jsonl or .csv."),
]
As = Annotated[
    str | None,
    typer.Option(
        "--as", envvar="CUSTODES_USER", help="The Custodes user acting (default: your login)."
    ),
]
PolicyFile = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        envvar="CUSTODES_TRIAGE_POLICY",
        exists=True,
        dir_okay=False,
        help="A triage policy YAML file (default: the shipped one).",
    ),
]


def _report(errors: list[InputError]) -> None:
    for error in errors:
        typer.echo(f"error: {error}", err=True)


def _table_factors(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Factors as short ``name +points`` cells for people (programs get every field). A
    learned adjustment adds no points but is always shown, by version: never silent."""
    return [r | {"factors": [_cell(f) for f in r["factors"] if _shown(f)]} for r in rows]


def _shown(factor: dict[str, Any]) -> bool:
    return bool(factor["contribution"]) or factor["name"] == "adjustment"


def _cell(factor: dict[str, Any]) -> str:
    if factor["name"] == "adjustment":
        return f"adjustment {str(factor['input']).split(':')[0]}"
    return f"{factor['name']} {factor['contribution']:+g}"


def _policy_in_force(data_dir: Path, file: Path | None = None) -> Policy:
    """The base policy (``file`` or the default) with the data dir's learned adjustment
    laid over it; a person is told when the newest adjustment is not in force."""
    from custodes.triage.adjustment import active_policy
    from custodes.triage.policy import load_policy

    active = active_policy(data_dir, load_policy(file))
    if active.warning:
        typer.echo(f"warning: {active.warning}", err=True)
    return active.policy


@app.command("rate")
def rate_file(
    file: File,
    policy: PolicyFile = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Rate every escalation of FILE and print the ratings; nothing is stored."""
    from custodes.triage.records import rate_rows, read_records

    in_force = _policy_in_force(data_dir, policy)
    rated, errors = rate_rows(list(read_records(file)), in_force, file=file)
    rows = [r.to_dict() for r in rated]
    emit(_table_factors(rows) if fmt is OutputFormat.table else rows, fmt, columns=RATING_COLUMNS)
    _report(errors)
    if errors:
        raise typer.Exit(1)


@contextmanager
def _signed_in(data_dir: Path, username: str | None) -> Iterator[tuple[CaseStore, Principal]]:
    """The case store and the Custodes user acting in it."""
    from custodes.access import users
    from custodes.config import load_settings
    from custodes.store.cases import CaseStore

    settings = load_settings(data_dir=data_dir)
    with CaseStore.open(settings) as store:
        name = username or getpass.getuser()
        with store.read() as session:
            user = users.find_user(session, name)
            if user.disabled:
                raise PermissionDeniedError(f"user {name!r} is disabled")
            principal = users.principal_of(user)
        yield store, principal


@contextmanager
def _service(data_dir: Path, username: str | None) -> Iterator[tuple[Any, Principal]]:
    from custodes.config import load_settings
    from custodes.triage import staff
    from custodes.triage.intake import EscalationService

    settings = load_settings(data_dir=data_dir)
    with _signed_in(data_dir, username) as (store, principal):
        service = EscalationService(
            store,
            policy=_policy_in_force(data_dir),
            directory=staff.directory(lambda: _events(settings)),
            settings=settings,
        )
        yield service, principal


@contextmanager
def _events(settings: Any) -> Iterator[Any]:
    """The event store read-only, or None when there is none yet (never created here)."""
    from custodes.store.events import DB_FILE, EventStore

    if not (settings.data_dir / DB_FILE).exists():
        yield None
        return
    with EventStore.open(settings.data_dir, read_only=True, settings=settings) as events:
        yield events


@app.command("import")
def import_file(
    file: File,
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Submit every escalation of FILE to the store (repeats of an id update it).

    Good rows land even when others are bad; each bad row is named on stderr."""
    from custodes.triage.records import located, read_records

    out: list[dict[str, Any]] = []
    errors: list[InputError] = []
    with _service(data_dir, as_user) as (service, me):
        for number, data in read_records(file):
            if isinstance(data, InputError):
                errors.append(data)
                continue
            try:
                made, created = service.submit(me, data, row=number)
            except InputError as exc:
                errors.append(located(exc, file))
                continue
            out.append(
                {
                    "row": number,
                    "escalation_id": made.escalation_id,
                    "id": made.id,
                    "result": "created" if created else "repeat",
                    "band": made.band,
                    "score": made.score,
                }
            )
    emit(out, fmt, columns=IMPORT_COLUMNS)
    _report(errors)
    if errors:
        raise typer.Exit(1)


@app.command("queue")
def queue(
    status: Annotated[
        str | None,
        typer.Option(help="open, acknowledged, actioned or resolved (default: not resolved)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    offset: Annotated[int, typer.Option(help="Skip this many.")] = 0,
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Stored escalations by time to breach, the most pressing first."""
    from custodes.triage.intake import EscalationService

    with _signed_in(data_dir, as_user) as (store, me):  # nothing is rated: no policy read
        items, total = EscalationService(store).queue(me, status=status, limit=limit, offset=offset)
    emit(
        [i.model_dump(mode="json") for i in items],
        fmt,
        columns=QUEUE_COLUMNS,
        caption=f"{len(items)} of {total}" if fmt is OutputFormat.table else None,
    )


class ReportFormat(StrEnum):
    table = "table"
    json = "json"


@app.command("calibrate")
def calibrate(
    do_apply: Annotated[
        bool, typer.Option("--apply", help="Write the suggested adjustment as a new version.")
    ] = False,
    revert: Annotated[
        str | None,
        typer.Option(
            "--revert",
            metavar="VERSION",
            help="Put adjustment VERSION back, as a new version (0 = the base policy).",
        ),
    ] = None,
    show_history: Annotated[
        bool, typer.Option("--history", help="List every adjustment, newest last.")
    ] = False,
    reason: Annotated[str, typer.Option(help="Why (required with --apply and --revert).")] = "",
    policy: PolicyFile = None,
    as_user: As = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="table for people, json for programs.")
    ] = ReportFormat.table,
) -> None:
    """Where analysts overrode the engine, by factor; a learned adjustment of the policy.

    Nothing changes without --apply; every adjustment is a numbered version under
    DATA_DIR/triage/adjustments, named on every rating it makes, and --revert puts an
    earlier one (or none: 0) back."""
    from custodes.config import load_settings
    from custodes.triage import adjustment, calibration
    from custodes.triage.policy import load_policy

    if do_apply and revert is not None:
        raise InputError("give --apply or --revert, not both")
    base = load_policy(policy)
    if show_history:
        _emit_history(adjustment.history(data_dir), adjustment.active_policy(data_dir, base), fmt)
        return
    settings = load_settings(data_dir=data_dir)
    if revert is not None:
        to = adjustment.target_number(revert, base)
        if not settings.has_case_store:  # still possible, so a bad adjustment can always go
            typer.echo("warning: no case store: this revert is not audited", err=True)
            name = as_user or getpass.getuser()
            entry = adjustment.revert(data_dir, base, to, analyst=name, reason=reason)
        else:
            with _signed_in(data_dir, as_user) as (store, me):
                me.require(_manage())
                entry = adjustment.revert(
                    data_dir, base, to, analyst=me.username, reason=reason, store=store
                )
        _emit_entry(entry, fmt)
        return
    if not settings.has_case_store:
        raise InputError(
            f"no case store in {data_dir} (nor CUSTODES_DATABASE_URL): no overrides to learn from"
        )
    with _signed_in(data_dir, as_user) as (store, me):
        active = adjustment.active_policy(data_dir, base)
        if active.warning:
            typer.echo(f"warning: {active.warning}", err=True)
        found = calibration.report(me, store, active.policy, base)
        if do_apply:
            me.require(_manage())
            entry = adjustment.apply(
                data_dir, base, found.suggestions, analyst=me.username, reason=reason, store=store
            )
            _emit_entry(entry, fmt)
            return
    version = adjustment.next_version(data_dir, base)
    proposed = calibration.preview(active.policy, found.suggestions, version)
    changes = calibration.diff(active.policy, proposed) if found.suggestions else []
    _emit_report(found, changes, fmt)


def _manage() -> Any:
    from custodes.access.roles import Permission

    return Permission.escalation_manage


def _emit_report(found: Report, changes: list[str], fmt: ReportFormat) -> None:
    """The report for programs as one JSON document; for people, short tables that fit
    80 columns, and the suggestion as the diff it would make."""
    if fmt is ReportFormat.json:
        emit_object(found.to_dict() | {"diff": changes}, OutputFormat.json)
        return
    from rich.console import Console

    table = OutputFormat.table
    console = Console(soft_wrap=True)
    console.print(
        f"Policy {found.policy_version}: {found.ratings} ratings, {found.overridden} "
        f"overridden ({found.up} up, {found.down} down). A suggestion needs at least "
        f"{found.min_overrides} overrides of one group, consistent in direction.",
        highlight=False,
    )
    if found.other_versions:
        left = ", ".join(f"{v} ({n})" for v, n in found.other_versions.items())
        console.print(f"Not counted (rated under other policy versions): {left}.", highlight=False)
    rows = [{"engine": engine, **row} for engine, row in found.matrix.items()]
    emit(rows, table, title="Engine band (rows) x analyst band (columns)")
    legend = (
        "n: ratings it was in; over: of them overridden; %n, %over: share of all ratings, "
        "of all overrides; shift: mean band shift (+ = analysts made it more urgent)"
    )
    factors = [_stats_row("factor", f"{s.factor} {s.value}".strip(), s) for s in found.factors]
    emit(factors, table, title="Disagreement by factor", caption=legend)
    for name, stats in (
        ("category", found.by_category),
        ("source", found.by_source),
        ("language", found.by_language),
    ):
        emit([_stats_row(name, s.value, s) for s in stats], table, title=f"By {name}")
    for held in found.held_back:
        console.print(f"No suggestion for {held.field}: {held.reason}.", highlight=False)
    if not found.suggestions:
        console.print("No suggestion: nothing to change.")
        return
    console.print("Suggested adjustment (nothing changed; --apply --reason TEXT writes it):")
    for s in found.suggestions:
        console.print(f"  {s.field}: {s.current:g} -> {s.proposed:g}  ({s.why})", highlight=False)
    for line in changes:
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
        console.print(line, style=style, markup=False, highlight=False)


def _stats_row(label: str, value: str, s: Any) -> dict[str, Any]:
    return {
        label: value,
        "n": s.ratings,
        "over": s.overridden,
        "up": s.up,
        "down": s.down,
        "%n": round(100 * s.share_of_ratings),
        "%over": round(100 * s.share_of_overrides),
        "shift": round(s.mean_shift, 2),
    }


def _entry_record(entry: Adjustment) -> dict[str, Any]:
    return entry.to_dict() | {
        "changes": [c.render() for c in entry.changes],
        "file": entry.file,
    }


def _emit_entry(entry: Adjustment, fmt: ReportFormat) -> None:
    if fmt is ReportFormat.json:
        emit_object(entry.to_dict() | {"file": entry.file}, OutputFormat.json)
    else:
        emit_object(_entry_record(entry), OutputFormat.table)


def _emit_history(entries: list[Adjustment], active: Any, fmt: ReportFormat) -> None:
    in_force = active.entry.number if active.entry is not None else None
    rows = [_entry_record(e) | {"in_force": e.number == in_force} for e in entries]
    if fmt is ReportFormat.json:
        emit(
            [e.to_dict() | {"in_force": e.number == in_force} for e in entries],
            OutputFormat.json,
        )
        return
    emit(
        rows,
        OutputFormat.table,
        columns=(
            "number",
            "kind",
            "version",
            "created_at",
            "analyst",
            "reason",
            "changes",
            "in_force",
        ),
        title="Triage policy adjustments",
    )
    if active.warning:
        typer.echo(f"warning: {active.warning}", err=True)


@app.command("train-model")
def train_model(
    labels: Annotated[
        list[Path],
        typer.Argument(exists=True, dir_okay=False, help="Labelled .jsonl files (expected_band)."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the model.")],
    version: Annotated[str, typer.Option(help="The model's version, shown on ratings.")],
) -> None:
    """Train the band model on labelled escalations (contract §1.6 fields plus
    expected_band) and write it; a policy uses it with `text_model: {use: decide, file: ...}`.

    Measure it on a labelled set it did not learn from before putting it in a policy."""
    from custodes.triage.band_model import save_model
    from custodes.triage.band_training import read_labelled, train

    records, sources = read_labelled(labels)
    model = train(records, version=version, trained_on=sources)
    save_model(model, out)
    typer.echo(
        f"{out}: {len(model.vocabulary)} terms, {len(records)} escalations "
        f"from {', '.join(s['file'] for s in sources)}"
    )
