"""The DuckDB gateway: the one object that owns the event store's connection.

Everything else (ingest, detection, the SQL workbench later) goes through it, so session
settings that correctness depends on — UTC time zone, memory limit, spill directory, no
extension auto-loading — are set in exactly one place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import duckdb
import pyarrow as pa

from custodes.config import Settings
from custodes.errors import StoreError
from custodes.store.ddl import MIGRATIONS, STATUS_TABLES

DB_FILE = "events.duckdb"

Params = Sequence[Any] | dict[str, Any] | None


class EventStore:
    """One DuckDB file in the data dir; open it with :meth:`open`."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, *, read_only: bool) -> None:
        self.path = path
        self.read_only = read_only
        self._con = con

    @classmethod
    def open(
        cls, data_dir: Path, *, read_only: bool = False, settings: Settings | None = None
    ) -> EventStore:
        """Open (creating and migrating if needed) the store under ``data_dir``."""
        settings = settings or Settings(data_dir=data_dir)
        path = Path(data_dir) / DB_FILE
        if read_only and not path.exists():
            raise StoreError(f"no event store at {path}: run `custodes ingest` or `custodes demo`")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create data dir {path.parent}: {exc}") from exc
        config: dict[str, Any] = {
            "memory_limit": settings.duckdb_memory_limit,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        if settings.duckdb_threads:
            config["threads"] = settings.duckdb_threads
        try:
            con = duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreError(
                    f"the event store {path} is in use by another custodes process; "
                    "wait for it to finish"
                ) from exc
            raise StoreError(f"cannot open the event store {path}: {exc}") from exc
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the event store {path}: {exc}") from exc
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = true")
        con.execute("SET enable_progress_bar_print = false")
        if not read_only:
            spill = path.parent / "tmp"
            con.execute(f"SET temp_directory = '{_escape(str(spill))}'")
        store = cls(path, con, read_only=read_only)
        if not read_only:
            store._migrate()
        return store

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- schema ----------------------------------------------------------------------------

    def _migrate(self) -> None:
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)"
        )
        row = self._con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        done = int(row[0]) if row else 0
        if done > len(MIGRATIONS):
            raise StoreError(
                f"{self.path} was written by a newer custodes (schema {done}); upgrade custodes"
            )
        if done == len(MIGRATIONS):
            return
        with self.transaction():
            for statement in MIGRATIONS[done:]:
                self._con.execute(statement)
            self._con.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(len(MIGRATIONS))]
            )

    # -- statements ------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing: a killed or failed block leaves no trace in the store."""
        self._con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    def execute(self, sql: str, params: Params = None) -> None:
        self._con.execute(sql, params)

    def fetch_all(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        return self._con.execute(sql, params).fetchall()

    def fetch_one(self, sql: str, params: Params = None) -> tuple[Any, ...] | None:
        # Read to the end: DuckDB 2 refuses other work while a result is partly read, and
        # aborting it would roll back what the statement did (a sequence's nextval, say).
        rows = self._con.execute(sql, params).fetchall()
        return rows[0] if rows else None

    def fetch_value(self, sql: str, params: Params = None) -> Any:
        row = self.fetch_one(sql, params)
        return None if row is None else row[0]

    def fetch_arrow(self, sql: str, params: Params = None) -> pa.Table:
        return self._con.sql(sql, params=params).to_arrow_table()

    def columns(self, sql: str) -> list[tuple[str, str]]:
        """Names and DuckDB types of what a SELECT would return, without running it fully."""
        return [(r[0], r[1]) for r in self._con.execute(f"DESCRIBE {sql}").fetchall()]

    def register(self, name: str, table: pa.Table) -> None:
        self._con.register(name, table)

    def unregister(self, name: str) -> None:
        self._con.unregister(name)

    def execute_with_progress(
        self, sql: str, on_progress: Callable[[float], None], interval: float = 0.2
    ) -> None:
        """Run one long statement while reporting DuckDB's own progress (0..1)."""
        done = threading.Event()

        def poll() -> None:
            while not done.wait(interval):
                value = self._con.query_progress()
                if value >= 0:
                    on_progress(min(value, 100.0) / 100.0)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        try:
            self._con.execute(sql)
        finally:
            done.set()
            watcher.join()
        on_progress(1.0)

    # -- reports ---------------------------------------------------------------------------

    @staticmethod
    def status_tables() -> tuple[str, ...]:
        return STATUS_TABLES

    def recent_runs(self, limit: int) -> list[dict[str, Any]]:
        cursor = self._con.execute(
            'SELECT run_id, entity, status, started_at, finished_at, files, "read", stored, '
            "duplicate, quarantined, failed_files FROM ingest_runs ORDER BY run_id DESC LIMIT ?",
            [limit],
        )
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def counts(self) -> dict[str, int]:
        return {
            table: int(self.fetch_value(f'SELECT count(*) FROM "{table}"') or 0)
            for table in STATUS_TABLES
        }

    def export_parquet(self, table: str, path: Path, order_by: str | None = None) -> int:
        """Write one table to a Parquet file; returns the row count."""
        if table not in STATUS_TABLES:
            raise StoreError(f"unknown table {table!r}; tables: {', '.join(STATUS_TABLES)}")
        order = f" ORDER BY {order_by}" if order_by else ""
        path.parent.mkdir(parents=True, exist_ok=True)
        # Contract tables are exported exactly as the contract spells them: without the
        # store's own bookkeeping column.
        names = [name for name, _ in self.columns(f'SELECT * FROM "{table}"')]
        internal = table in STATUS_TABLES[:5] and "run_id" in names
        select = "* EXCLUDE (run_id)" if internal else "*"
        self.execute(
            f"COPY (SELECT {select} FROM \"{table}\"{order}) TO '{_escape(str(path))}' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        return int(self.fetch_value(f'SELECT count(*) FROM "{table}"') or 0)


def _escape(text: str) -> str:
    return text.replace("'", "''")
