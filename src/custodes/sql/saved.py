"""Saved workbench queries and dashboards made of them.

A saved query is a name, one statement and a quick chart choice (none, bar or line, over
two result columns); a dashboard is an ordered list of saved queries whose charts are drawn
together. Both belong to the person who made them and may be shared with everyone who may
run SQL (``sql.run``). Why store the SQL and not the result: a dashboard shows the data as
it is now, and every run goes through the guard, the sandbox and the audit log again, so a
saved query can never show more than its viewer may see.

Rules:

* **Visible** to the owner, and to every ``sql.run`` holder when shared; anything else does
  not exist for the caller (``NotFoundError``), as for cases.
* **Changed or deleted by the owner only**, against the ``version`` read (a stale version is
  a ``ConflictError``, as for cases and escalations).
* **Checked when saved**: the SQL must pass the guard (a refused statement is an
  ``InputError`` on ``sql`` with the guard's reason); names are unique per owner.
* A dashboard lists saved queries visible to its owner; a viewer is shown those visible to
  them, and a placeholder for the others (a query its owner has stopped sharing).
  Deleting a saved query takes it off every dashboard.
* **Audited**: ``sql.save``, ``sql.delete``, ``sql.dashboard_save``,
  ``sql.dashboard_delete``. Running them is audited as any query is (``sql.audited``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, TypeVar

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from custodes import audit
from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.clock import utc_now_aware
from custodes.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from custodes.sql import guard, views
from custodes.sql.guard import QueryRefused
from custodes.store.cases import CaseStore
from custodes.store.schema import Dashboard, DashboardItem, SavedQuery

_Owned = TypeVar("_Owned", SavedQuery, Dashboard)

MAX_NAME: Final = 200
MAX_COLUMN: Final = 256
MAX_DESCRIPTION: Final = 2_000
MAX_ITEMS: Final = 12  # charts on one dashboard: each is a query run when it is shown


class ChartKind(StrEnum):
    none = "none"
    bar = "bar"
    line = "line"


@dataclass(frozen=True)
class ChartChoice:
    """How to draw a result: ``kind`` over the columns named ``x`` and ``y``."""

    kind: ChartKind = ChartKind.none
    x: str | None = None
    y: str | None = None

    @classmethod
    def of(cls, kind: str | None, x: str | None, y: str | None) -> ChartChoice:
        """Checked: a known kind; both columns for a chart, neither without one."""
        try:
            chosen = ChartKind((kind or "none").strip() or "none")
        except ValueError:
            allowed = ", ".join(ChartKind)
            raise InputError(f"must be one of {allowed}", field="chart") from None
        if chosen is ChartKind.none:
            return cls()
        cols = {}
        for name, value in (("chart_x", x), ("chart_y", y)):
            text = (value or "").strip()
            if not text:
                raise InputError("a chart needs a column for each axis", field=name)
            if len(text) > MAX_COLUMN:
                raise InputError(f"is longer than {MAX_COLUMN} characters", field=name)
            cols[name] = text
        return cls(chosen, cols["chart_x"], cols["chart_y"])


@dataclass(frozen=True)
class SavedQueryView:
    id: int
    name: str
    sql: str
    chart: ChartChoice
    shared: bool
    owner: str
    mine: bool
    created_at: datetime
    updated_at: datetime
    version: int


@dataclass(frozen=True)
class DashboardView:
    id: int
    name: str
    description: str
    shared: bool
    owner: str
    mine: bool
    created_at: datetime
    updated_at: datetime
    version: int
    # In order; None where the viewer may not see that query (no longer shared with them).
    queries: tuple[SavedQueryView | None, ...]


class SavedQueries:
    """Saved queries and dashboards in one case store; cheap to create per request."""

    def __init__(self, store: CaseStore) -> None:
        self.store = store

    # --- saved queries -------------------------------------------------------------------

    def list_queries(self, principal: Principal) -> list[SavedQueryView]:
        """The caller's own and everyone's shared queries, by name."""
        principal.require(Permission.sql_run)
        with self.store.read() as session:
            rows = session.scalars(
                select(SavedQuery)
                .where(_visible(SavedQuery, principal))
                .order_by(SavedQuery.name, SavedQuery.id)
            ).all()
            return [_query_view(r, principal) for r in rows]

    def get_query(self, principal: Principal, query_id: int) -> SavedQueryView:
        principal.require(Permission.sql_run)
        with self.store.read() as session:
            return _query_view(_load_query(session, principal, query_id), principal)

    def save_query(
        self,
        principal: Principal,
        *,
        name: str,
        sql: str,
        chart: ChartChoice,
        shared: bool,
        query_id: int | None = None,
        version: int | None = None,
    ) -> SavedQueryView:
        """Create a saved query, or (with ``query_id`` and the ``version`` read) change
        one of the caller's own."""
        principal.require(Permission.sql_run)
        clean_name = _name(name)
        statement = _statement(sql)
        now = utc_now_aware()
        with self._write() as session:
            _unique(session, SavedQuery, principal, clean_name, query_id)
            if query_id is None:
                row = SavedQuery(
                    owner_id=principal.user_id, owner=principal.username, created_at=now
                )
            else:
                row = _owned(_load_query(session, principal, query_id), principal, version)
            row.name, row.sql, row.shared, row.updated_at = clean_name, statement, shared, now
            row.chart, row.chart_x, row.chart_y = chart.kind.value, chart.x, chart.y
            session.add(row)
            session.flush()
            audit.append(
                session,
                actor=principal.username,
                action="sql.save",
                target_type="saved_query",
                target_id=row.id,
                detail={
                    "name": clean_name,
                    "statement": statement,
                    "chart": chart.kind.value,
                    "shared": shared,
                    "created": query_id is None,
                },
            )
            return _query_view(row, principal)

    def delete_query(self, principal: Principal, query_id: int, version: int) -> None:
        """Delete one of the caller's queries (and take it off every dashboard)."""
        principal.require(Permission.sql_run)
        with self._write() as session:
            row = _owned(_load_query(session, principal, query_id), principal, version)
            boards = session.scalars(
                select(DashboardItem.dashboard_id)
                .where(DashboardItem.saved_query_id == row.id)
                .distinct()
            ).all()
            session.execute(delete(DashboardItem).where(DashboardItem.saved_query_id == row.id))
            audit.append(
                session,
                actor=principal.username,
                action="sql.delete",
                target_type="saved_query",
                target_id=row.id,
                detail={"name": row.name, "dashboards": sorted(boards)},
            )
            session.delete(row)

    # --- dashboards ----------------------------------------------------------------------

    def list_dashboards(self, principal: Principal) -> list[DashboardView]:
        """The caller's own and everyone's shared dashboards, by name (without queries)."""
        principal.require(Permission.sql_run)
        with self.store.read() as session:
            rows = session.scalars(
                select(Dashboard)
                .where(_visible(Dashboard, principal))
                .order_by(Dashboard.name, Dashboard.id)
            ).all()
            return [_dashboard_view(r, principal, ()) for r in rows]

    def get_dashboard(self, principal: Principal, dashboard_id: int) -> DashboardView:
        """One dashboard with its queries in order (None for those hidden from the caller)."""
        principal.require(Permission.sql_run)
        with self.store.read() as session:
            row = _load_dashboard(session, principal, dashboard_id)
            items = session.scalars(
                select(DashboardItem)
                .where(DashboardItem.dashboard_id == row.id)
                .order_by(DashboardItem.position)
            ).all()
            ids = [i.saved_query_id for i in items]
            found = {
                q.id: q
                for q in session.scalars(
                    select(SavedQuery).where(
                        SavedQuery.id.in_(ids), _visible(SavedQuery, principal)
                    )
                )
            }
            queries = tuple(_query_view(found[i], principal) if i in found else None for i in ids)
            return _dashboard_view(row, principal, queries)

    def save_dashboard(
        self,
        principal: Principal,
        *,
        name: str,
        query_ids: Sequence[int],
        shared: bool,
        description: str = "",
        dashboard_id: int | None = None,
        version: int | None = None,
    ) -> DashboardView:
        """Create a dashboard of saved queries (in the order given), or change one of the
        caller's own against the ``version`` read."""
        principal.require(Permission.sql_run)
        clean_name = _name(name)
        text = (description or "").strip()
        if len(text) > MAX_DESCRIPTION:
            raise InputError(f"is longer than {MAX_DESCRIPTION} characters", field="description")
        _check_text(text, "description")
        ids = list(dict.fromkeys(query_ids))
        if not ids:
            raise InputError("a dashboard needs at least one saved query", field="queries")
        if len(ids) > MAX_ITEMS:
            raise InputError(f"a dashboard holds at most {MAX_ITEMS} queries", field="queries")
        now = utc_now_aware()
        with self._write() as session:
            seen = set(
                session.scalars(
                    select(SavedQuery.id).where(
                        SavedQuery.id.in_(ids), _visible(SavedQuery, principal)
                    )
                )
            )
            missing = [i for i in ids if i not in seen]
            if missing:
                raise InputError(
                    f"no saved query {', '.join(map(str, missing))} (yours or shared)",
                    field="queries",
                )
            _unique(session, Dashboard, principal, clean_name, dashboard_id)
            if dashboard_id is None:
                row = Dashboard(
                    owner_id=principal.user_id, owner=principal.username, created_at=now
                )
            else:
                row = _owned(_load_dashboard(session, principal, dashboard_id), principal, version)
            row.name, row.description, row.shared, row.updated_at = clean_name, text, shared, now
            session.add(row)
            session.flush()
            session.execute(delete(DashboardItem).where(DashboardItem.dashboard_id == row.id))
            session.add_all(
                DashboardItem(dashboard_id=row.id, position=n, saved_query_id=i)
                for n, i in enumerate(ids)
            )
            session.flush()
            audit.append(
                session,
                actor=principal.username,
                action="sql.dashboard_save",
                target_type="dashboard",
                target_id=row.id,
                detail={
                    "name": clean_name,
                    "queries": ids,
                    "shared": shared,
                    "created": dashboard_id is None,
                },
            )
            found = {
                q.id: q for q in session.scalars(select(SavedQuery).where(SavedQuery.id.in_(ids)))
            }
            return _dashboard_view(
                row, principal, tuple(_query_view(found[i], principal) for i in ids)
            )

    def delete_dashboard(self, principal: Principal, dashboard_id: int, version: int) -> None:
        principal.require(Permission.sql_run)
        with self._write() as session:
            row = _owned(_load_dashboard(session, principal, dashboard_id), principal, version)
            session.execute(delete(DashboardItem).where(DashboardItem.dashboard_id == row.id))
            audit.append(
                session,
                actor=principal.username,
                action="sql.dashboard_delete",
                target_type="dashboard",
                target_id=row.id,
                detail={"name": row.name},
            )
            session.delete(row)

    # --- internals -----------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A write transaction whose lost races are ``ConflictError``: a concurrent edit
        (``version``) or the same name saved twice at once (the unique constraint)."""
        try:
            with self.store.write() as session:
                yield session
        except StaleDataError as err:
            raise ConflictError("it changed meanwhile; read it again") from err
        except IntegrityError as err:
            raise ConflictError("the same name was saved at the same time; try again") from err


def _visible(model: type[SavedQuery] | type[Dashboard], principal: Principal) -> Any:
    return or_(model.owner_id == principal.user_id, model.shared.is_(True))


def _load_query(session: Session, principal: Principal, query_id: int) -> SavedQuery:
    row = session.get(SavedQuery, query_id)
    if row is None or not (row.shared or row.owner_id == principal.user_id):
        raise NotFoundError(f"no saved query {query_id}")
    return row


def _load_dashboard(session: Session, principal: Principal, dashboard_id: int) -> Dashboard:
    row = session.get(Dashboard, dashboard_id)
    if row is None or not (row.shared or row.owner_id == principal.user_id):
        raise NotFoundError(f"no dashboard {dashboard_id}")
    return row


def _owned(row: _Owned, principal: Principal, version: int | None) -> _Owned:
    if row.owner_id != principal.user_id:
        raise PermissionDeniedError(f"only its owner ({row.owner}) may change or delete it")
    if version is None or row.version != version:
        raise ConflictError(
            f"it is at version {row.version}, not {version}: it changed meanwhile; read it again"
        )
    return row


def _unique(
    session: Session,
    model: type[SavedQuery] | type[Dashboard],
    principal: Principal,
    name: str,
    own_id: int | None,
) -> None:
    """Names are unique per owner: say so on the field rather than fail on the index."""
    clash = session.scalar(
        select(model.id).where(model.owner_id == principal.user_id, model.name == name)
    )
    if clash is not None and clash != own_id:
        raise InputError(f"you already have one named {name!r}", field="name")


def _name(name: str) -> str:
    text = (name or "").strip()
    if not text:
        raise InputError("is required", field="name")
    if len(text) > MAX_NAME:
        raise InputError(f"is longer than {MAX_NAME} characters", field="name")
    _check_text(text, "name")
    return text


def _statement(sql: str) -> str:
    """The statement, if the guard lets it through (saving one it refuses would only save
    an error for later)."""
    text = (sql or "").strip()
    if not text:
        raise InputError("is required", field="sql")
    try:
        guard.check(text, views.EXPOSED)
    except QueryRefused as exc:
        raise InputError(f"the workbench would refuse it: {exc}", field="sql") from None
    return text


def _check_text(text: str, where: str) -> None:
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\r\t" for ch in text):
        raise InputError("must not contain control characters", field=where)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _query_view(row: SavedQuery, principal: Principal) -> SavedQueryView:
    return SavedQueryView(
        id=row.id,
        name=row.name,
        sql=row.sql,
        chart=ChartChoice(ChartKind(row.chart), row.chart_x, row.chart_y),
        shared=row.shared,
        owner=row.owner,
        mine=row.owner_id == principal.user_id,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
        version=row.version,
    )


def _dashboard_view(
    row: Dashboard, principal: Principal, queries: tuple[SavedQueryView | None, ...]
) -> DashboardView:
    return DashboardView(
        id=row.id,
        name=row.name,
        description=row.description,
        shared=row.shared,
        owner=row.owner,
        mine=row.owner_id == principal.user_id,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
        version=row.version,
        queries=queries,
    )
