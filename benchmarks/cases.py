"""Case store benchmark (issue 4): 100k cases and 1M audit rows, on SQLite and PostgreSQL.

1. **Fill** a fresh case store: users, 100k cases with subjects, members, alerts and notes,
   and a valid 1M-row audit chain (hashes computed exactly as ``custodes.audit.chain`` does),
   in bulk; not timed against a target, but reported.
2. **Audit verify**: ``custodes audit verify`` in a child process (wall time, peak RSS).
3. **API latency**: ``custodes serve`` (one uvicorn worker) in a child process on a loopback
   port; this process generates the load on the case list (``GET /api/cases?limit=50``, mixed
   filters and sorts) and the case detail (``GET /api/cases/{id}`` of random ids) as a lead:
   first requests arriving at ``--rate`` per second (open loop: the latency analysts see at
   that load), then ``--clients`` connections each firing as soon as answered (closed loop:
   throughput at saturation). Per-request latencies give p50/p95/p99.

    uv run python -m benchmarks.cases                       # SQLite in benchmarks/.data
    uv run python -m benchmarks.cases --database postgresql # the machine's PostgreSQL
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import random
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from custodes.audit.chain import GENESIS, canonical, detail_text, link
from custodes.store.cases import CaseStore
from custodes.store.schema import (
    ApiToken,
    AuditEntry,
    AuditHead,
    Case,
    CaseAlert,
    CaseMember,
    CaseSubject,
    Note,
    User,
)

ROOT = Path(__file__).resolve().parent
WORK = ROOT / ".data"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_SCHEMA = "bench_cases"
STATUSES = ("new", "triage", "investigating", "pending_decision", "closed")
OUTCOMES = ("substantiated", "unsubstantiated", "policy_gap", "referred")
FAMILIES = (
    "unjustified_access",
    "paid_reversal",
    "malicious_enforcement",
    "productivity_gaming",
    "qa_collusion",
    "data_exfiltration",
    "privilege_abuse",
    "credential_sharing",
)
ROLES = ("admin", "lead", "investigator", "auditor", "triage_analyst")


def _url(database: str) -> tuple[str, Path | None]:
    if database == "sqlite":
        data = WORK / "cases-sqlite"
        data.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{data / 'cases.sqlite'}", data
    return f"{PG_URL}?options=-csearch_path%3D{PG_SCHEMA}", None


def _reset(database: str, url: str) -> None:
    if database == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {PG_SCHEMA}"))
    engine.dispose()


def _chunks(rows: list[dict[str, Any]], size: int = 20_000) -> list[list[dict[str, Any]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def fill(store: CaseStore, n_cases: int, n_audit: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    users = [
        {
            "id": i + 1,
            "username": f"user{i + 1}",
            "display_name": f"User {i + 1}",
            "role": ROLES[i % len(ROLES)],
            "password_hash": None,
            "disabled": False,
            "created_at": now,
            "version": 1,
        }
        for i in range(50)
    ]
    investigators = [u["id"] for u in users if u["role"] == "investigator"]
    cases, subjects, members, alerts, notes = [], [], [], [], []
    for cid in range(1, n_cases + 1):
        created = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 700))
        status = rng.choice(STATUSES)
        assignee = rng.choice(investigators)
        actor = f"u{rng.randrange(100_000):05d}"
        cases.append(
            {
                "id": cid,
                "title": f"Case {cid}: {rng.choice(FAMILIES).replace('_', ' ')}",
                "description": "",
                "category": rng.choice(FAMILIES),
                "severity": rng.choice(("low", "medium", "high", "critical")),
                "status": status,
                "outcome": rng.choice(OUTCOMES) if status == "closed" else None,
                "assignee_id": assignee,
                "created_by": assignee,
                "created_at": created,
                "updated_at": created + timedelta(hours=rng.randrange(0, 500)),
                "due_at": created + timedelta(days=14),
                "closed_at": created + timedelta(days=20) if status == "closed" else None,
                "tags": [rng.choice(("vip", "legal", "hr", "repeat"))],
                "restricted": rng.random() < 0.05,
                "version": 1,
            }
        )
        subjects.append({"case_id": cid, "actor_id": actor, "pseudonym": f"S-{cid:010d}"})
        members.append({"case_id": cid, "user_id": assignee})
        for k in range(2):
            alerts.append(
                {
                    "case_id": cid,
                    "alert_id": f"a-{cid:08d}{k}",
                    "actor_id": actor,
                    "detector": "baselines",
                    "category": cases[-1]["category"],
                    "pattern": "baselines:x",
                    "score": rng.random(),
                    "window_start": created,
                    "window_end": created + timedelta(days=1),
                    "reasons": ["a reason"],
                    "verdict": None,
                    "synced_at": None,
                }
            )
        notes.append(
            {
                "case_id": cid,
                "author_id": assignee,
                "body": "Checked the evidence.",
                "created_at": created,
            }
        )
    with store.write() as session:
        for model, rows in (
            (User, users),
            (Case, cases),
            (CaseSubject, subjects),
            (CaseMember, members),
            (CaseAlert, alerts),
            (Note, notes),
        ):
            for chunk in _chunks(rows):
                session.execute(sa.insert(model), chunk)
    timings["cases_s"] = time.perf_counter() - clock

    clock = time.perf_counter()
    prev = GENESIS
    batch: list[dict[str, Any]] = []
    start = now - timedelta(days=700)
    for seq in range(1, n_audit + 1):
        at = start + timedelta(seconds=seq * 60)
        actor = f"user{rng.randrange(1, 51)}"
        action = rng.choice(("case.read", "case.update", "evidence.read", "case.create"))
        target = str(rng.randrange(1, n_cases + 1))
        detail = detail_text({"fields": ["status"]} if action == "case.update" else None)
        digest = link(prev, canonical(seq, at, actor, action, "case", target, "", detail))
        batch.append(
            {
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": action,
                "target_type": "case",
                "target_id": target,
                "reason": "",
                "detail": detail,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
        if len(batch) == 50_000:
            with store.write() as session:
                session.execute(sa.insert(AuditEntry), batch)
            batch = []
    with store.write() as session:
        if batch:
            session.execute(sa.insert(AuditEntry), batch)
        session.execute(sa.update(AuditHead).values(seq=n_audit, hash=prev))
    timings["audit_s"] = time.perf_counter() - clock
    with store.write_engine.connect() as conn:  # statistics, as a store in use would have
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    if not store.is_sqlite:  # identity sequences must continue after the bulk-inserted ids
        with store.write() as session:
            for table in ("users", "cases", "notes"):
                session.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    return timings


def _child(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    out = proc.stdout.read().decode() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if proc.stdout:
        proc.stdout.close()
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # 1: the chain is broken (reported)
        raise SystemExit(f"{' '.join(args)} failed:\n{out}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, out


BENCH_TOKEN = "cst_benchmark-token-not-a-secret-0123456789"  # noqa: S105 - a local benchmark


def add_token(store: CaseStore, username: str) -> str:
    """A bearer token for the load generator, stored as the API stores tokens (SHA-256)."""
    with store.write() as session:
        user_id = session.execute(sa.select(User.id).where(User.username == username)).scalar_one()
        session.execute(sa.delete(ApiToken).where(ApiToken.name == "benchmark"))
        session.execute(
            sa.insert(ApiToken).values(
                user_id=user_id,
                name="benchmark",
                token_hash=hashlib.sha256(BENCH_TOKEN.encode()).hexdigest(),
                created_at=datetime.now(UTC),
            )
        )
    return BENCH_TOKEN


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server at {base} did not come up")


async def _closed_loop(
    base: str, token: str, paths: list[str], clients: int, seconds: float
) -> list[float]:
    """``clients`` keep-alive connections, each issuing its next request as soon as the
    last one answers, for ``seconds``: the server's saturation (throughput, and latency when
    every request queues behind the others); latencies in milliseconds."""
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}"}

    async def client(k: int) -> None:
        rng = random.Random(k)
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            while time.monotonic() < stop:
                latencies.append(await _get(http, rng.choice(paths)))

    await asyncio.gather(*(client(k) for k in range(clients)))
    return latencies


async def _open_loop(
    base: str, token: str, paths: list[str], rate: float, seconds: float
) -> list[float]:
    """Requests arriving at ``rate`` per second (Poisson), whether or not earlier ones have
    answered, as analysts' clicks do: the latency a user sees at that load."""
    rng = random.Random(11)
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as http:
        tasks = []
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            tasks.append(asyncio.create_task(_get(http, rng.choice(paths))))
            await asyncio.sleep(rng.expovariate(rate))
        return list(await asyncio.gather(*tasks))


