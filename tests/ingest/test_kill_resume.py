"""kill -9 in the middle of an ingest: the store keeps whole files only, and re-running the
same command completes it with nothing duplicated and nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from custodes.store.events import EventStore

ROWS = (20_000, 400_000, 20_000)


def _write(path: Path, offset: int, n: int) -> None:
    ids = pa.array([f"k{offset + i}" for i in range(n)])
    table = pa.table(
        {
            "event_id": ids,
            "ts": pa.array([f"2026-02-{1 + (i % 28):02d}T{i % 24:02d}:00:00Z" for i in range(n)]),
            "actor_id": pa.array([f"u{i % 500}" for i in range(n)]),
            "action": pa.array(["review_decision"] * n),
            "duration_ms": pa.array(list(range(n))),
        }
    )
    pacsv.write_csv(table, path)


def _command(data_dir: Path, files: list[Path]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "custodes",
        "ingest",
        "events",
        *map(str, files),
        "--data-dir",
        str(data_dir),
    ]


@pytest.mark.slow
def test_kill_mid_file_then_rerun_completes_exactly(tmp_path: Path) -> None:
    files, offset = [], 0
    for i, n in enumerate(ROWS):
        path = tmp_path / f"part{i}.csv"
        _write(path, offset, n)
        files.append(path)
        offset += n
    data_dir = tmp_path / "data"
    with subprocess.Popen(
        _command(data_dir, files), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stderr is not None
        # Wait until the first file is committed, then kill while the big second file is in
        # flight.
        while True:
            line = proc.stderr.readline()
            assert line, "the ingest ended before reporting its first file"
            if "part0.csv" in line:
                break
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with EventStore.open(data_dir) as store:
        after_kill = store.fetch_value("SELECT count(*) FROM events")
        files_done = store.fetch_value("SELECT count(*) FROM ingest_files")
    # Only whole files: the killed file left nothing half-written behind.
    assert after_kill in (ROWS[0], ROWS[0] + ROWS[1]), after_kill
    assert after_kill < sum(ROWS), "the kill came too late to test anything"
    assert files_done in (1, 2)

    rerun = subprocess.run(_command(data_dir, files), capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    with EventStore.open(data_dir) as store:
        total, distinct = store.fetch_one(
            "SELECT count(*), count(DISTINCT event_id) FROM events"
        ) or (0, 0)
        statuses = [r[0] for r in store.fetch_all("SELECT status FROM ingest_runs ORDER BY run_id")]
    assert total == distinct == sum(ROWS)
    assert statuses == ["interrupted", "completed"]


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.05, 0.4, 0.9])
def test_kill_at_any_moment_is_recoverable(tmp_path: Path, delay: float) -> None:
    path = tmp_path / "one.csv"
    _write(path, 0, 300_000)
    data_dir = tmp_path / "data"
    with subprocess.Popen(
        _command(data_dir, [path]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as proc:
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    if (data_dir / "events.duckdb").exists():
        with EventStore.open(data_dir) as store:
            assert store.fetch_value("SELECT count(*) FROM events") in (0, 300_000)
    rerun = subprocess.run(_command(data_dir, [path]), capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    with EventStore.open(data_dir) as store:
        assert store.fetch_one("SELECT count(*), count(DISTINCT event_id) FROM events") == (
            300_000,
            300_000,
        )
