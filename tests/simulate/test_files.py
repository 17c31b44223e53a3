"""Parquet and CSV sinks write readable, contract-shaped files; runs are reproducible."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from custodes.model.arrow import arrow_schema
from custodes.simulate import SimulationConfig, open_sink, simulate
from custodes.simulate.files import ROW_GROUP

TABLES = ("events", "people", "accounts", "tickets", "labels")
SMALL = SimulationConfig(staff=40, days=5, seed=21, volume=0.4)
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def write(fmt: str, out: Path, config: SimulationConfig = SMALL) -> Path:
    sink = open_sink(fmt, out)
    simulate(config, sink)
    sink.close()
    return out


def read_strings(folder: Path, entity: str) -> pa.Table:
    """A CSV file with every column as text, empty fields as nulls."""
    names = arrow_schema(entity).names
    options = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True
    )
    return pacsv.read_csv(folder / f"{entity}.csv", convert_options=options)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def parquet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write("parquet", tmp_path_factory.mktemp("parquet"))


@pytest.fixture(scope="module")
def csv_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write("csv", tmp_path_factory.mktemp("csv"))


def test_parquet_files_have_the_contract_schemas(parquet_dir: Path) -> None:
    for entity in TABLES:
        table = pq.read_table(parquet_dir / f"{entity}.parquet")
        assert table.schema.equals(arrow_schema(entity)), entity
        assert table.num_rows > 0, entity
    meta = pq.ParquetFile(parquet_dir / "events.parquet").metadata
    assert meta.num_row_groups >= SMALL.days
    assert max(meta.row_group(i).num_rows for i in range(meta.num_row_groups)) <= ROW_GROUP
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_csv_files_have_the_contract_columns_and_text_conventions(csv_dir: Path) -> None:
    for entity in TABLES:
        table = read_strings(csv_dir, entity)
        assert table.column_names == arrow_schema(entity).names, entity
        assert table.num_rows > 0
    events = read_strings(csv_dir, "events")
    assert all(ISO_UTC.match(ts) for ts in events.column("ts").to_pylist())
    for attrs in events.column("attrs").to_pylist()[:2000]:
        assert attrs is None or isinstance(json.loads(attrs), dict)
    conflicts = read_strings(csv_dir, "accounts").column("conflict_actor_ids").to_pylist()
    declared = [c for c in conflicts if c]
    assert declared
    assert all(re.match(r"^u\d{4}(;u\d{4})*$", c) for c in declared)


def test_csv_and_parquet_hold_the_same_events(parquet_dir: Path, csv_dir: Path) -> None:
    from_parquet = pq.read_table(parquet_dir / "events.parquet")
    from_csv = read_strings(csv_dir, "events")
    assert from_csv.num_rows == from_parquet.num_rows
    assert from_csv.column("event_id").to_pylist() == from_parquet.column("event_id").to_pylist()
    first = from_parquet.column("ts")[0].as_py().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert from_csv.column("ts")[0].as_py() == first


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_escalations_go_to_jsonl(fmt: str, parquet_dir: Path, csv_dir: Path) -> None:
    folder = parquet_dir if fmt == "parquet" else csv_dir
    lines = (folder / "escalations.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines
    names = arrow_schema("escalations").names
    for line in lines:
        record = json.loads(line)
        assert list(record) == names
        assert ISO_UTC.match(record["received_at"])
        assert isinstance(record["attrs"], dict) and isinstance(record["subject_ids"], list)
        assert record["body"]
    assert not (folder / "escalations.parquet").exists()
    assert not (folder / "escalations.csv").exists()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = digests(write("parquet", tmp_path / "a"))
    b = digests(write("parquet", tmp_path / "b"))
    assert a == b
    other = SimulationConfig(staff=SMALL.staff, days=SMALL.days, seed=22, volume=SMALL.volume)
    c = digests(write("parquet", tmp_path / "c", other))
    assert a.keys() == c.keys()
    assert all(a[name] != c[name] for name in ("events.parquet", "labels.parquet",
                                              "escalations.jsonl"))  # fmt: skip


def test_output_does_not_depend_on_the_process(tmp_path: Path, parquet_dir: Path) -> None:
    """Another interpreter with another hash seed writes the very same bytes."""
    script = (
        "import sys, datetime; from pathlib import Path;"
        "from custodes.simulate import SimulationConfig, open_sink, simulate;"
        f"s = open_sink('parquet', Path(sys.argv[1])); simulate({SMALL!r}, s); s.close()"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, env=env)
    assert digests(tmp_path) == digests(parquet_dir)


def test_csv_output_is_deterministic_too(tmp_path: Path, csv_dir: Path) -> None:
    assert digests(write("csv", tmp_path / "again")) == digests(csv_dir)


def test_unknown_format_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown output format 'xlsx'"):
        open_sink("xlsx", tmp_path)


def test_sinks_refuse_tables_that_are_not_contract_shaped(tmp_path: Path) -> None:
    sink = open_sink("parquet", tmp_path)
    with pytest.raises(ValueError, match="people"):
        sink.write_table("people", pa.table({"actor_id": ["u1"]}))
    with pytest.raises(ValueError, match="unknown entity"):
        sink.write_table("cases", pa.table({"x": [1]}))
    sink.close()


def test_cert_format_keeps_escalations_as_jsonl(tmp_path: Path) -> None:
    pytest.importorskip("custodes.simulate.cert")
    sink = open_sink("cert", tmp_path)
    simulate(SimulationConfig(staff=20, days=2, seed=2, volume=0.3), sink)
    sink.close()
    assert (tmp_path / "escalations.jsonl").read_text(encoding="utf-8").strip()
