"""`custodes simulate`: a synthetic T&S organisation with ground truth, streamed to disk."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from custodes.cli.options import Format
from custodes.cli.output import OutputFormat, emit_object
from custodes.cli.progress import progress_bar
from custodes.errors import InputError

if TYPE_CHECKING:
    from custodes.simulate import SimulationConfig, SimulationSummary

SIM_FORMATS = ("parquet", "csv", "cert")


def run_simulation(config: SimulationConfig, out: Path, out_format: str) -> SimulationSummary:
    """Simulate into ``out`` with a progress bar over days; shared by demo and CLI."""
    from custodes.simulate import open_sink, simulate

    if out_format not in SIM_FORMATS:
        raise InputError(
            f"--out-format must be one of {', '.join(SIM_FORMATS)}, not {out_format!r}"
        )
    out.mkdir(parents=True, exist_ok=True)
    sink = open_sink(out_format, out)
    try:
        with progress_bar(config.days, "simulate") as bar:
            summary = simulate(config, sink, lambda done, total: bar.update(done))
    finally:
        sink.close()
    return summary


def simulate_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the files into.")],
    staff: Annotated[int, typer.Option(help="Number of staff members.")] = 300,
    days: Annotated[int, typer.Option(help="Number of simulated days.")] = 60,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 7,
    start: Annotated[str, typer.Option(help="First simulated day (YYYY-MM-DD).")] = "2026-01-05",
    insider_fraction: Annotated[
        float, typer.Option(help="Share of staff who misbehave (ground truth in labels).")
    ] = 0.04,
    out_format: Annotated[
        str, typer.Option("--out-format", help="parquet, csv or cert (CMU CERT r6.2 layout).")
    ] = "parquet",
    fmt: Format = OutputFormat.table,
) -> None:
    """Write events, people, accounts, tickets, labels and escalations of a realistic
    Trust & Safety organisation, with injected misconduct and its ground truth."""
    try:
        first = date.fromisoformat(start)
    except ValueError as exc:
        raise InputError(f"--start must be a date like 2026-01-05, not {start!r}") from exc
    from custodes.simulate import SimulationConfig

    try:
        config = SimulationConfig(
            staff=staff, days=days, seed=seed, start=first, insider_fraction=insider_fraction
        )
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    summary = run_simulation(config, out, out_format)
    if fmt is OutputFormat.table:
        Console().print(
            f"Wrote {summary.events:,} events, {summary.people:,} people, "
            f"{summary.accounts:,} accounts, {summary.tickets:,} tickets, "
            f"{summary.labels:,} labels and {summary.escalations:,} escalations to {out}"
        )
        return
    emit_object(
        {
            "out": str(out),
            "events": summary.events,
            "people": summary.people,
            "accounts": summary.accounts,
            "tickets": summary.tickets,
            "labels": summary.labels,
            "escalations": summary.escalations,
            "insiders": dict(summary.insiders),
        },
        fmt,
    )
