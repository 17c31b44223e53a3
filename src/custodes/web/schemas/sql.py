"""The SQL workbench: one read-only query in, a table of JSON values out; saved queries and
dashboards (``custodes.sql.saved``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from custodes.sql.guard import MAX_CHARS
from custodes.sql.saved import DashboardView, SavedQueryView
from custodes.sql.workbench import DEFAULT_ROWS, DEFAULT_TIMEOUT, MAX_ROWS
from custodes.web.schemas.common import UtcDatetime


class SqlIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sql: str = Field(
        min_length=1,
        max_length=MAX_CHARS,
        description="One read-only statement over the pseudonymised views (events, people, "
        "accounts, tickets, labels, alerts, alert_verdicts, actor_day_scores, detect_runs, "
        "calibrations): SELECT, WITH, VALUES, FROM, DESCRIBE, SUMMARIZE, SHOW TABLES or "
        "EXPLAIN.",
    )
    limit: int = Field(
        default=DEFAULT_ROWS, ge=1, le=MAX_ROWS, description="At most this many rows back."
    )
    timeout_seconds: float = Field(
        default=DEFAULT_TIMEOUT,
        gt=0,
        le=DEFAULT_TIMEOUT,
        description="Stop the query after this long (the server's limit is the default).",
    )


class SqlColumn(BaseModel):
    name: str
    type: str = Field(description="The DuckDB type, e.g. VARCHAR, BIGINT, TIMESTAMP.")


class SqlResultOut(BaseModel):
    """Rows as lists in column order (names may repeat); staff appear as pseudonyms."""

    columns: list[SqlColumn]
    rows: list[list[JsonValue]]
    row_count: int = Field(ge=0)
    truncated: bool = Field(description="True when the query had more rows than `limit`.")
    limit: int = Field(ge=1)
    duration_ms: float = Field(ge=0)


class SavedQueryIn(BaseModel):
    """A query to keep: its statement (it must pass the guard) and its quick chart."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Unique among your queries.")
    sql: str = Field(min_length=1, max_length=MAX_CHARS)
    chart: Literal["none", "bar", "line"] = "none"
    chart_x: str | None = Field(default=None, max_length=256, description="x axis column.")
    chart_y: str | None = Field(default=None, max_length=256, description="y axis (numbers).")
    shared: bool = Field(default=False, description="Visible to everyone with sql.run.")


class SavedQueryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    sql: str
    chart: Literal["none", "bar", "line"]
    chart_x: str | None
    chart_y: str | None
    shared: bool
    owner: str
    mine: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime
    version: int

    @classmethod
    def of(cls, view: SavedQueryView) -> SavedQueryOut:
        return cls(
            id=view.id,
            name=view.name,
            sql=view.sql,
            chart=view.chart.kind.value,
            chart_x=view.chart.x,
            chart_y=view.chart.y,
            shared=view.shared,
            owner=view.owner,
            mine=view.mine,
            created_at=view.created_at,
            updated_at=view.updated_at,
            version=view.version,
        )


class DashboardIn(BaseModel):
    """Saved queries (yours or shared) to show together, in this order."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2_000)
    query_ids: list[int] = Field(min_length=1, max_length=12)
    shared: bool = False


class DashboardOut(BaseModel):
    id: int
    name: str
    description: str
    shared: bool
    owner: str
    mine: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime
    version: int
    queries: list[SavedQueryOut | None] = Field(
        description="In order; null for a query not shared with you. Empty in lists."
    )

    @classmethod
    def of(cls, view: DashboardView) -> DashboardOut:
        return cls(
            id=view.id,
            name=view.name,
            description=view.description,
            shared=view.shared,
            owner=view.owner,
            mine=view.mine,
            created_at=view.created_at,
            updated_at=view.updated_at,
            version=view.version,
            queries=[SavedQueryOut.of(q) if q is not None else None for q in view.queries],
        )
