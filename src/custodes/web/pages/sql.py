"""The SQL workbench page, saved queries and dashboards (``sql.run``).

Thin over the domain: queries run through ``custodes.sql.audited`` (the guard, the locked
sandbox over the pseudonymised views, an ``sql.run`` audit row for every run, whatever
its outcome — the same path as ``POST /api/sql``); saved queries and dashboards live in
``custodes.sql.saved``, which checks ownership, versions and the SQL, and audits saving
and deleting. This module parses forms and lays results out; a quick chart is a
Vega-Lite spec from ``web.charts.query_chart``.

Why running is a POST: the statement is a form field (so it never lands in server logs
or browser history as a URL), and a run is an audited act. Opening a saved query or a
dashboard runs its SQL on GET, as any page shows current data; those runs are audited too.

Refused, failed and timed-out queries answer 400 with the reason on the page (as the API
does), next to the statement so it can be fixed; the views and their columns are listed
beside the editor.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from custodes.access.roles import Permission
from custodes.errors import ConflictError, InputError
from custodes.sql import QueryFailed, QueryRefused, QueryResult, QueryTimeout
from custodes.sql.audited import run_audited, run_batch
from custodes.sql.guard import ALLOWED_KINDS
from custodes.sql.saved import ChartChoice, ChartKind, SavedQueries, SavedQueryView
from custodes.sql.workbench import MAX_ROWS, describe
from custodes.web import charts
from custodes.web.deps import SettingsDep, StoreDep, event_store_file
from custodes.web.pages.base import CHART_SCRIPTS, SCRIPTS, PageRoute, Viewer, page_requires, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CanRunSql = Annotated[Viewer, page_requires(Permission.sql_run)]
QueryId = Annotated[int, PathParam(ge=1, le=2**53)]
DashboardId = Annotated[int, PathParam(ge=1, le=2**53)]
Version = Annotated[int, Form(ge=1, le=2**31 - 1)]

PAGE_ROWS: Final = 500  # rows a run shows unless asked for more (up to MAX_ROWS)
DASHBOARD_ROWS: Final = charts.MAX_POINTS
EXAMPLE: Final = (
    "SELECT action, count(*) AS events\nFROM events\nGROUP BY action\nORDER BY events DESC"
)
DONE: Final = {
    "saved": "Query saved.",
    "deleted": "Saved query deleted (and taken off any dashboard).",
    "dashboard-saved": "Dashboard saved.",
    "dashboard-deleted": "Dashboard deleted.",
}
_REFUSALS: Final = {
    QueryRefused: "Refused",
    QueryFailed: "The query could not run",
    QueryTimeout: "Stopped",
}


@dataclass(frozen=True)
class Run:
    """What one run shows: its result (or why there is none) and its chart."""

    result: QueryResult | None = None
    error: str = ""
    chart: charts.Chart | None = None
    chart_error: str = ""


def _service(store: StoreDep) -> SavedQueries:
    return SavedQueries(store)


def _chart(
    chart_id: str, title: str, result: QueryResult, choice: ChartChoice
) -> tuple[charts.Chart | None, str]:
    if choice.kind is ChartKind.none or choice.x is None or choice.y is None:
        return None, ""
    columns = [(c.name, c.type) for c in result.columns]
    try:
        drawn = charts.query_chart(
            chart_id, title, columns, result.rows, kind=choice.kind.value, x=choice.x, y=choice.y
        )
    except charts.ChartError as exc:
        return None, f"No chart: {exc}."
    return drawn, ""


def _run(
    store: StoreDep,
    settings: SettingsDep,
    viewer: Viewer,
    sql: str,
    rows: int,
    choice: ChartChoice,
    saved_id: int | None = None,
) -> Run:
    try:
        with event_store_file(settings) as path:
            result = run_audited(
                store,
                viewer.principal,
                sql,
                events=path,
                settings=settings,
                rows=rows,
                saved_query_id=saved_id,
            )
    except (QueryRefused, QueryFailed, QueryTimeout) as exc:
        return Run(error=f"{_REFUSALS[type(exc)]}: {exc}")
    chart, chart_error = _chart("query-chart", "Quick chart", result, choice)
    return Run(result, "", chart, chart_error)


def _workbench(
    request: Request,
    viewer: Viewer,
    store: StoreDep,
    settings: SettingsDep,
    *,
    values: Mapping[str, Any],
    run: Run | None = None,
    loaded: SavedQueryView | None = None,
    errors: Mapping[str, str] | None = None,
    done: str = "",
    status: int = 200,
) -> HTMLResponse:
    with event_store_file(settings) as path:
        tables = describe(path, settings)
    return render(
        request,
        "sql/workbench.html",
        {
            "title": "SQL workbench",
            "scripts": (*SCRIPTS, *CHART_SCRIPTS),
            "values": values,
            "run": run,
            "loaded": loaded,
            "errors": errors or {},
            "done": DONE.get(done, ""),
            "tables": tables,
            "saved": _service(store).list_queries(viewer.principal),
            "kinds": [k.value for k in ChartKind],
            "allowed": ALLOWED_KINDS,
            "cell": cell,
            "max_rows": MAX_ROWS,
        },
        status=status,
    )


def _values(
    sql: str, rows: int, choice: ChartChoice, name: str = "", shared: bool = False
) -> dict[str, Any]:
    return {
        "sql": sql,
        "rows": rows,
        "chart": choice.kind.value,
        "chart_x": choice.x or "",
        "chart_y": choice.y or "",
        "name": name,
        "shared": shared,
    }


@router.get("/data/sql", response_class=HTMLResponse)
def workbench_page(
    request: Request,
    viewer: CanRunSql,
    store: StoreDep,
    settings: SettingsDep,
    saved: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    done: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """The editor, the views to query, the saved queries; ``?saved=ID`` opens (and runs)
    one of them."""
    if saved is None:
        values = _values(EXAMPLE, PAGE_ROWS, ChartChoice())
        return _workbench(request, viewer, store, settings, values=values, done=done)
    loaded = _service(store).get_query(viewer.principal, saved)
    run = _run(store, settings, viewer, loaded.sql, PAGE_ROWS, loaded.chart, loaded.id)
    values = _values(loaded.sql, PAGE_ROWS, loaded.chart, loaded.name, loaded.shared)
    return _workbench(
        request, viewer, store, settings, values=values, run=run, loaded=loaded, done=done
    )


SqlField = Annotated[str, Form(max_length=40_000)]
RowsField = Annotated[int, Form(ge=1, le=MAX_ROWS)]
ChartField = Annotated[str, Form(max_length=16)]
ColumnField = Annotated[str, Form(max_length=512)]


@router.post("/data/sql", response_class=HTMLResponse)
def workbench_run(
    request: Request,
    viewer: CanRunSql,
    store: StoreDep,
    settings: SettingsDep,
    sql: SqlField = "",
    rows: RowsField = PAGE_ROWS,
    chart: ChartField = "none",
    chart_x: ColumnField = "",
    chart_y: ColumnField = "",
    name: Annotated[str, Form(max_length=400)] = "",
    shared: Annotated[bool, Form()] = False,
    saved_id: Annotated[int | None, Form(ge=1, le=2**53)] = None,
) -> HTMLResponse:
    """Run the statement (audited); a refusal comes back with its reason, 400."""
    loaded = _service(store).get_query(viewer.principal, saved_id) if saved_id else None
    try:
        choice = ChartChoice.of(chart, chart_x, chart_y)
    except InputError as exc:
        values = {**_values(sql, rows, ChartChoice(), name, shared), "chart": chart}
        errors = {exc.field or "chart": exc.reason}
        run = _run(store, settings, viewer, sql, rows, ChartChoice())
        return _workbench(
            request, viewer, store, settings, values=values, run=run, loaded=loaded, errors=errors
        )
    run = _run(store, settings, viewer, sql, rows, choice)
    values = _values(sql, rows, choice, name, shared)
    return _workbench(
        request,
        viewer,
        store,
        settings,
        values=values,
        run=run,
        loaded=loaded,
        status=400 if run.error else 200,
    )


@router.post("/data/sql/save", response_model=None)
def save_query(
    request: Request,
    viewer: CanRunSql,
    store: StoreDep,
    settings: SettingsDep,
    sql: SqlField = "",
    rows: RowsField = PAGE_ROWS,
    chart: ChartField = "none",
    chart_x: ColumnField = "",
    chart_y: ColumnField = "",
    name: Annotated[str, Form(max_length=400)] = "",
    shared: Annotated[bool, Form()] = False,
    saved_id: Annotated[int | None, Form(ge=1, le=2**53)] = None,
    version: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
    as_new: Annotated[bool, Form()] = False,
) -> Response:
    """Save the editor's statement and chart under a name (a new saved query, or the one
    opened, if it is the viewer's); problems come back beside their fields, 422."""
    service = _service(store)
    loaded = service.get_query(viewer.principal, saved_id) if saved_id else None
    update = loaded is not None and loaded.mine and not as_new
    try:
        choice = ChartChoice.of(chart, chart_x, chart_y)
        made = service.save_query(
            viewer.principal,
            name=name,
            sql=sql,
            chart=choice,
            shared=shared,
            query_id=loaded.id if update and loaded else None,
            version=version if update else None,
        )
    except (InputError, ConflictError) as exc:
        field = exc.field if isinstance(exc, InputError) and exc.field else "save"
        reason = exc.reason if isinstance(exc, InputError) else f"{exc}"
        values = {**_values(sql, rows, ChartChoice(), name, shared), "chart": chart}
        values |= {"chart_x": chart_x, "chart_y": chart_y}
        return _workbench(
            request,
            viewer,
            store,
            settings,
            values=values,
            loaded=loaded,
            errors={field: reason},
            status=409 if isinstance(exc, ConflictError) else 422,
        )
    return RedirectResponse(f"/data/sql?{urlencode({'saved': made.id, 'done': 'saved'})}", 303)


