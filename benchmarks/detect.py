"""Detection benchmark: full `custodes detect`, then an incremental run of the last day.

The organisation is simulated to Parquet and ingested once (not timed here; `benchmarks.run`
measures ingest), then each detection runs the real CLI in a child process whose peak RSS
comes from ``wait4``. Per-stage seconds come from the run's own JSON summary.

    uv run python -m benchmarks.detect --staff 300 --days 60      # ≈1M events
    uv run python -m benchmarks.detect --staff 1000 --days 500    # ≈30M events
    uv run python -m benchmarks.detect --staff 300 --days 60 --engine spark --reuse
    uv run python -m benchmarks.detect --staff 1000 --days 500 --reuse --incremental-only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parent
WORK = ROOT / ".data"


def _custodes(*args: str) -> list[str]:
    return [sys.executable, "-m", "custodes", *args]


def _tree_rss_mib(root: int) -> float:
    """Resident memory of a process and all its descendants, now (Linux /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        grew = bool(more)
        tree |= more
    pages = 0
    for pid in tree:
        try:
            pages += int((Path("/proc") / str(pid) / "statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _run(args: list[str]) -> tuple[float, float, float, str]:
    """Wall seconds, peak RSS (MiB), peak RSS of the whole process tree (MiB) and stdout of
    one child process. The first is from wait4, so it is this child's own peak, not the
    simulate or ingest runs before it; the second is sampled every 0.2 s and includes what
    wait4 cannot see, such as the JVM that PySpark starts and never waits for."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], _tree_rss_mib(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(args)} failed ({code})")
    return elapsed, usage.ru_maxrss / 1024, max(peak[0], usage.ru_maxrss / 1024), out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--staff", type=int, default=300)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--engine", default="duckdb", choices=("duckdb", "spark"))
    parser.add_argument("--spark-master", default="local[2]", help="with --engine spark")
    parser.add_argument("--reuse", action="store_true", help="reuse an ingested store")
    parser.add_argument(
        "--incremental-only",
        action="store_true",
        help="with --reuse: only the incremental run (the store must hold a full run's features)",
    )
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
    spark = ["--spark-master", args.spark_master] if args.engine == "spark" else []
    full = _custodes(
        "detect", "--engine", args.engine, *spark, "--data-dir", str(store), "-f", "json"
    )
    if not args.incremental_only:
        seconds, rss, tree, out = _run(full)
        rows.append(
            {
                "what": "full detect",
                "wall": seconds,
                "peak_rss_mib": rss,
                "tree_peak_rss_mib": tree,
                **json.loads(out),
            }
        )
    con = duckdb.connect(str(store / "events.duckdb"), read_only=True)
    last = con.execute("SELECT max(day) FROM features_actor_day").fetchone()[0]  # type: ignore[index]
    con.close()
    incremental = [*full[:-2], "--since", str(last), "-f", "json"]
    seconds, rss, tree, out = _run(incremental)
    rows.append(
        {
            "what": "incremental (last day)",
            "wall": seconds,
            "peak_rss_mib": rss,
            "tree_peak_rss_mib": tree,
            **json.loads(out),
        }
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
        print(
            f"| {r['what']} | {r['wall']:.1f} s | {r['peak_rss_mib']:.0f} MiB | "
            f"{r['tree_peak_rss_mib']:.0f} MiB | {stages} |"
        )


if __name__ == "__main__":
    main()
