"""The CLI as users and pipelines call it: exit codes, stable JSON, env settings, docs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from custodes.cli.app import app
from custodes.store.events import EventStore
from tests.ingest.files import event_rows, write_csv

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _custodes(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "custodes", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def test_ingest_reports_json_summary_and_exit_code_1_when_a_file_fails(tmp_path: Path) -> None:
    good = write_csv(tmp_path / "good.csv", event_rows(12))
    bad = tmp_path / "bad.csv"
    bad.write_text("event_id,ts\n1,2026-01-05\n")
    data = tmp_path / "data"
    result = runner.invoke(
        app, ["ingest", "events", str(good), str(bad), "--data-dir", str(data), "--format", "json"]
    )
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["stored"] == 12
    assert summary["read"] == 12
    [failed] = summary["failed_files"]
    assert failed["file"] == str(bad)
    assert "actor_id" in failed["error"]


def test_status_json_counts_every_table(tmp_path: Path) -> None:
    data = tmp_path / "data"
    runner.invoke(
        app,
        [
            "ingest",
            "events",
            str(write_csv(tmp_path / "e.csv", event_rows(7))),
            "--data-dir",
            str(data),
        ],
    )
    result = runner.invoke(app, ["status", "--data-dir", str(data), "--format", "json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert set(status["tables"]) == {
        "events",
        "people",
        "accounts",
        "tickets",
        "labels",
        "quarantine",
        "ingest_runs",
        "ingest_files",
        "alerts",
        "alert_verdicts",
    }
    assert status["tables"]["events"] == 7
    assert status["tables"]["ingest_runs"] == 1
    assert status["latest_runs"][0]["status"] == "completed"


def test_status_of_an_empty_data_dir_is_all_zero(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["status", "--data-dir", str(tmp_path / "none"), "--format", "json"]
    )
    assert result.exit_code == 0
    assert set(json.loads(result.stdout)["tables"].values()) == {0}


def test_data_dir_from_environment(tmp_path: Path) -> None:
    data = tmp_path / "from-env"
    env = {"CUSTODES_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"}
    path = write_csv(tmp_path / "e.csv", event_rows(3))
    assert _custodes("ingest", "events", str(path), env=env).returncode == 0
    assert (data / "events.duckdb").exists()
    out = _custodes("status", "--format", "json", env=env)
    assert json.loads(out.stdout)["tables"]["events"] == 3


def test_export_writes_parquet_that_round_trips(tmp_path: Path) -> None:
    data = tmp_path / "data"
    runner.invoke(
        app,
        [
            "ingest",
            "events",
            str(write_csv(tmp_path / "e.csv", event_rows(9))),
            "--data-dir",
            str(data),
        ],
    )
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["export", "--out", str(out), "--table", "events", "--data-dir", str(data), "-f", "json"],
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(out / "events.parquet")
    assert table.num_rows == 9
    assert "run_id" not in table.column_names
    assert table.column("ts").to_pylist() == sorted(table.column("ts").to_pylist())


def test_unusable_input_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    result = _custodes(
        "ingest", "events", str(tmp_path / "missing.csv"), "--data-dir", str(tmp_path / "d")
    )
    assert result.returncode == 2
    assert "missing.csv" in result.stderr
    assert "no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_store_in_use_by_another_process_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with EventStore.open(data):
        result = _custodes("status", "--data-dir", str(data))
    assert result.returncode == 2
    assert "in use by another custodes process" in result.stderr


def test_format_csv_and_jsonl_outputs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = str(write_csv(tmp_path / "e.csv", event_rows(2)))
    as_csv = runner.invoke(app, ["ingest", "events", path, "--data-dir", str(data), "-f", "csv"])
    header, row = as_csv.stdout.strip().splitlines()
    assert header.split(",")[:5] == ["run_id", "files", "read", "stored", "duplicate"]
    assert row.split(",")[2:5] == ["2", "2", "0"]
    as_jsonl = runner.invoke(app, ["status", "--data-dir", str(data), "-f", "jsonl"])
    assert len(as_jsonl.stdout.strip().splitlines()) == 1


def test_every_command_in_the_readme_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = set(
        re.findall(
            r"`custodes ([a-z]+(?: (?:events|people|accounts|tickets|labels|cert))?)", readme
        )
    )
    assert {"demo", "simulate", "status", "export", "ingest cert"} <= commands
    for command in sorted(commands):
        words = command.split()
        if words[0] == "ingest" and len(words) == 1:
            continue
        result = runner.invoke(app, [*words, "--help"])
        assert result.exit_code == 0, f"`custodes {command}` in README: {result.output}"


@pytest.mark.parametrize("entity", ["events", "people", "accounts", "tickets", "labels"])
def test_ingest_subcommands_exist_for_every_contract_entity(entity: str) -> None:
    assert runner.invoke(app, ["ingest", entity, "--help"]).exit_code == 0
