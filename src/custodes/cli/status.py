"""`custodes status`: what the store holds."""

from __future__ import annotations

from rich.console import Console

from custodes.cli.options import DEFAULT_DATA_DIR, DataDir, Format
from custodes.cli.output import OutputFormat, emit, emit_object
from custodes.store.events import DB_FILE, EventStore


def status(data_dir: DataDir = DEFAULT_DATA_DIR, fmt: Format = OutputFormat.table) -> None:
    """Row counts of every table in the event store, and the latest ingest runs."""
    if not (data_dir / DB_FILE).exists():
        counts = dict.fromkeys(EventStore.status_tables(), 0)
        runs: list[dict[str, object]] = []
    else:
        with EventStore.open(data_dir, read_only=True) as store:
            counts = store.counts()
            runs = store.recent_runs(5)
    if fmt is OutputFormat.table:
        Console(soft_wrap=True).print(f"Event store: {data_dir / DB_FILE}", highlight=False)
        emit([{"table": t, "rows": f"{n:,}"} for t, n in counts.items()], fmt)
        if runs:
            emit(
                [
                    {
                        "run": r["run_id"],
                        "entity": r["entity"],
                        "status": r["status"],
                        "started UTC": f"{r['started_at']:%m-%d %H:%M}",
                        **{k: f"{r[k] or 0:,}" for k in ("read", "stored")},
                        "dup": f"{r['duplicate'] or 0:,}",
                        "bad": f"{r['quarantined'] or 0:,}",
                    }
                    for r in runs
                ],
                fmt,
                title="Latest ingest runs",
            )
        return
    emit_object({"data_dir": str(data_dir), "tables": counts, "latest_runs": runs}, fmt)
