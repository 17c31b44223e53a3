"""The Spark engine: the same feature statements, transpiled, over Parquet inputs.

Each ``CREATE TEMP TABLE`` becomes a checkpointed DataFrame behind a temp view of that
name, computed when the statement runs (later statements read it several times, and an error
should surface at the statement that caused it). An ``INSERT INTO`` targets the event
store: its query runs on Spark and the rows (the features: one per actor-day, small next
to the events) come back to the driver as Arrow and are appended to the store, where the
detectors read them single-node.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from custodes.detect.engine.dialect import parse, to_spark, to_spark_tree
from custodes.errors import CustodesError
from custodes.store.events import EventStore

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_ROWS = "fx_engine_rows"
_log = logging.getLogger(__name__)


class SparkEngine:
    name = "spark"

    def __init__(
        self, session: SparkSession, store: EventStore, *, log: Path | None = None
    ) -> None:
        """``session`` must see the input tables (``inputs.register_inputs``) before the
        first statement; ``log`` is where errors send the reader for Spark's details."""
        self.session = session
        self.store = store
        self.log = log
        self._tables: dict[str, DataFrame] = {}

    def execute(self, sql: str) -> None:
        tree = parse(sql)
        if isinstance(tree, exp.Create) and _is_temp_table(tree):
            name = _name(tree)
            query = tree.expression
            if not isinstance(query, exp.Query):
                raise ValueError(f"CREATE TEMP TABLE {name} needs AS query")
            self._create(name, to_spark_tree(query).sql(dialect="spark"))
        elif isinstance(tree, exp.Drop) and str(tree.args.get("kind", "")).upper() == "TABLE":
            for table in tree.args.get("tables") or [tree.this]:
                self._drop(_name(table))
        elif isinstance(tree, exp.Insert) and isinstance(tree.expression, exp.Query):
            self._insert(tree.this, tree.expression)
        else:
            raise ValueError(
                f"the Spark engine runs CREATE TEMP TABLE, DROP TABLE and INSERT, not: {sql}"
            )

    def _create(self, name: str, query: str) -> None:
        self._drop(name)
        started = time.perf_counter()
        try:
            frame = self._materialise(self._sql(query, name))
        except Exception as exc:
            raise self._error(name, exc) from exc
        frame.createOrReplaceTempView(name)
        self._tables[name] = frame
        _log.debug("%s in %.1f s", name, time.perf_counter() - started)

    def _materialise(self, frame: DataFrame) -> DataFrame:
        """Computed now, with its lineage cut: a temp table's plan otherwise carries every
        query it came from, and the optimiser's time grows with that (the final join of
        nine tables took 35 times longer on plain cached frames). A checkpoint directory
        configured on the session (``spark.checkpoint.dir``, shared storage) makes it
        survive losing an executor; without one the blocks live on the executors."""
        from pyspark import StorageLevel

        if self.session.sparkContext.getCheckpointDir():
            return frame.checkpoint(eager=True)
        return frame.localCheckpoint(eager=True, storageLevel=StorageLevel.MEMORY_AND_DISK)

    def _drop(self, name: str) -> None:
        frame = self._tables.pop(name, None)
        if frame is not None:
            frame.unpersist()
        self.session.catalog.dropTempView(name)

    def close(self) -> None:
        """Release every temp table this engine still holds."""
        for name in list(self._tables):
            self._drop(name)

    def fetch_value(self, sql: str) -> Any:
        rows = self._run(sql, lambda f: f.take(1))
        return rows[0][0] if rows else None

    def columns(self, table: str) -> list[str]:
        return list(self.session.table(table).columns)

    def fetch_arrow(self, sql: str) -> pa.Table:
        table: pa.Table = self._run(sql, lambda f: f.toArrow())
        return table

    def _insert(self, target: exp.Expr, query: exp.Query) -> None:
        """Rows computed here, appended to the store's table by position."""
        started = time.perf_counter()
        rows = self.fetch_arrow(query.sql(dialect="duckdb"))
        _log.debug("insert: %d rows in %.1f s", rows.num_rows, time.perf_counter() - started)
        self.store.register(_ROWS, rows)
        try:
            into = target.sql(dialect="duckdb")
            self.store.execute(f"INSERT INTO {into} SELECT * FROM {_ROWS}")
        finally:
            self.store.unregister(_ROWS)

    def _sql(self, query: str, what: str) -> DataFrame:
        try:
            return self.session.sql(query)
        except Exception as exc:
            raise self._error(what, exc) from exc

    def _run(self, sql: str, action: Any) -> Any:
        frame = self._sql(to_spark(sql), "a query")
        try:
            return action(frame)
        except Exception as exc:
            raise self._error("a query", exc) from exc

    def _error(self, what: str, exc: Exception) -> CustodesError:
        """One line saying which statement failed and Spark's first line of why."""
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        where = f" (Spark's log: {self.log})" if self.log else ""
        return CustodesError(f"Spark failed computing {what}: {first}{where}")


def _is_temp_table(tree: exp.Create) -> bool:
    kind = str(tree.args.get("kind", "")).upper()
    props = tree.args.get("properties")
    temporary = props is not None and any(
        isinstance(p, exp.TemporaryProperty) for p in props.expressions
    )
    return kind == "TABLE" and temporary


def _name(tree: exp.Expr) -> str:
    """The table a CREATE names, or the name of a table reference."""
    target = tree if isinstance(tree, exp.Table) else tree.this
    if isinstance(target, exp.Schema):
        target = target.this
    if not isinstance(target, exp.Table):
        raise ValueError(f"no table name in {tree.sql('duckdb')}")
    return target.name
