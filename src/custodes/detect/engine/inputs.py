"""What Spark reads: the contract tables the feature SQL uses, as Parquet.

Local mode exports them from the event store into the data dir (``spark-input/``) and
reuses that copy while the store's tables are unchanged (same row counts and latest ingest
run), so a second ``detect`` does not rewrite gigabytes. A real cluster cannot see the
local store: the user points ``--spark-input`` at Parquet the cluster can read, one
``<table>.parquet`` (file or folder) or ``<table>/`` folder per table; only ``events`` is
required. Either way each table is read with exactly the contract's columns and types
(missing optional columns are NULL, extra ones ignored), so the feature SQL sees the same
shape as in DuckDB.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Final

from custodes.errors import CustodesError
from custodes.model.schema import INGESTIBLE, Entity, Kind
from custodes.store.events import EventStore

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TABLES: Final = ("events", "people", "accounts", "tickets")
STAMP: Final = "stamp.json"

_SPARK_TYPES: Final[dict[Kind, str]] = {
    Kind.TIMESTAMP: "timestamp",
    Kind.DATE: "date",
    Kind.INTEGER: "bigint",
    Kind.BOOLEAN: "boolean",
    Kind.LIST: "array<string>",
}


def spark_type(kind: Kind) -> str:
    """The Spark SQL type a contract field is read as (JSON stays text, as in Parquet)."""
    return _SPARK_TYPES.get(kind, "string")


def export_inputs(store: EventStore, folder: Path) -> Path:
    """Write the input tables to ``folder`` as Parquet unless the copy there is current."""
    stamp = _stamp(store)
    marker = folder / STAMP
    if marker.exists() and json.loads(marker.read_text(encoding="utf-8")) == stamp:
        return folder
    marker.unlink(missing_ok=True)  # a half-written copy must never look current
    for table in TABLES:
        store.export_parquet(table, folder / f"{table}.parquet")
    marker.write_text(json.dumps(stamp), encoding="utf-8")
    return folder


def _stamp(store: EventStore) -> dict[str, list[int]]:
    """Row count and newest ingest run per table: ingest is the only writer of these."""
    stamp: dict[str, list[int]] = {}
    for table in TABLES:
        row = store.fetch_one(f"SELECT count(*), coalesce(max(run_id), -1) FROM {table}")
        stamp[table] = [int(v) for v in row] if row else [0, -1]
    return stamp


def register_inputs(session: SparkSession, location: str) -> None:
    """Temp views ``events``, ``people``, ``accounts``, ``tickets`` over the Parquet at
    ``location`` (a local folder or any URL the cluster reads: hdfs://, s3a://, ...)."""
    for table in TABLES:
        entity = INGESTIBLE[table]
        frame = _read(session, location, table)
        if frame is None:
            if table == "events":
                raise CustodesError(
                    f"no events Parquet under {location}: expected events.parquet or events/"
                )
            frame = session.createDataFrame([], _schema(entity))
        _conform(frame, entity).createOrReplaceTempView(table)


def _read(session: SparkSession, location: str, table: str) -> DataFrame | None:
    from pyspark.errors import AnalysisException

    base = location.rstrip("/")
    for candidate in (f"{base}/{table}.parquet", f"{base}/{table}"):
        try:
            return session.read.parquet(candidate)
        except AnalysisException as exc:
            if "PATH_NOT_FOUND" not in str(exc) and "does not exist" not in str(exc):
                raise CustodesError(f"cannot read {candidate} with Spark: {exc}") from exc
    return None


def _schema(entity: Entity) -> str:
    return ", ".join(f"`{f.name}` {spark_type(f.kind)}" for f in entity.fields)


def _conform(frame: DataFrame, entity: Entity) -> DataFrame:
    """Exactly the contract's columns, cast to their types; absent ones are NULL."""
    from pyspark.sql import functions as F

    present = set(frame.columns)
    columns = [
        (F.col(f"`{f.name}`") if f.name in present else F.lit(None))
        .cast(spark_type(f.kind))
        .alias(f.name)
        for f in entity.fields
    ]
    return frame.select(*columns)