@router.post("/data/sql/saved/{query_id}/delete", response_model=None)
def delete_query(
    query_id: QueryId, request: Request, viewer: CanRunSql, store: StoreDep, version: Version
) -> Response:
    """Delete one of the viewer's saved queries (the version read, as for any change)."""
    try:
        _service(store).delete_query(viewer.principal, query_id, version)
    except ConflictError:
        return RedirectResponse(f"/data/sql?{urlencode({'saved': query_id})}", 303)
    return RedirectResponse("/data/sql?done=deleted", 303)


# --- dashboards ------------------------------------------------------------------------------


def _dashboards(
    request: Request,
    viewer: Viewer,
    store: StoreDep,
    *,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    done: str = "",
    status: int = 200,
) -> HTMLResponse:
    service = _service(store)
    return render(
        request,
        "sql/dashboards.html",
        {
            "title": "Dashboards",
            "dashboards": service.list_dashboards(viewer.principal),
            "queries": service.list_queries(viewer.principal),
            "values": values or {"name": "", "description": "", "queries": [], "shared": False},
            "errors": errors or {},
            "done": DONE.get(done, ""),
        },
        status=status,
    )


@router.get("/data/dashboards", response_class=HTMLResponse)
def dashboards_page(
    request: Request,
    viewer: CanRunSql,
    store: StoreDep,
    done: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """The viewer's and shared dashboards, and a form to make one from saved queries."""
    return _dashboards(request, viewer, store, done=done)


@router.post("/data/dashboards", response_model=None)
def create_dashboard(
    request: Request,
    viewer: CanRunSql,
    store: StoreDep,
    name: Annotated[str, Form(max_length=400)] = "",
    description: Annotated[str, Form(max_length=4_000)] = "",
    queries: Annotated[list[int] | None, Form()] = None,
    shared: Annotated[bool, Form()] = False,
) -> Response:
    chosen = list(queries or [])
    try:
        made = _service(store).save_dashboard(
            viewer.principal, name=name, description=description, query_ids=chosen, shared=shared
        )
    except (InputError, ConflictError) as exc:
        field = exc.field if isinstance(exc, InputError) and exc.field else "name"
        reason = exc.reason if isinstance(exc, InputError) else str(exc)
        values = {"name": name, "description": description, "queries": chosen, "shared": shared}
        return _dashboards(
            request, viewer, store, values=values, errors={field: reason}, status=422
        )
    return RedirectResponse(f"/data/dashboards/{made.id}", 303)


@dataclass(frozen=True)
class Panel:
    """One saved query on a dashboard, drawn (or why not)."""

    query: SavedQueryView | None
    run: Run


@router.get("/data/dashboards/{dashboard_id}", response_class=HTMLResponse)
def dashboard_page(
    dashboard_id: DashboardId,
    request: Request,
    viewer: CanRunSql,
    store: StoreDep,
    settings: SettingsDep,
) -> HTMLResponse:
    """Each saved query run afresh (audited, one sandbox for them all) and charted."""
    board = _service(store).get_dashboard(viewer.principal, dashboard_id)
    shown = [q for q in board.queries if q is not None]
    with event_store_file(settings) as path:
        outcomes = run_batch(
            store,
            viewer.principal,
            [(q.id, q.sql) for q in shown],
            events=path,
            settings=settings,
            rows=DASHBOARD_ROWS,
        )
    runs = iter(outcomes)
    panels: list[Panel] = []
    for n, query in enumerate(board.queries):
        if query is None:
            panels.append(Panel(None, Run()))
            continue
        outcome = next(runs)
        if outcome.result is None:
            assert outcome.error is not None
            error = f"{_REFUSALS[type(outcome.error)]}: {outcome.error}"
            panels.append(Panel(query, Run(error=error)))
            continue
        chart, chart_error = _chart(f"panel-{n}", query.name, outcome.result, query.chart)
        panels.append(Panel(query, Run(outcome.result, "", chart, chart_error)))
    return render(
        request,
        "sql/dashboard.html",
        {
            "title": board.name,
            "scripts": (*SCRIPTS, *CHART_SCRIPTS),
            "board": board,
            "panels": panels,
            "cell": cell,
        },
    )


@router.post("/data/dashboards/{dashboard_id}/delete", response_model=None)
def delete_dashboard(
    dashboard_id: DashboardId, viewer: CanRunSql, store: StoreDep, version: Version
) -> Response:
    try:
        _service(store).delete_dashboard(viewer.principal, dashboard_id, version)
    except ConflictError:
        return RedirectResponse(f"/data/dashboards/{dashboard_id}", 303)
    return RedirectResponse("/data/dashboards?done=dashboard-deleted", 303)


def cell(value: Any) -> str:
    """A result cell as text: JSON for nested values, ``null`` for none."""
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
