"""`custodes demo` end to end: simulate, ingest, summarise — README command one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

from custodes.model.vocabulary import SCENARIOS


def test_demo_simulates_ingests_and_summarises(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "custodes",
            "demo",
            "--staff",
            "120",
            "--days",
            "14",
            "--data-dir",
            str(data),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    tables = summary["tables"]
    # Everything the simulator wrote is in the store, and nothing was quarantined.
    inputs = data / "demo-input"
    con = duckdb.connect()
    for name in ("events", "people", "accounts", "tickets", "labels"):
        written = con.execute(f"SELECT count(*) FROM '{inputs / (name + '.parquet')}'").fetchone()
        assert written is not None
        assert tables[name] == written[0], name
    assert summary["simulated_events"] == tables["events"]
    entities = ("events", "people", "accounts", "tickets", "labels")
    assert summary["stored"] == sum(tables[n] for n in entities)
    assert tables["quarantine"] == 0
    assert {s["scenario"] for s in summary["scenarios"]} == set(SCENARIOS)
    families = {f["family"] for f in summary["families"]}
    assert {"session", "moderation", "data_access"} <= families

    # Running the demo again over the same store adds nothing.
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "custodes",
            "demo",
            "--staff",
            "120",
            "--days",
            "14",
            "--data-dir",
            str(data),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["tables"]["events"] == tables["events"]
