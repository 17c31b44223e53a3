"""`custodes ingest …`: contract files and the CERT insider-threat layout into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from custodes.cli.options import DEFAULT_DATA_DIR, DataDir, Format
from custodes.cli.output import OutputFormat, emit, emit_object
from custodes.cli.progress import progress_bar
from custodes.config import load_settings
from custodes.errors import InputError
from custodes.ingest.pipeline import FileResult, IngestReport, ingest_sources
from custodes.ingest.reader import FORMATS, expand, source_for
from custodes.ingest.source import Source
from custodes.model.schema import INGESTIBLE
from custodes.store.events import EventStore

app = typer.Typer(help="Load data into the event store (idempotent: re-running adds nothing).")

Paths = Annotated[list[str], typer.Argument(help="Files, folders or glob patterns.")]
FileFormat = Annotated[
    str | None,
    typer.Option(
        "--format-in", help=f"Input format when the extension does not say: {', '.join(FORMATS)}."
    ),
]


def run_ingest(
    data_dir: Path,
    sources: list[Source | InputError],
    fmt: OutputFormat,
    label: str,
    console: Console | None = None,
) -> IngestReport:
    """Ingest with a progress bar and one line per finished file; shared by demo and CLI."""
    console = console or Console(stderr=True, soft_wrap=True)
    sizes = {s.file: max(s.size, 1) for s in sources if isinstance(s, Source)}
    total = float(sum(sizes.values())) or 1.0
    done = 0.0
    settings = load_settings(data_dir=data_dir)
    with (
        EventStore.open(data_dir, settings=settings) as store,
        progress_bar(total, f"ingest {label}", console) as bar,
    ):

        def on_progress(file: str, fraction: float) -> None:
            bar.update(done + fraction * sizes.get(file, 1), f"ingest {Path(file).name}")

        def on_file(result: FileResult) -> None:
            nonlocal done
            done += sizes.get(result.file, 0)
            bar.update(done)
            if fmt is not OutputFormat.table:
                return
            if result.error:
                bar.print(f"[red]✗[/] {result.error}")
            else:
                bar.print(
                    f"[green]✓[/] {result.file}: read {result.read:,}, "
                    f"stored {result.stored:,}, duplicate {result.duplicate:,}, "
                    f"quarantined {result.quarantined:,}"
                )

        report = ingest_sources(store, sources, on_progress, entity_label=label, on_file=on_file)
    return report


def _report(report: IngestReport, fmt: OutputFormat) -> None:
    summary = {
        "run_id": report.run_id,
        "files": len(report.files),
        "read": report.total("read"),
        "stored": report.total("stored"),
        "duplicate": report.total("duplicate"),
        "quarantined": report.total("quarantined"),
        "failed_files": [{"file": f.file, "error": f.error} for f in report.failed],
    }
    if fmt is OutputFormat.table:
        emit(
            [{k: f"{v:,}" for k, v in summary.items() if isinstance(v, int)}],
            fmt,
            title="Ingest summary",
        )
        if report.total("quarantined"):
            Console(stderr=True, soft_wrap=True).print(
                "Quarantined rows are in the quarantine table with file, row, field and reason "
                "(custodes export --table quarantine)."
            )
    elif fmt is OutputFormat.csv:
        emit([{**summary, "failed_files": len(report.failed)}], fmt)
    else:
        emit_object(summary, fmt)
    if report.failed:
        raise typer.Exit(1)


def _entity_command(entity_name: str) -> None:
    entity = INGESTIBLE[entity_name]

    def command(
        paths: Paths,
        data_dir: DataDir = DEFAULT_DATA_DIR,
        file_format: FileFormat = None,
        fmt: Format = OutputFormat.table,
    ) -> None:
        if file_format is not None and file_format not in FORMATS:
            raise InputError(
                f"--format-in must be one of {', '.join(FORMATS)}, not {file_format!r}"
            )
        sources: list[Source | InputError] = []
        for path in expand(paths):
            try:
                sources.append(source_for(path, entity, file_format))
            except InputError as exc:
                sources.append(exc)
        _report(run_ingest(data_dir, sources, fmt, entity_name), fmt)

    command.__doc__ = f"Ingest {entity_name} files (CSV, TSV, JSON Lines, Parquet; .gz too)."
    app.command(entity_name)(command)


for _name in INGESTIBLE:
    _entity_command(_name)


@app.command("cert")
def cert(
    directory: Annotated[Path, typer.Argument(help="A CERT release folder (r4.2 … r6.2).")],
    release: Annotated[
        str | None,
        typer.Option(help="Release (e.g. r6.2) when the folder name does not say it."),
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Ingest a CMU CERT insider-threat release.

    Logs become events, LDAP snapshots people, the answer key labels.
    """
    from custodes.ingest.cert import cert_sources_collecting

    sources = cert_sources_collecting(directory, release=release)
    _report(run_ingest(data_dir, sources, fmt, "cert"), fmt)
