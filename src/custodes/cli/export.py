"""`custodes export`: the store's tables as Parquet, for other tools."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from custodes.cli.options import DEFAULT_DATA_DIR, DataDir, Format
from custodes.cli.output import OutputFormat, emit
from custodes.store.events import EventStore

_ORDER = {"events": "ts, actor_id", "quarantine": "file, row", "ingest_runs": "run_id"}


def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write Parquet files into.")],
    tables: Annotated[
        list[str] | None,
        typer.Option("--table", "-t", help="Table to export (repeatable); default: all."),
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Export tables to Parquet files named after them (events sorted by time)."""
    with EventStore.open(data_dir, read_only=True) as store:
        chosen = tables or list(EventStore.status_tables())
        written = []
        for table in chosen:
            path = out / f"{table}.parquet"
            rows = store.export_parquet(table, path, _ORDER.get(table))
            written.append({"table": table, "rows": rows, "file": str(path)})
    emit(written, fmt, title="Exported")
