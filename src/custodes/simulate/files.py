"""Sinks that write a simulation to disk as Parquet or CSV (escalations always as JSONL).

Events are streamed: each batch becomes a Parquet row group or a run of CSV lines and is
then dropped, so memory does not grow with the number of days.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from custodes.model.arrow import arrow_schema
from custodes.model.schema import ALL_ENTITIES
from custodes.simulate.sink import Sink

FORMATS: Final = ("parquet", "csv", "cert")
ROW_GROUP: Final = 1_000_000
ESCALATIONS_FILE: Final = "escalations.jsonl"


def _check(entity: str, schema: pa.Schema) -> None:
    if entity not in ALL_ENTITIES:
        raise ValueError(f"unknown entity {entity!r}; known: {sorted(ALL_ENTITIES)}")
    expected = arrow_schema(entity)
    if not schema.equals(expected):
        raise ValueError(f"{entity}: schema {schema} differs from the contract's {expected}")


def _iso(value: object) -> object:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_escalations_jsonl(table: pa.Table, path: Path) -> None:
    """One JSON object per line, contract field order, ``attrs`` as a nested object."""
    _check("escalations", table.schema)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for row in table.to_pylist():
            record = {k: _iso(v) for k, v in row.items()}
            if record.get("attrs") is not None:
                record["attrs"] = json.loads(str(record["attrs"]))
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def csv_columns(data: pa.RecordBatch | pa.Table) -> pa.Table:
    """Contract columns rendered as CSV text: ISO-8601 UTC timestamps, ``;``-joined lists."""
    columns = []
    for name, col in zip(data.schema.names, data.columns, strict=True):
        if pa.types.is_timestamp(col.type):
            col = pc.strftime(col.cast(pa.timestamp("s"), safe=False), format="%Y-%m-%dT%H:%M:%SZ")
        elif pa.types.is_list(col.type):
            col = pc.binary_join(col, ";")
        columns.append(col)
        del name
    return pa.Table.from_arrays(columns, names=data.schema.names)


class _EscalationsAsJsonl:
    """Routes escalations to ``escalations.jsonl`` whatever the other files' format."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.out_dir = out_dir

    def _escalations(self, entity: str, table: pa.Table) -> bool:
        if entity != "escalations":
            return False
        write_escalations_jsonl(table, self.out_dir / ESCALATIONS_FILE)
        return True


class ParquetSink(_EscalationsAsJsonl):
    def __init__(self, out_dir: Path) -> None:
        super().__init__(out_dir)
        self._writer = pq.ParquetWriter(
            out_dir / "events.parquet", arrow_schema("events"), compression="zstd"
        )

    def write_events(self, batch: pa.RecordBatch) -> None:
        _check("events", batch.schema)
        if batch.num_rows:
            self._writer.write_batch(batch, row_group_size=ROW_GROUP)

    def write_table(self, entity: str, table: pa.Table) -> None:
        if self._escalations(entity, table):
            return
        _check(entity, table.schema)
        pq.write_table(table, self.out_dir / f"{entity}.parquet", compression="zstd")

    def close(self) -> None:
        self._writer.close()


class CsvSink(_EscalationsAsJsonl):
    _OPTIONS: Final = pacsv.WriteOptions(include_header=True, quoting_style="needed")

    def __init__(self, out_dir: Path) -> None:
        super().__init__(out_dir)
        schema = csv_columns(arrow_schema("events").empty_table()).schema
        self._writer = pacsv.CSVWriter(out_dir / "events.csv", schema, write_options=self._OPTIONS)

    def write_events(self, batch: pa.RecordBatch) -> None:
        _check("events", batch.schema)
        if batch.num_rows:
            self._writer.write_table(csv_columns(batch))

    def write_table(self, entity: str, table: pa.Table) -> None:
        if self._escalations(entity, table):
            return
        _check(entity, table.schema)
        pacsv.write_csv(csv_columns(table), self.out_dir / f"{entity}.csv", self._OPTIONS)

    def close(self) -> None:
        self._writer.close()


class _CertWithJsonl(_EscalationsAsJsonl):
    def __init__(self, inner: Sink, out_dir: Path) -> None:
        super().__init__(out_dir)
        self.inner = inner

    def write_events(self, batch: pa.RecordBatch) -> None:
        self.inner.write_events(batch)

    def write_table(self, entity: str, table: pa.Table) -> None:
        if not self._escalations(entity, table):
            self.inner.write_table(entity, table)

    def close(self) -> None:
        self.inner.close()


def open_sink(fmt: str, out_dir: Path) -> Sink:
    """A sink writing ``fmt`` files into ``out_dir`` (created if missing)."""
    out_dir = Path(out_dir)
    if fmt == "parquet":
        return ParquetSink(out_dir)
    if fmt == "csv":
        return CsvSink(out_dir)
    if fmt == "cert":
        from custodes.simulate.cert import CertSink  # type: ignore[import-not-found,unused-ignore]

        return _CertWithJsonl(CertSink(out_dir), out_dir)
    raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
