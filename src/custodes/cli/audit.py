"""`custodes audit verify`: prove the audit log is intact, or say where it breaks.

Exit 0 when every row links to the one before and the head matches; exit 1 with the first
break ("chain breaks at row N: ..."), so a cron job or CI step can alert on it. The head hash
is printed so it can be published elsewhere: a copy outside the database is what catches
someone who rewrites the whole chain.
"""

from __future__ import annotations

import typer

from custodes.cli.options import DEFAULT_DATA_DIR, DataDir, Format
from custodes.cli.output import OutputFormat, emit_object
from custodes.config import load_settings
from custodes.store.cases import CaseStore

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@app.command("verify")
def verify(data_dir: DataDir = DEFAULT_DATA_DIR, fmt: Format = OutputFormat.table) -> None:
    """Check the whole hash chain; exit 1 at the first changed, missing or moved row."""
    from custodes.audit import verify as verify_chain

    settings = load_settings(data_dir=data_dir)
    # Reading an existing log needs no schema check (the audit tables have not changed
    # since the first revision), and skipping Alembic saves a second of start-up.
    with CaseStore.open(settings, migrate=not settings.has_case_store) as store:
        report = verify_chain(store)
    emit_object(
        {
            "ok": report.ok,
            "rows": report.rows,
            "head_seq": report.head_seq,
            "head_hash": report.head_hash,
            "break_row": report.first_break.seq if report.first_break else None,
            "problem": report.first_break.problem if report.first_break else None,
        },
        fmt,
    )
    if report.first_break is not None:
        typer.echo(
            f"chain breaks at row {report.first_break.seq}: {report.first_break.problem}",
            err=True,
        )
        raise typer.Exit(1)
