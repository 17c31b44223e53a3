"""Detection benchmark: full `custodes detect`, then an incremental run of the last day.

The organisation is simulated to Parquet and ingested once (not timed here; `benchmarks.run`
measures ingest), then each detection runs the real CLI in a child process whose peak RSS
comes from ``wait4``. Per-stage seconds come from the run's own JSON summary.

    uv run python -m benchmarks.detect --staff 300 --days 60      # ≈1M events
    uv run python -m benchmarks.detect --staff 1000 --days 500    # ≈30M events
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
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parent
WORK = ROOT / ".data"


def _custodes(*args: str) -> list[str]:
    return [sys.executable, "-m", "custodes", *args]


def _run(args: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and stdout of one child process (RSS from wait4, so it
    is this child's own peak, not the simulate or ingest runs before it)."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(args)} failed ({code})")
    return elapsed, usage.ru_maxrss / 1024, out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--staff", type=int, default=300)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--engine", default="duckdb")
    parser.add_argument("--reuse", action="store_true", help="reuse an ingested store")
    args = parser.parse_args()

    base = WORK / f"detect-s{args.staff}-d{args.days}-seed{args.seed}"
    store = base / "store"
    if not (args.reuse and (store / "events.duckdb").exists()):
        shutil.rmtree(base, ignore_errors=True)
        sim = base / "sim"
        subprocess.run(
            _custodes(
                "simulate",
                *("--staff", str(args.staff), "--days", str(args.days)),
                *("--seed", str(args.seed), "--out", str(sim)),
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for entity in ("people", "accounts", "tickets", "labels", "events"):
            path = sim / f"{entity}.parquet"
            if path.exists():
                subprocess.run(
                    _custodes("ingest", entity, str(path), "--data-dir", str(store)),
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
    con = duckdb.connect(str(store / "events.duckdb"), read_only=True)
    events = int(con.execute("SELECT count(*) FROM events").fetchone()[0])  # type: ignore[index]
    con.close()

    rows: list[dict[str, Any]] = []
    full = _custodes("detect", "--engine", args.engine, "--data-dir", str(store), "-f", "json")
    seconds, rss, out = _run(full)
    rows.append({"what": "full detect", "wall": seconds, "peak_rss_mib": rss, **json.loads(out)})
    con = duckdb.connect(str(store / "events.duckdb"), read_only=True)
    last = con.execute("SELECT max(day) FROM features_actor_day").fetchone()[0]  # type: ignore[index]
    con.close()
    incremental = [*full[:-2], "--since", str(last), "-f", "json"]
    seconds, rss, out = _run(incremental)
    rows.append(
        {"what": "incremental (last day)", "wall": seconds, "peak_rss_mib": rss, **json.loads(out)}
    )
    summary = {
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores",
        "events": events,
        "staff": args.staff,
        "days": args.days,
        "engine": args.engine,
        "results": rows,
    }
    (WORK / f"detect-s{args.staff}-d{args.days}-{args.engine}.json").write_text(
        json.dumps(summary, indent=2, default=str)
    )
    print(f"{events:,} events, engine {args.engine}")
    for r in rows:
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in r["seconds"].items())
        print(f"| {r['what']} | {r['wall']:.1f} s | {r['peak_rss_mib']:.0f} MiB | {stages} |")


if __name__ == "__main__":
    main()
