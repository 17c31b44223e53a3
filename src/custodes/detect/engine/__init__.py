"""Where the feature SQL runs: the event store's DuckDB (default) or Apache Spark.

``open_engine("duckdb" | "spark", store, ...)`` gives an :class:`Engine` for
``build_features``/``run_detection``; the Spark one is a context that starts and stops its
session. The feature SQL is written once, for DuckDB; ``dialect`` rewrites it for Spark.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from custodes.detect.engine.base import Engine
from custodes.detect.engine.embedded import DuckDBEngine
from custodes.detect.engine.session import DEFAULT_MASTER, is_local
from custodes.errors import InputError
from custodes.store.events import EventStore

ENGINES: Final = ("duckdb", "spark")

__all__ = ["DEFAULT_MASTER", "ENGINES", "DuckDBEngine", "Engine", "open_engine"]


@contextmanager
def open_engine(
    name: str,
    store: EventStore,
    *,
    master: str = DEFAULT_MASTER,
    spark_input: str | None = None,
) -> Iterator[Engine]:
    """The named engine over ``store``.

    Spark reads Parquet: in local mode (and without ``spark_input``) the store's input
    tables are exported under the data dir first; a cluster master needs ``spark_input``,
    Parquet it can read, holding the same data as the store (evidence for alerts is still
    looked up in the store).
    """
    if name == "duckdb":
        yield DuckDBEngine(store)
        return
    if name != "spark":
        raise InputError(f"unknown engine {name!r}; engines: {', '.join(ENGINES)}")
    if spark_input is None and not is_local(master):
        raise InputError(
            f"--spark-master {master} is a cluster: pass --spark-input with Parquet copies "
            "of the events, people, accounts and tickets tables that it can read"
        )
    from custodes.detect.engine.inputs import export_inputs, register_inputs
    from custodes.detect.engine.session import LOG_FILE, running, start_session
    from custodes.detect.engine.spark import SparkEngine

    scratch = store.path.parent / "spark"
    owned = not running()  # a session that was here before is someone else's to stop
    # Started first: a missing Java should not wait for gigabytes of export.
    session = start_session(master, scratch)
    engine = SparkEngine(session, store, log=scratch / LOG_FILE)
    try:
        location = spark_input or str(export_inputs(store, scratch / "input"))
        register_inputs(session, location)
        yield engine
    finally:
        engine.close()
        if owned:
            session.stop()
