"""Server-side render time of each page at demo scale (the target: 200 ms a page).

    uv run python -m benchmarks.web_pages [--staff 300 --days 60] [--runs 30]

Builds the demo store in benchmarks/.data/web (``custodes demo``, ``custodes detect``, the
simulated escalations imported), signs in one user per role and times GET of every page
in-process (Starlette's TestClient: routing, auth, stores, charts and templates, without a
network), after a warm-up request per page. Wall time is what a person waits; CPU time is
this process's own, which says how much of the wall was ours when the machine is shared.
Prints Markdown rows for RESULTS.md and saves JSON beside the store.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
WORK = ROOT / ".data" / "web"
PASSWORD = "benchmark password, long enough"  # noqa: S105 (a throwaway store)
PAGES = {
    "admin": ["/", "/integrity/overview", "/escalations/overview"],
    "triage_analyst": ["/"],
    "investigator": ["/"],
    "": ["/login"],  # nobody signed in yet
}
# Escalation, SQL workbench and audit pages (issue 6); dashboard 1 and saved query 1 are
# made by ``_saved`` when the store has none.
PAGES["admin"] += [
    "/escalations",
    "/escalations/1",
    "/escalations/new",
    "/data/sql",
    "/data/sql?saved=1",
    "/data/dashboards",
    "/data/dashboards/1",
    "/audit",
]
PAGES["triage_analyst"] += ["/escalations", "/escalations?band=P1&status=open", "/escalations/1"]
PAGES["auditor"] = [*PAGES.get("auditor", []), "/audit", "/audit/verify"]
# Integrity pages (issue 6): {staff} is the riskiest person's pseudonym and {case} a case
# opened from their alerts, with a note, a task and evidence (``_integrity`` makes it once).
PAGES["admin"] += [
    "/integrity/staff/{staff}",
    "/integrity/alerts",
    "/integrity/alerts?review=all&page=5",
    "/integrity/cases",
    "/integrity/cases/{case}",
]
PAGES["investigator"] += ["/integrity/staff/{staff}", "/integrity/alerts"]
# Forms timed like pages: (path, fields); the session's CSRF token is added.
POSTS: dict[str, list[tuple[str, dict[str, str]]]] = {
    "investigator": [
        (
            "/data/sql",
            {
                "sql": "SELECT subject, count(*) AS events FROM events GROUP BY ALL "
                "ORDER BY events DESC LIMIT 20",
                "chart": "bar",
                "chart_x": "subject",
                "chart_y": "events",
            },
        ),
        ("/data/sql", {"sql": "SELECT * FROM read_csv('/etc/passwd')"}),  # refused: 400
    ],
}


def _saved(data: Path) -> None:
    """A shared saved query with a chart on a shared dashboard, once per store."""
    from custodes.access import users
    from custodes.config import Settings
    from custodes.sql.saved import ChartChoice, ChartKind, SavedQueries
    from custodes.store.cases import CaseStore

    with CaseStore.open(Settings(data_dir=data)) as store:
        with store.read() as session:
            admin = users.principal_of(users.find_user(session, "bench-admin"))
        saved = SavedQueries(store)
        if saved.list_queries(admin):
            return
        query = saved.save_query(
            admin,
            name="Events per day",
            sql="SELECT date_trunc('day', ts) AS day, count(*) AS events FROM events "
            "GROUP BY ALL ORDER BY day",
            chart=ChartChoice(ChartKind.line, "day", "events"),
            shared=True,
        )
        saved.save_dashboard(admin, name="Activity", query_ids=[query.id], shared=True)


def _integrity(data: Path) -> dict[str, str]:
    """The riskiest person's pseudonym, and a case from their alerts (made once per store,
    as an investigator would: opened from the alerts, a note, a task, evidence)."""
    from custodes.access import users
    from custodes.cases.service import CaseService
    from custodes.cases.views import EvidenceCreate, EvidenceQuery, TaskCreate
    from custodes.config import Settings
    from custodes.risk.overview import integrity_overview
    from custodes.store.cases import CaseStore
    from custodes.store.events import EventStore

    settings = Settings(data_dir=data)
    with CaseStore.open(settings) as store, EventStore.open(data, read_only=True) as events:
        with store.read() as session:
            admin = users.principal_of(users.find_user(session, "bench-admin"))
        service = CaseService(store, settings)
        riskiest = integrity_overview(events).ranked[0]
        staff = service.pseudonyms.of(riskiest.actor_id)
        found = service.list(admin, q=staff, limit=1).items
        if found:
            return {"staff": staff, "case": str(found[0].id)}
        alerts = [c.name for c in riskiest.contributions if c.kind == "alert"]
        case = service.create_from_alerts(admin, alerts, events)
        service.add_note(admin, case.id, "Spoke to the **team lead**; see the timeline.")
        service.add_task(admin, case.id, TaskCreate(title="Interview the subject"))
        timeline = service.timeline(admin, case.id, events, limit=1)
        query = EvidenceQuery(subject=staff, start=timeline.window_start, end=timeline.window_end)
        evidence = EvidenceCreate(kind="query", title="Around the alerts", query=query)
        service.add_evidence(admin, case.id, evidence, events)
        return {"staff": staff, "case": str(case.id)}


def _custodes(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "custodes", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"custodes {' '.join(args)} failed:\n{done.stderr}")


def build(staff: int, days: int, reuse: bool) -> Path:
    data = WORK / f"s{staff}-d{days}"
    if reuse and (data / "cases.sqlite").exists():
        return data
    import shutil

    shutil.rmtree(data, ignore_errors=True)
    sim = ["--staff", str(staff), "--days", str(days), "--data-dir", str(data)]
    _custodes("demo", *sim, "--format", "json")
    _custodes("detect", "--data-dir", str(data), "--format", "json")
    from custodes.access import users
    from custodes.access.roles import Role
    from custodes.config import Settings
    from custodes.store.cases import CaseStore
    from custodes.triage.intake import EscalationService
    from custodes.triage.records import read_records

    with CaseStore.open(Settings(data_dir=data)) as store:
        with store.write() as session:
            for role in Role:
                users.add_user(
                    session, username=f"bench-{role.value}", role=role, password=PASSWORD
                )
            admin = users.principal_of(users.find_user(session, "bench-admin"))
        service = EscalationService(store)
        for _row, record in read_records(data / "demo-input" / "escalations.jsonl"):
            if isinstance(record, dict):
                service.submit(admin, record)
    return data


def measure(data: Path, runs: int) -> list[dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from custodes.config import Settings
    from custodes.web.app import create_app

    _saved(data)
    made = _integrity(data)
    app = create_app(Settings(data_dir=data))
    rows = []
    for role in dict.fromkeys([*PAGES, *POSTS]):
        paths: list[tuple[str, dict[str, str] | None]] = [
            (p.format(**made), None) for p in PAGES.get(role, [])
        ]
        paths += [(p, form) for p, form in POSTS.get(role, [])]
        client = TestClient(app)
        csrf = ""
        if role:
            login = client.post(
                "/api/auth/login",
                json={"username": f"bench-{role}", "password": PASSWORD},
            )
            assert login.status_code == 200, login.text
            csrf = login.json()["csrf_token"]
        for path, form in paths:

            def fetch(
                path: str = path,
                form: dict[str, str] | None = form,
                client: Any = client,
                csrf: str = csrf,
            ) -> Any:
                if form is None:
                    return client.get(path)
                return client.post(path, data={"csrf_token": csrf, **form})

            ok = (200, 400) if form is not None else (200,)
            assert fetch().status_code in ok, path  # warm-up
            wall, cpu = [], []
            for _ in range(runs):
                started, ticks = time.perf_counter(), time.process_time()
                answer = fetch()
                cpu.append(1000 * (time.process_time() - ticks))
                wall.append(1000 * (time.perf_counter() - started))
                assert answer.status_code in ok
            if form is not None:
                path = f"POST {path} ({'refused' if answer.status_code == 400 else 'run'})"
            wall.sort()
            rows.append(
                {
                    "role": role or "(anonymous)",
                    "path": path,
                    "bytes": len(answer.content),
                    "median_ms": round(statistics.median(wall), 1),
                    "p95_ms": round(wall[int(0.95 * (len(wall) - 1))], 1),
                    "cpu_median_ms": round(statistics.median(cpu), 1),
                }
            )
    app.state.store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--staff", type=int, default=300)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep a store built before")
    args = parser.parse_args()
    data = build(args.staff, args.days, args.reuse)
    rows = measure(data, args.runs)
    load = os.getloadavg()[0]
    print(
        f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"load {load:.1f}, Python {platform.python_version()}, {args.runs} runs a page"
    )
    print("| role | page | size | median | p95 | CPU (median) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['role']} | `{r['path']}` | {r['bytes'] // 1024} KiB | {r['median_ms']} ms "
            f"| {r['p95_ms']} ms | {r['cpu_median_ms']} ms |"
        )
    (data / "web_pages.json").write_text(json.dumps({"load": load, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
