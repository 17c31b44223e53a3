"""API intake benchmark (issue 5): escalations POSTed to ``custodes serve``, sustained.

Target: ≥ 300 escalations/s on 2 cores with p99 ≤ 100 ms, load generator on loopback.

The load comes from ``wrk`` (Debian's package: a separate C process, so the generator costs
little of the two cores the server needs) with a Lua script that sends realistic bodies —
the labelled development escalations (en/es/pt, never the held-out set), each with a new
``escalation_id`` and new subjects, so every request is a real intake: language detection,
text reading, rating, dedup look-ups, routing, clocks, an insert with its revisions and an
audit row, in one transaction. Afterwards the rows are counted: every 201 must be stored.

    uv run python -m benchmarks.triage_intake                         # SQLite, 1 worker
    uv run python -m benchmarks.triage_intake --workers 2 --connections 8
    uv run python -m benchmarks.triage_intake --database postgresql
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from custodes.access import tokens, users
from custodes.store.cases import CaseStore
from custodes.store.schema import AuditEntry, Escalation

ROOT = Path(__file__).resolve().parent
WORK = ROOT / ".data"
DATA = ROOT.parent / "tests" / "triage" / "data"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_SCHEMA = "bench_intake"
PG_APP = "custodes-bench-intake"  # names the server's connections, to count their CPU
FIELDS = (
    "source",
    "title",
    "body",
    "language",
    "reported_category",
    "jurisdiction",
    "reach",
    "requester",
    "deadline",
)

LUA = r"""
local bodies = {}
%(bodies)s
local n = 0
local prefix = "%(prefix)s"
request = function()
  n = n + 1
  local body = bodies[(n %% #bodies) + 1]
  body = body:gsub("@ID@", prefix .. n):gsub("@SUBJECT@", "acct:" .. prefix .. n)
  return wrk.format("POST", "/api/escalations", {
    ["Authorization"] = "Bearer %(token)s",
    ["Content-Type"] = "application/json",
  }, body)
end
"""


def _templates() -> list[str]:
    """JSON bodies with @ID@ and @SUBJECT@ placeholders, from the development sets."""
    out = []
    for name in ("labelled_dev.jsonl", "labelled_dev2.jsonl"):
        path = DATA / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            body = {k: record[k] for k in FIELDS if record.get(k) is not None}
            body |= {
                "escalation_id": "@ID@",
                "received_at": "2026-11-20T10:00:00Z",
                "subject_ids": ["@SUBJECT@"],
            }
            out.append(json.dumps(body, ensure_ascii=False))
    return out


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def _setup(database: str) -> tuple[str, Path]:
    data = WORK / f"intake-{database}"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    if database == "sqlite":
        return f"sqlite:///{data / 'cases.sqlite'}", data
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {PG_SCHEMA}"))
    engine.dispose()
    return f"{PG_URL}?options=-csearch_path%3D{PG_SCHEMA}&application_name={PG_APP}", data


def _token(url: str) -> str:
    with CaseStore(url) as store, store.write() as session:
        made = users.add_user(session, username="intake", role="triage_analyst", by="bench")
        return tokens.create_token(session, made.user, name="benchmark", by="bench").plaintext


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, log: Path, workers: int, seconds: float = 120) -> None:
    """Until every worker has started (uvicorn logs each one's start-up) and the API
    answers: a worker still starting when the load begins gets no connection, since
    ``wrk`` keeps its connections open, and the run measures fewer workers than asked."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = log.read_text(errors="replace").count("Application startup complete")
        if started < workers:
            time.sleep(0.3)
            continue
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the server at {base} did not come up")


def _tree_cpu(pid: int, *, children: bool = True) -> float:
    """CPU seconds (user + system) of a process and its descendants, from Linux's /proc: the
    server's cost per request, which — unlike its rate — the machine's other load barely
    changes."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            if not children:
                continue
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _workers_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each direct child of the server (its workers with ``--workers N``)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            out[int(child)] = _tree_cpu(int(child))
    return out


def _backends_cpu(database: str) -> float:
    """CPU seconds of the PostgreSQL backends serving the benchmark's server (by application
    name; the server is local, so its processes are in /proc). What each request costs the
    database, which the server's own CPU leaves out; 0 on SQLite (in-process there)."""
    if database != "postgresql":
        return 0.0
    engine = sa.create_engine(PG_URL)
    try:
        with engine.connect() as conn:
            pids = conn.execute(
                sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :app"),
                {"app": PG_APP},
            ).scalars()
            return sum(_tree_cpu(pid, children=False) for pid in pids)
    finally:
        engine.dispose()


def _wrk(base: str, script: Path, connections: int, seconds: float) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    out = subprocess.run(
        [
            *("wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"),
            *("--timeout", "10s", "-s", str(script), base),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found: dict[str, Any] = {"raw": out}
    for q in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if m:
            value = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
            found[f"p{q}_ms"] = round(value, 2)
    if m := re.search(r"(\d+) requests in ([\d.]+)s", out):
        found["requests"] = int(m.group(1))
        found["per_s"] = round(int(m.group(1)) / float(m.group(2)), 1)
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    found["non_2xx"] = int(m.group(1)) if m else 0
    return found


def run(database: str, workers: int, connections: int, seconds: float) -> dict[str, Any]:
    url, data = _setup(database)
    token = _token(url)
    templates = _templates()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        CUSTODES_DATABASE_URL=url,
        CUSTODES_ENVIRONMENT="development",
        CUSTODES_DATA_DIR=str(data),
    )
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "custodes", "serve", "--host", "127.0.0.1"),
            *("--port", str(port), "--workers", str(workers)),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data / "server.log").open("w"),
    )
    result: dict[str, Any] = {
        "database": database,
        "workers": workers,
        "connections": connections,
        "seconds": seconds,
        "distinct_bodies": len(templates),
    }
    try:
        _wait_ready(base, data / "server.log", workers)
        bodies = "\n".join(f"bodies[{i + 1}] = {_lua_string(t)}" for i, t in enumerate(templates))
        for phase, secs in (("warmup", 3.0), ("measured", seconds)):
            script = data / f"{phase}.lua"
            script.write_text(
                LUA % {"bodies": bodies, "prefix": phase[0], "token": token}, encoding="utf-8"
            )
            load_before, server_before = os.getloadavg()[0], _tree_cpu(server.pid)
            workers_before = _workers_cpu(server.pid)
            db_before = _backends_cpu(database)
            wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            measured = _wrk(base, script, connections, secs)
            if phase == "measured":
                wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
                server_cpu = _tree_cpu(server.pid) - server_before
                split = [
                    round(cpu - workers_before.get(pid, 0.0), 2)
                    for pid, cpu in sorted(_workers_cpu(server.pid).items())
                ]
                db_cpu = _backends_cpu(database) - db_before
                wrk_cpu = (wrk_after.ru_utime + wrk_after.ru_stime) - (
                    wrk_before.ru_utime + wrk_before.ru_stime
                )
                result |= {k: v for k, v in measured.items() if k != "raw"}
                done = max(1, measured.get("requests", 0))
                result |= {
                    "server_cpu_ms_per_request": round(server_cpu * 1000 / done, 2),
                    # CPU seconds of each worker: how the kernel spread the connections
                    # (SO_REUSEPORT hashes them), the largest cause of run-to-run spread.
                    "worker_cpu_s": split,
                    "database_cpu_ms_per_request": round(db_cpu * 1000 / done, 2),
                    "wrk_cpu_ms_per_request": round(wrk_cpu * 1000 / done, 2),
                    "load_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                }
                print(measured["raw"], file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=30)
    with CaseStore(url, migrate=False) as store, store.read() as session:
        result["stored"] = session.scalar(
            sa.select(sa.func.count())
            .select_from(Escalation)
            .where(Escalation.escalation_id.like("m%"))
        )
        result["audit_rows"] = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    print(json.dumps(run(args.database, args.workers, args.connections, args.seconds), indent=2))


if __name__ == "__main__":
    main()
