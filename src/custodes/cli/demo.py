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
from custodes.config import Settings, load_settings
from custodes.errors import InputError, PermissionDeniedError
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
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Then run detection, import the simulated escalations and serve the web app "
            "with a one-time demo login (development only).",
        ),
    ] = False,
    host: Annotated[str, typer.Option(help="With --serve: address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="With --serve: port to listen on.", min=1, max=65535)
    ] = 8000,
) -> None:
    """Simulate a T&S organisation, ingest it, and summarise what the store now holds.

    With --serve, go on to the web app: detection, the escalations imported, a `demo` admin
    with a fresh random password printed once (development only), then serving."""
    from custodes.simulate import SimulationConfig

    settings = load_settings(data_dir=data_dir)
    if serve and settings.environment != "development":
        raise PermissionDeniedError(
            "demo --serve is for development only (CUSTODES_ENVIRONMENT=development)"
        )
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
    else:
        _print_summary(console, data_dir, summary, elapsed, inputs, serving=serve)
    if serve:
        _serve(settings, inputs, host, port)


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
    console: Console,
    data_dir: Path,
    summary: dict[str, object],
    elapsed: float,
    inputs: Path,
    *,
    serving: bool,
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
    if not serving:
        console.print(
            f"Web app: [bold]custodes demo --serve --data-dir {data_dir}[/] runs detection, "
            "imports the simulated escalations and serves http://127.0.0.1:8000/ with a "
            "one-time demo login (or [bold]custodes detect[/] then [bold]custodes serve[/])."
        )


def _serve(settings: Settings, inputs: Path, host: str, port: int) -> None:
    """Detection, the escalations, the demo login, then the server (stderr: progress)."""
    from custodes.access import users
    from custodes.cli.serve import run_server
    from custodes.detect.detection import run_detection
    from custodes.store.cases import CaseStore
    from custodes.triage.intake import EscalationService
    from custodes.triage.records import read_records

    err = Console(stderr=True, soft_wrap=True, highlight=False)
    with EventStore.open(settings.data_dir, settings=settings) as store:
        report = run_detection(store, progress=lambda step: err.print(f"… detect: {step}"))
    err.print(f"{sum(report.alerts.values()):,} alerts")
    with CaseStore.open(settings) as cases:
        with cases.write() as session:
            username, password = users.reset_demo_user(session, settings)
            principal = users.principal_of(users.find_user(session, username))
        service = EscalationService(cases)
        stored = updates = failed = 0
        err.print("… importing the simulated escalations")
        for _row, record in read_records(inputs / "escalations.jsonl"):
            if isinstance(record, InputError):
                failed += 1
                continue
            try:
                _made, created = service.submit(principal, record)
            except InputError:
                failed += 1
                continue
            stored += created
            updates += not created
        err.print(
            f"{stored:,} escalations stored, {updates:,} updates to them"
            + (f", {failed} refused" if failed else "")
        )
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"  # noqa: S104
    err.print(
        f"\nOpen [bold]{url}[/] and sign in as [bold]{username}[/] with password "
        f"[bold]{password}[/]\n(shown once; a new one each run; development only). Ctrl+C stops.\n"
    )
    run_server(settings, host=host, port=port)
