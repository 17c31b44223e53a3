"""`custodes status`: what the store holds."""

from __future__ import annotations

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
        emit(
            [{"table": t, "rows": f"{n:,}"} for t, n in counts.items()],
            fmt,
            title=f"Event store in {data_dir}",
        )
        if runs:
            emit(runs, fmt, title="Latest ingest runs")
        return
    emit_object({"data_dir": str(data_dir), "tables": counts, "latest_runs": runs}, fmt)
