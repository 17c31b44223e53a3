"""`custodes triage ...`: rate escalation files, import them into the store, see the queue.

One group, three subcommands::

    custodes triage rate FILE      rate a .jsonl/.csv file, store nothing (contract §2 output)
    custodes triage import FILE    submit each row to the case store, as the ``--as`` user
    custodes triage queue          the stored escalations by time to breach

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
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from typer import _click as click
from typer.core import TyperGroup

from custodes.access.principal import Principal
from custodes.cli.options import DEFAULT_DATA_DIR, DataDir, Format
from custodes.cli.output import OutputFormat, emit
from custodes.errors import InputError, PermissionDeniedError

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
    typer.Option("--policy", exists=True, dir_okay=False, help="A triage policy YAML file."),
]


def _report(errors: list[InputError]) -> None:
    for error in errors:
        typer.echo(f"error: {error}", err=True)


def _table_factors(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Factors as short ``name +points`` cells for people (programs get every field)."""
    return [
        r
        | {
            "factors": [
                f"{f['name']} {f['contribution']:+g}" for f in r["factors"] if f["contribution"]
            ]
        }
        for r in rows
    ]


@app.command("rate")
def rate_file(file: File, policy: PolicyFile = None, fmt: Format = OutputFormat.table) -> None:
    """Rate every escalation of FILE and print the ratings; nothing is stored."""
    from custodes.triage.policy import load_policy
    from custodes.triage.records import rate_rows, read_records

    rated, errors = rate_rows(list(read_records(file)), load_policy(policy), file=file)
    rows = [r.to_dict() for r in rated]
    emit(_table_factors(rows) if fmt is OutputFormat.table else rows, fmt, columns=RATING_COLUMNS)
    _report(errors)
    if errors:
        raise typer.Exit(1)


@contextmanager
def _service(data_dir: Path, username: str | None) -> Iterator[tuple[Any, Principal]]:
    from custodes.access import users
    from custodes.config import load_settings
    from custodes.store.cases import CaseStore
    from custodes.triage.intake import EscalationService

    settings = load_settings(data_dir=data_dir)
    with CaseStore.open(settings) as store:
        name = username or getpass.getuser()
        with store.read() as session:
            user = users.find_user(session, name)
            if user.disabled:
                raise PermissionDeniedError(f"user {name!r} is disabled")
            principal = users.principal_of(user)
        yield EscalationService(store), principal


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
    with _service(data_dir, as_user) as (service, me):
        items, total = service.queue(me, status=status, limit=limit, offset=offset)
    emit(
        [i.model_dump(mode="json") for i in items],
        fmt,
        columns=QUEUE_COLUMNS,
        caption=f"{len(items)} of {total}" if fmt is OutputFormat.table else None,
    )
