"""`custodes demo`: the whole pipeline on a small simulated organisation, in one command.

It is README command one, so it must work on a fresh machine in well under two minutes and
leave a store the other commands can explore.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from custodes.cli.ingest import run_ingest
from custodes.cli.options import DEFAULT_DATA_DIR, DataDir, Format
from custodes.cli.output import OutputFormat, emit_object
from custodes.cli.simulate import run_simulation
from custodes.errors import InputError
from custodes.ingest.reader import source_for
from custodes.ingest.source import Source
from custodes.model.schema import INGESTIBLE
from custodes.model.vocabulary import ROLES
from custodes.store.events import EventStore
from custodes.store.summary import store_summary


def demo(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    staff: Annotated[int, typer.Option(help="Staff in the simulated organisation.")] = 300,
    days: Annotated[int, typer.Option(help="Days to simulate.")] = 60,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    fmt: Format = OutputFormat.table,
) -> None:
    """Simulate a T&S organisation, ingest it, and summarise what the store now holds."""
    from custodes.simulate import SimulationConfig

    console = Console(soft_wrap=True)
    started = time.perf_counter()
    inputs = data_dir / "demo-input"
    config = SimulationConfig(staff=staff, days=days, seed=seed)
    if fmt is OutputFormat.table:
        console.print(
            f"[bold]Custodes demo[/]: simulating {staff} staff over {days} days (seed {seed}) …"
        )
    sim = run_simulation(config, inputs, "parquet")
    sources: list[Source | InputError] = []
    for name, entity in INGESTIBLE.items():
        path = inputs / f"{name}.parquet"
        sources.append(source_for(path, entity))
    report = run_ingest(
        data_dir,
        sources,
        fmt,
        "demo",
        console=Console(stderr=True, soft_wrap=True, quiet=fmt is not OutputFormat.table),
    )
    with EventStore.open(data_dir, read_only=True) as store:
        summary = store_summary(store)
    elapsed = time.perf_counter() - started
    if fmt is not OutputFormat.table:
        emit_object(
            {
                "data_dir": str(data_dir),
                "seconds": round(elapsed, 1),
                "simulated_events": sim.events,
                "stored": report.total("stored"),
                **summary,
            },
            fmt,
        )
        return
    _print_summary(console, data_dir, summary, elapsed, inputs)


def _staff_pivot(staff: object) -> Table:
    """Sites down, roles across: the shape of the organisation at a glance."""
    assert isinstance(staff, list)
    roles = [r for r in ROLES if any(row["role"] == r for row in staff)]
    sites = sorted({row["site"] for row in staff})
    counts = {(row["site"], row["role"]): row["staff"] for row in staff}
    short = {
        "moderator": "mod",
        "qa_analyst": "QA",
        "team_lead": "lead",
        "investigator": "inv",
        "admin": "admin",
        "engineer": "eng",
        "other": "other",
    }
    table = Table(title="Staff by site and role")
    table.add_column("site", no_wrap=True)
    for role in [*roles, "total"]:
        table.add_column(short.get(role, role), justify="right")
    for site in sites:
        cells = [counts.get((site, role), 0) for role in roles]
        table.add_row(site, *[str(c or "·") for c in cells], str(sum(cells)))
    return table


def _print_summary(
    console: Console, data_dir: Path, summary: dict[str, object], elapsed: float, inputs: Path
) -> None:
    counts = summary["tables"]
    assert isinstance(counts, dict)
    span = summary["time_span"]
    assert isinstance(span, dict)
    console.print(
        Panel.fit(
            f"[bold]{counts['events']:,}[/] events from [bold]{counts['people']:,}[/] staff, "
            f"{span['first']} → {span['last']}\n"
            f"{counts['accounts']:,} accounts · {counts['tickets']:,} tickets · "
            f"{counts['labels']:,} ground-truth labels · {counts['quarantine']:,} quarantined rows",
            title="Event store",
        )
    )
    console.print(_staff_pivot(summary["staff"]))
    for title, key, cols in (
        ("Events by action family", "families", ("family", "events", "actors")),
        ("Injected misconduct (ground truth)", "scenarios", ("scenario", "insiders")),
    ):
        rows = summary[key]
        assert isinstance(rows, list)
        table = Table(title=title)
        for c in cols:
            table.add_column(
                c, justify="right" if c in ("events", "actors", "insiders") else "left"
            )
        for r in rows:
            table.add_row(*[f"{r[c]:,}" if isinstance(r[c], int) else str(r[c]) for c in cols])
        console.print(table)
    console.print(
        f"Done in {elapsed:.0f} s. Inputs are in {inputs}; "
        f"the store is {data_dir / 'events.duckdb'}.\n"
        f"Next: [bold]custodes status --data-dir {data_dir}[/] · "
        f"[bold]custodes export --data-dir {data_dir} --out exported/[/]"
    )
