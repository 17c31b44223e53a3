"""`custodes demo` end to end: simulate, ingest, summarise — README command one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb

from custodes.model.vocabulary import SCENARIOS

ENTITIES = ("events", "people", "accounts", "tickets", "labels")


def _demo(data: Path) -> dict[str, Any]:
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
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def test_demo_simulates_ingests_and_summarises(tmp_path: Path) -> None:
    data = tmp_path / "data"
    summary = _demo(data)
    tables = summary["tables"]
    # Everything the simulator wrote is in the store, and nothing was quarantined.
    inputs = data / "demo-input"
    con = duckdb.connect()
    for name in ENTITIES:
        written = con.execute(f"SELECT count(*) FROM '{inputs / (name + '.parquet')}'").fetchone()
        assert written is not None
        assert tables[name] == written[0], name
    assert summary["simulated_events"] == tables["events"]
    assert summary["stored"] == sum(tables[n] for n in ENTITIES)
    assert tables["quarantine"] == 0
    assert {s["scenario"] for s in summary["scenarios"]} == set(SCENARIOS)
    families = {f["family"] for f in summary["families"]}
    assert {"session", "moderation", "data_access"} <= families

    # Running the demo again over the same store adds nothing.
    assert _demo(data)["tables"]["events"] == tables["events"]
