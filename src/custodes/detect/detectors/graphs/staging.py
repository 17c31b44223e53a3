"""Multi-step SQL as temporary tables, dropped afterwards whatever happens.

Written as one statement, the edge aggregations leave DuckDB's optimiser to guess the sizes
of intermediate results, and at tens of millions of events a wrong guess (joining two
per-window totals on the window before the few edges that select them) multiplies rows by
the thousand and spills until the disk is full. Steps materialised one by one give the
optimiser real cardinalities, and each big intermediate is computed once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from custodes.store.events import EventStore

Step = tuple[str, str]  # (temporary table, SELECT that fills it)


@contextmanager
def staged(store: EventStore, steps: list[Step]) -> Iterator[None]:
    try:
        for name, sql in steps:
            store.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
        yield
    finally:
        for name, _ in reversed(steps):
            store.execute(f"DROP TABLE IF EXISTS {name}")
