"""The default engine: the event store's own DuckDB connection (the same statements the
build always ran, nothing copied anywhere)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from custodes.store.events import EventStore


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def execute(self, sql: str) -> None:
        self.store.execute(sql)

    def fetch_value(self, sql: str) -> Any:
        return self.store.fetch_value(sql)

    def columns(self, table: str) -> list[str]:
        return [name for name, _ in self.store.columns(f"SELECT * FROM {table}")]

    def fetch_arrow(self, sql: str) -> pa.Table:
        return self.store.fetch_arrow(sql)