async def _get(http: httpx.AsyncClient, path: str) -> float:
    started = time.perf_counter()
    response = await http.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code} {response.text[:200]}")
    return elapsed


def _percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 2)

    return {"requests": len(ms), "p50_ms": pick(0.5), "p95_ms": pick(0.95), "p99_ms": pick(0.99)}


def load_test(
    url: str,
    data: Path | None,
    n_cases: int,
    clients: int,
    rate: float,
    seconds: float,
    workers: int,
) -> dict[str, Any]:
    with CaseStore(url) as store:
        token = add_token(store, "user2")  # a lead: sees every unrestricted case
    port = _free_port()
    env = dict(os.environ, CUSTODES_DATABASE_URL=url, CUSTODES_ENVIRONMENT="development")
    if data is not None:
        env["CUSTODES_DATA_DIR"] = str(data)
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "custodes", "serve", "--host", "127.0.0.1"),
            *("--port", str(port), "--workers", str(workers)),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base)
        rng = random.Random(7)
        lists = [
            "/api/cases?limit=50",
            "/api/cases?limit=50&status=investigating",
            "/api/cases?limit=50&sort=-created_at",
            "/api/cases?limit=50&category=data_exfiltration&offset=200",
        ]
        details = [f"/api/cases/{rng.randrange(1, n_cases + 1)}" for _ in range(2000)]
        # Restricted cases answer 404 to a lead who is not a member: keep to visible ones.
        with CaseStore(url) as store, store.read() as session:
            hidden = set(session.execute(sa.select(Case.id).where(Case.restricted)).scalars())
        details = [p for p in details if int(p.rsplit("/", 1)[1]) not in hidden]
        asyncio.run(_closed_loop(base, token, lists + details[:10], 2, 3))  # warm-up
        result: dict[str, Any] = {}
        for name, paths in (("case_list", lists), ("case_detail", details)):
            at_rate = asyncio.run(_open_loop(base, token, paths, rate, seconds))
            saturated = asyncio.run(_closed_loop(base, token, paths, clients, seconds))
            result[name] = {
                f"at_{rate:g}_per_s": _percentiles(at_rate),
                f"saturated_{clients}_clients": _percentiles(saturated)
                | {"per_s": round(len(saturated) / seconds, 1)},
            }
    finally:
        server.terminate()
        server.wait(timeout=30)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="skip the fill")
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument("--clients", type=int, default=8, help="closed-loop clients")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--rate", type=float, default=20, help="open-loop requests per second")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()

    url, data = _url(args.database)
    result: dict[str, Any] = {"database": args.database, "cases": args.cases, "audit": args.audit}
    if not args.reuse:
        _reset(args.database, url)
        with CaseStore(url) as store:
            result |= fill(store, args.cases, args.audit, args.seed)
    env = dict(os.environ, CUSTODES_DATABASE_URL=url)
    if data is not None:
        env["CUSTODES_DATA_DIR"] = str(data)
    if not args.skip_verify:
        seconds, rss, out = _child([sys.executable, "-m", "custodes", "audit", "verify"], env)
        result |= {"verify_s": round(seconds, 2), "verify_rss_mib": round(rss)}
        result["verify_ok"] = "True" in out
    result |= load_test(url, data, args.cases, args.clients, args.rate, args.seconds, args.workers)
    result["workers"] = args.workers
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
