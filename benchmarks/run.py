"""Reproducible performance runs: simulator speed, ingest throughput, peak memory.

Each measurement runs the real CLI in a child process and reads the child's own peak RSS
from ``wait4``, so numbers include start-up and are what a user sees. Results are printed as
Markdown rows for ``benchmarks/RESULTS.md`` and saved as JSON under ``benchmarks/.data``.

    uv run python -m benchmarks.run --staff 1000 --days 17     # ≈1M events
    uv run python -m benchmarks.run --staff 1000 --days 500    # ≈30M events
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent
WORK = ROOT / ".data"


@dataclass
class Measurement:
    what: str
    rows: int
    seconds: float
    rows_per_second: float
    peak_rss_mib: float
    command: str


def _measure(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(args)} failed ({code}):\n{stderr}")
    return elapsed, usage.ru_maxrss / 1024


def _custodes(*args: str) -> list[str]:
    return [sys.executable, "-m", "custodes", *args]


def _shown(cmd: list[str]) -> str:
    """The command as a user types it, with paths relative to the repository."""
    words = [w.replace(str(ROOT.parent) + "/", "") for w in cmd[3:]]
    return "custodes " + " ".join(words)


def _count(path: Path) -> int:
    con = duckdb.connect()
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    return int(con.execute(f"SELECT count(*) FROM {reader}('{path}')").fetchone()[0])  # type: ignore[index]


def run(staff: int, days: int, seed: int, keep: bool) -> list[Measurement]:
    tag = f"s{staff}-d{days}"
    base = WORK / tag
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    results = []

    sim = ["--staff", str(staff), "--days", str(days), "--seed", str(seed)]
    parquet, csv = base / "sim-parquet", base / "sim-csv"
    events_file = {"Parquet": parquet / "events.parquet", "CSV": csv / "events.csv"}
    steps = [
        ("simulate → Parquet", _custodes("simulate", *sim, "--out", str(parquet))),
        ("simulate → CSV", _custodes("simulate", *sim, "--out", str(csv), "--out-format", "csv")),
        *(
            (
                f"ingest events from {label}",
                _custodes(
                    "ingest", "events", str(path), "--data-dir", str(base / f"store-{label}")
                ),
            )
            for label, path in events_file.items()
        ),
        # Re-ingesting the same file: all duplicates, the idempotence path.
        (
            "re-ingest same Parquet (all duplicate)",
            _custodes(
                "ingest",
                "events",
                str(events_file["Parquet"]),
                "--data-dir",
                str(base / "store-Parquet"),
            ),
        ),
    ]
    events = 0
    for what, cmd in steps:
        seconds, rss = _measure(cmd)
        events = events or _count(events_file["Parquet"])
        results.append(Measurement(what, events, seconds, events / seconds, rss, _shown(cmd)))

    (WORK / f"{tag}.json").write_text(
        json.dumps(
            {
                "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores",
                "python": platform.python_version(),
                "duckdb": duckdb.__version__,
                "results": [asdict(r) for r in results],
            },
            indent=2,
        )
    )
    if not keep:
        shutil.rmtree(base, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--staff", type=int, default=1000)
    parser.add_argument("--days", type=int, default=17)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="keep generated data and stores")
    args = parser.parse_args()
    results = run(args.staff, args.days, args.seed, args.keep)
    print("| what | events | seconds | events/s | peak RSS MiB | command |")
    print("|---|---:|---:|---:|---:|---|")
    for r in results:
        print(
            f"| {r.what} | {r.rows:,} | {r.seconds:.1f} | {r.rows_per_second:,.0f} | "
            f"{r.peak_rss_mib:,.0f} | `{r.command}` |"
        )


if __name__ == "__main__":
    main()
