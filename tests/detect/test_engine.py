"""Engine plumbing that needs no Spark: choosing an engine, the Spark session settings,
Java and PySpark checks, the Parquet export Spark reads, and the CI policy for Spark tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from custodes.detect.engine import DuckDBEngine, open_engine
from custodes.detect.engine.inputs import TABLES, export_inputs, spark_type
from custodes.detect.engine.session import (
    check_java,
    is_local,
    java_major,
    session_conf,
    start_session,
)
from custodes.errors import CustodesError, InputError
from custodes.model.schema import INGESTIBLE, Kind
from custodes.store.events import EventStore
from tests import conftest
from tests.detect.test_features import Org


def test_duckdb_is_the_store_itself(store: EventStore) -> None:
    with open_engine("duckdb", store) as engine:
        assert isinstance(engine, DuckDBEngine)
        engine.execute("CREATE OR REPLACE TEMP TABLE fx_t AS SELECT 41 + 1 AS x")
        assert engine.columns("fx_t") == ["x"]
        assert engine.fetch_value("SELECT x FROM fx_t") == 42
    assert store.fetch_value("SELECT x FROM fx_t") == 42


def test_unknown_engine_is_an_input_error(store: EventStore) -> None:
    with pytest.raises(InputError, match="unknown engine 'polars'"), open_engine("polars", store):
        pass


def test_a_cluster_master_needs_parquet_it_can_read(store: EventStore) -> None:
    with (
        pytest.raises(InputError, match="--spark-input"),
        open_engine("spark", store, master="spark://10.0.0.5:7077"),
    ):
        pass


@pytest.mark.parametrize(
    ("banner", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_402"', 8),
        ("no banner", None),
    ],
)
def test_java_major_version(banner: str, major: int | None) -> None:
    assert java_major(banner) == major


def test_missing_java_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(CustodesError, match=r"Java 17 or newer.*openjdk-17-jre-headless"):
        check_java()


def test_old_java_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\necho 'java version \"1.8.0_402\"' >&2\n")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    with pytest.raises(CustodesError, match="found 8"):
        check_java()


def test_missing_pyspark_says_install_the_spark_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # import fails
    with pytest.raises(CustodesError, match="spark extra"):
        start_session("local[1]", tmp_path)


def test_local_sessions_stay_on_this_machine_quiet_and_in_utc(tmp_path: Path) -> None:
    log = tmp_path / "log4j2.properties"
    conf = session_conf("local[2]", tmp_path, log)
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert conf["spark.driver.bindAddress"] == conf["spark.driver.host"] == "127.0.0.1"
    assert conf["spark.ui.enabled"] == conf["spark.ui.showConsoleProgress"] == "false"
    assert conf["spark.sql.shuffle.partitions"] == "4"
    assert log.as_uri() in conf["spark.driver.extraJavaOptions"]


def test_cluster_sessions_keep_the_clusters_network_and_sizing(tmp_path: Path) -> None:
    conf = session_conf("spark://10.0.0.5:7077", tmp_path, tmp_path / "log4j2.properties")
    assert conf["spark.sql.session.timeZone"] == "UTC"
    for local_only in ("spark.driver.host", "spark.driver.bindAddress", "spark.driver.memory"):
        assert local_only not in conf
    assert "spark.sql.shuffle.partitions" not in conf
    assert is_local("local") and is_local("local[*]") and not is_local("yarn")


def test_contract_types_map_to_spark_types() -> None:
    kinds = {f.name: spark_type(f.kind) for f in INGESTIBLE["events"].fields}
    assert kinds["ts"] == "timestamp"
    assert kinds["bytes"] == "bigint"
    assert kinds["attrs"] == "string"
    assert spark_type(Kind.LIST) == "array<string>"


def test_export_writes_each_input_once_until_an_ingest_changes_it(
    store: EventStore, tmp_path: Path
) -> None:
    org = Org()
    org.person("m")
    org.event("2026-01-05T10:00:00Z", "m", "login")
    org.load(store, tmp_path / "in")
    out = tmp_path / "spark-input"
    export_inputs(store, out)
    files = {t: out / f"{t}.parquet" for t in TABLES}
    assert pq.read_table(files["events"]).num_rows == 1
    assert "run_id" not in pq.read_schema(files["events"]).names
    assert pq.read_table(files["accounts"]).num_rows == 0  # empty tables keep their columns
    stamps = {t: f.stat().st_mtime_ns for t, f in files.items()}
    export_inputs(store, out)
    assert {t: f.stat().st_mtime_ns for t, f in files.items()} == stamps
    org.event("2026-01-05T11:00:00Z", "m", "logout")
    org.load(store, tmp_path / "in2")
    export_inputs(store, out)
    assert pq.read_table(files["events"]).num_rows == 2


def test_missing_spark_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "spark_missing", lambda: "no java")
    monkeypatch.setenv("CUSTODES_REQUIRE_SPARK", "1")
    with pytest.raises(pytest.fail.Exception, match="CUSTODES_REQUIRE_SPARK"):
        conftest.require_spark()


def test_missing_spark_skips_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "spark_missing", lambda: "no java")
    monkeypatch.delenv("CUSTODES_REQUIRE_SPARK", raising=False)
    with pytest.raises(pytest.skip.Exception):
        conftest.require_spark()


def test_cli_refuses_an_unknown_engine_and_a_cluster_without_input(data_dir: Path) -> None:
    from typer.testing import CliRunner

    from custodes.cli.app import app

    runner = CliRunner()
    bad = runner.invoke(app, ["detect", "--engine", "polars", "--data-dir", str(data_dir)])
    assert isinstance(bad.exception, InputError)
    assert "duckdb, spark" in str(bad.exception)
    cluster = runner.invoke(
        app,
        ["detect", "--engine", "spark", "--data-dir", str(data_dir)],
        env={"CUSTODES_SPARK_MASTER": "spark://10.0.0.5:7077"},
    )
    assert isinstance(cluster.exception, InputError)
    assert "--spark-input" in str(cluster.exception)
