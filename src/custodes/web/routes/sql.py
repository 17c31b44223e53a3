"""``POST /api/sql``: the SQL workbench over the event store (see ``custodes.sql``); and
``/api/sql/saved`` and ``/api/sql/dashboards``: saved queries and dashboards of them
(``custodes.sql.saved``, which checks ownership and versions and audits saving and deleting).

Every query is audited (``sql.run``, by ``custodes.sql.audited``, which the workbench page
uses too) with its text, how it ended (``ok``, ``refused``, ``failed``, ``timeout``,
``unavailable``), the rows returned, whether they were truncated and how long it took.
Refused, failed and timed-out queries answer 400 with the reason in ``detail``: not 408,
which clients may retry on their own, re-running an expensive query.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from custodes.sql import QueryFailed, QueryRefused, QueryTimeout
from custodes.sql.audited import run_audited
from custodes.sql.saved import ChartChoice, SavedQueries
from custodes.web.deps import CanRunSql, SettingsDep, StoreDep, event_store_file
from custodes.web.schemas.common import ErrorOut
from custodes.web.schemas.sql import (
    DashboardIn,
    DashboardOut,
    SavedQueryIn,
    SavedQueryOut,
    SqlColumn,
    SqlIn,
    SqlResultOut,
)

router = APIRouter(prefix="/sql", tags=["sql"])

QueryId = Annotated[int, Path(ge=1, le=2**53)]
DashboardId = Annotated[int, Path(ge=1, le=2**53)]
Version = Annotated[int, Query(ge=1, le=2**31 - 1, description="The version you read.")]


@router.post(
    "",
    response_model=SqlResultOut,
    responses={400: {"model": ErrorOut, "description": "Refused, failed or timed out: see detail"}},
)
def run_sql(
    body: SqlIn, principal: CanRunSql, store: StoreDep, settings: SettingsDep
) -> SqlResultOut:
    """Run one read-only query; staff ids come back as pseudonyms."""
    try:
        with event_store_file(settings) as path:
            result = run_audited(
                store,
                principal,
                body.sql,
                events=path,
                settings=settings,
                rows=body.limit,
                timeout=body.timeout_seconds,
            )
    except (QueryRefused, QueryFailed, QueryTimeout) as exc:
        raise HTTPException(400, str(exc)) from None
    return SqlResultOut(
        columns=[SqlColumn(name=c.name, type=c.type) for c in result.columns],
        rows=result.rows,
        row_count=result.row_count,
        truncated=result.truncated,
        limit=body.limit,
        duration_ms=result.duration_ms,
    )


# --- saved queries and dashboards --------------------------------------------------------


@router.get("/saved", response_model=list[SavedQueryOut])
def list_saved(principal: CanRunSql, store: StoreDep) -> list[SavedQueryOut]:
    """Your saved queries and everyone's shared ones, by name."""
    return [SavedQueryOut.of(q) for q in SavedQueries(store).list_queries(principal)]


@router.post("/saved", response_model=SavedQueryOut, status_code=status.HTTP_201_CREATED)
def create_saved(body: SavedQueryIn, principal: CanRunSql, store: StoreDep) -> SavedQueryOut:
    """Keep a statement (it must pass the guard) and its chart under a name."""
    made = SavedQueries(store).save_query(
        principal,
        name=body.name,
        sql=body.sql,
        chart=ChartChoice.of(body.chart, body.chart_x, body.chart_y),
        shared=body.shared,
    )
    return SavedQueryOut.of(made)


@router.get("/saved/{query_id}", response_model=SavedQueryOut)
def get_saved(query_id: QueryId, principal: CanRunSql, store: StoreDep) -> SavedQueryOut:
    return SavedQueryOut.of(SavedQueries(store).get_query(principal, query_id))


@router.delete("/saved/{query_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_saved(
    query_id: QueryId, version: Version, principal: CanRunSql, store: StoreDep
) -> Response:
    """Delete one of your queries (it leaves every dashboard it was on)."""
    SavedQueries(store).delete_query(principal, query_id, version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/dashboards", response_model=list[DashboardOut])
def list_dashboards(principal: CanRunSql, store: StoreDep) -> list[DashboardOut]:
    """Your dashboards and everyone's shared ones, by name (``queries`` left empty)."""
    return [DashboardOut.of(d) for d in SavedQueries(store).list_dashboards(principal)]


@router.post("/dashboards", response_model=DashboardOut, status_code=status.HTTP_201_CREATED)
def create_dashboard(body: DashboardIn, principal: CanRunSql, store: StoreDep) -> DashboardOut:
    made = SavedQueries(store).save_dashboard(
        principal,
        name=body.name,
        description=body.description,
        query_ids=body.query_ids,
        shared=body.shared,
    )
    return DashboardOut.of(made)


@router.get("/dashboards/{dashboard_id}", response_model=DashboardOut)
def get_dashboard(dashboard_id: DashboardId, principal: CanRunSql, store: StoreDep) -> DashboardOut:
    """A dashboard and its saved queries in order (run them with ``POST /api/sql``)."""
    return DashboardOut.of(SavedQueries(store).get_dashboard(principal, dashboard_id))


@router.delete("/dashboards/{dashboard_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dashboard(
    dashboard_id: DashboardId, version: Version, principal: CanRunSql, store: StoreDep
) -> Response:
    SavedQueries(store).delete_dashboard(principal, dashboard_id, version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
