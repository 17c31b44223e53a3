"""`custodes detect` and `custodes alerts`: run detectors, read what they found."""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated, Any

import typer
from rich.console import Console

from custodes.cli.options import DEFAULT_DATA_DIR, DataDir, Format
from custodes.cli.output import OutputFormat, emit, emit_object
from custodes.detect.engine.session import DEFAULT_MASTER
from custodes.errors import InputError
from custodes.store.events import EventStore

ALERT_FIELDS = (
    "alert_id",
    "actor_id",
    "detector",
    "category",
    "severity",
    "score",
    "window_start",
    "window_end",
    "reasons",
    "evidence_event_ids",
    "pattern",
    "suppressed",
)


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"{option} must be a date like 2026-01-31, not {value!r}") from exc


def detect(
    since: Annotated[
        str | None, typer.Option(help="Incremental: recompute from this day (YYYY-MM-DD).")
    ] = None,
    detector: Annotated[
        list[str] | None, typer.Option("--detector", "-d", help="Run only these (repeatable).")
    ] = None,
    engine: Annotated[
        str, typer.Option(help="Where features are computed: duckdb (default) or spark.")
    ] = "duckdb",
    spark_master: Annotated[
        str,
        typer.Option(
            envvar="CUSTODES_SPARK_MASTER",
            help="Spark master for --engine spark: local[N], or a cluster URL (needs "
            "--spark-input).",
        ),
    ] = DEFAULT_MASTER,
    spark_input: Annotated[
        str | None,
        typer.Option(
            envvar="CUSTODES_SPARK_INPUT",
            help="Parquet folder or URL the Spark cluster reads (events, people, accounts, "
            "tickets); local mode exports the store's own.",
        ),
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Build features and run the detectors over the event store."""
    from custodes.config import load_settings
    from custodes.detect.detection import run_detection
    from custodes.detect.engine import ENGINES, open_engine

    if engine not in ENGINES:
        raise InputError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    console = Console(stderr=True, soft_wrap=True, quiet=fmt is not OutputFormat.table)
    with EventStore.open(data_dir) as store:
        # Closed cases' outcomes are verdicts: bring them in before detection reads feedback.
        settings = load_settings(data_dir=data_dir)
        synced = None
        if settings.has_case_store:  # imported only then: SQLAlchemy costs start-up time
            from custodes.cases.feedback import sync_if_present

            synced = sync_if_present(settings, store)
        if synced:
            console.print(f"… {synced} verdicts from closed cases", highlight=False)
        if engine == "spark":
            console.print(f"… starting spark ({spark_master})", highlight=False)
        clock = time.perf_counter()
        with open_engine(engine, store, master=spark_master, spark_input=spark_input) as fx:
            starting = time.perf_counter() - clock  # input export and session start
            report = run_detection(
                store,
                since=_date(since, "--since"),
                detectors=detector,
                progress=lambda step: console.print(f"… {step}", highlight=False),
                engine=fx,
            )
        if engine == "spark":
            report.seconds = {"spark_start": starting, **report.seconds}
    summary: dict[str, Any] = {
        "detect_run": report.detect_run,
        "since": report.since,
        "feature_rows": report.feature_rows,
        "alerts": report.alerts,
        "suppressed": report.suppressed,
        "seconds": {k: round(v, 2) for k, v in report.seconds.items()},
    }
    emit_object(summary, fmt)


def alerts(
    actor: Annotated[str | None, typer.Option(help="Only this staff member.")] = None,
    category: Annotated[str | None, typer.Option(help="Only this scenario family.")] = None,
    detector: Annotated[str | None, typer.Option(help="Only this detector.")] = None,
    min_score: Annotated[float, typer.Option(help="Only alerts scoring at least this.")] = 0.0,
    limit: Annotated[int, typer.Option(help="At most this many, highest score first.")] = 50,
    suppressed: Annotated[
        bool, typer.Option("--suppressed", help="Include alerts muted by analyst feedback.")
    ] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Alerts, highest score first, with their reasons and evidence event ids."""
    where = ["score >= ?"] if suppressed else ["score >= ?", "suppressed IS NULL"]
    params: list[Any] = [min_score]
    for column, value in (("actor_id", actor), ("category", category), ("detector", detector)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    with EventStore.open(data_dir, read_only=True) as store:
        rows = store.fetch_all(
            f"SELECT {', '.join(ALERT_FIELDS)} FROM alerts WHERE {' AND '.join(where)} "
            "ORDER BY score DESC, alert_id LIMIT ?",
            [*params, limit],
        )
    records = [dict(zip(ALERT_FIELDS, row, strict=True)) for row in rows]
    if fmt is OutputFormat.table:
        _print_alerts(records)
        return
    emit(records, fmt, columns=ALERT_FIELDS)


def _print_alerts(records: list[dict[str, Any]]) -> None:
    """One header line per alert, its reasons indented below: reasons are sentences with
    numbers in them, and a table column would fold them into unreadable slivers."""
    console = Console(soft_wrap=False, highlight=False)
    if not records:
        console.print("No alerts.")
        return
    for r in records:
        console.print(
            f"[bold]{r['alert_id']}[/] {r['actor_id']} {r['score']:.2f} {r['severity']} "
            f"{r['category']} {r['window_start']:%Y-%m-%d} {r['detector']}",
            markup=True,
            soft_wrap=True,
        )
        for reason in r["reasons"] or []:
            console.print(f"    {reason}", markup=False, overflow="fold", soft_wrap=True)
        if r["suppressed"]:
            console.print(f"    [muted] {r['suppressed']}", markup=False, soft_wrap=True)
