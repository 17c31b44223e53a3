"""What a feature engine is: where the feature SQL runs.

The feature build is a sequence of DuckDB-dialect statements that create temp tables
(``CREATE OR REPLACE TEMP TABLE name AS query``) and drop them, a few scalar look-ups, and
one final ``INSERT INTO features_actor_day ... query`` whose rows land in the event store.
An engine runs exactly that; the build itself never knows which engine it talks to.
"""

from __future__ import annotations

from typing import Any, Protocol

import pyarrow as pa


class Engine(Protocol):
    """Runs the feature statements; results land in the event store (DuckDB) either way,
    so detectors, alerts, risk and evaluation read the same table whatever computed it."""

    name: str

    def execute(self, sql: str) -> None:
        """One DuckDB-dialect statement: ``CREATE [OR REPLACE] TEMP TABLE name AS query``,
        ``DROP TABLE IF EXISTS name``, or ``INSERT INTO store_table (columns) query``, which
        appends the engine's rows to the event store inside its current transaction."""
        ...

    def fetch_value(self, sql: str) -> Any:
        """The first column of the first row of a query (None when there is none)."""
        ...

    def columns(self, table: str) -> list[str]:
        """Column names of a temp table, in order."""
        ...

    def fetch_arrow(self, sql: str) -> pa.Table:
        """A query's rows as Arrow."""
        ...
