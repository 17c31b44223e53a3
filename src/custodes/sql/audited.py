"""Running workbench queries for a person: permission, the query, and its audit row.

Why here and not in a route: the JSON API (``POST /api/sql``), the workbench page and the
dashboards all run queries, and every run — whatever its outcome — must leave the same
``sql.run`` row (the statement, how it ended, rows, truncated, duration). A refusal is as
interesting to an auditor as a result, so the row is written before the error goes back.

Its target id is a digest of the statement, so auditors can group repeats of one query.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from custodes import audit
from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.config import Settings
from custodes.errors import CustodesError, StoreError
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.sql import guard, views
from custodes.sql.guard import QueryRefused
from custodes.sql.workbench import (
    DEFAULT_ROWS,
    DEFAULT_TIMEOUT,
    QueryFailed,
    QueryResult,
    QueryTimeout,
    Sandbox,
    run,
)
from custodes.store.cases import CaseStore

QueryError = QueryRefused | QueryFailed | QueryTimeout
OUTCOMES: Final[dict[type[CustodesError], str]] = {
    QueryRefused: "refused",
    QueryFailed: "failed",
    QueryTimeout: "timeout",
}


@dataclass(frozen=True)
class Outcome:
    """One query of a batch: its result, or the error that stopped it."""

    result: QueryResult | None
    error: QueryError | None


def run_audited(
    store: CaseStore,
    principal: Principal,
    statement: str,
    *,
    events: Path | None,
    settings: Settings,
    rows: int = DEFAULT_ROWS,
    timeout: float = DEFAULT_TIMEOUT,
    saved_query_id: int | None = None,
) -> QueryResult:
    """Run one statement over the event store file ``events`` (None: no store yet) and
    audit it. Raises ``QueryRefused``/``QueryFailed``/``QueryTimeout`` (audited as such)
    or ``StoreError`` (audited as ``unavailable``)."""
    principal.require(Permission.sql_run)
    names = Pseudonyms.load(store, settings)
    started = time.perf_counter()
    extra = {} if saved_query_id is None else {"saved_query_id": saved_query_id}
    try:
        result = run(
            statement, store=events, names=names, settings=settings, rows=rows, timeout=timeout
        )
    except (QueryRefused, QueryFailed, QueryTimeout) as exc:
        outcome = OUTCOMES[type(exc)]
        _audit(store, principal, statement, rows, started, outcome=outcome, error=str(exc), **extra)
        raise
    except StoreError as exc:
        _audit(store, principal, statement, rows, started, outcome="unavailable", error=str(exc))
        raise
    _audit(
        store,
        principal,
        statement,
        rows,
        started,
        outcome="ok",
        rows=result.row_count,
        truncated=result.truncated,
        **extra,
    )
    return result


def run_batch(
    store: CaseStore,
    principal: Principal,
    statements: Sequence[tuple[int, str]],
    *,
    events: Path | None,
    settings: Settings,
    rows: int = DEFAULT_ROWS,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Outcome]:
    """Several saved queries (``(saved query id, sql)``) in one sandbox, as a dashboard
    shows them: the store is attached and the views built once, not once per chart. Each
    query is checked by the guard, run and audited on its own, and one failing does not
    stop the others. ``StoreError`` (the store is busy) stops them all, audited."""
    principal.require(Permission.sql_run)
    if not statements:
        return []
    names = Pseudonyms.load(store, settings)
    started = time.perf_counter()
    try:
        sandbox = Sandbox.open(events, names, settings)
    except StoreError as exc:
        for query_id, sql in statements:
            _audit(
                store,
                principal,
                sql,
                rows,
                started,
                outcome="unavailable",
                error=str(exc),
                saved_query_id=query_id,
            )
        raise
    out: list[Outcome] = []
    with sandbox:
        for query_id, sql in statements:
            began = time.perf_counter()
            try:
                checked = guard.check(sql, views.EXPOSED)
                if events is None and checked.tables:
                    raise QueryFailed(
                        "there is no event store yet: run `custodes ingest` or `custodes demo`"
                    )
                result = sandbox.run(checked.sql, rows=rows, timeout=timeout)
            except (QueryRefused, QueryFailed, QueryTimeout) as exc:
                outcome = OUTCOMES[type(exc)]
                _audit(
                    store,
                    principal,
                    sql,
                    rows,
                    began,
                    outcome=outcome,
                    error=str(exc),
                    saved_query_id=query_id,
                )
                out.append(Outcome(None, exc))
                continue
            _audit(
                store,
                principal,
                sql,
                rows,
                began,
                outcome="ok",
                rows=result.row_count,
                truncated=result.truncated,
                saved_query_id=query_id,
            )
            out.append(Outcome(result, None))
    return out


def _audit(
    store: CaseStore,
    principal: Principal,
    statement: str,
    limit: int,
    started: float,
    *,
    outcome: str,
    **detail: Any,
) -> None:
    digest = hashlib.sha256(statement.encode()).hexdigest()[:16]
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    with store.write() as session:
        audit.append(
            session,
            actor=principal.username,
            action="sql.run",
            target_type="sql",
            target_id=digest,
            detail={
                "statement": statement,
                "outcome": outcome,
                "limit": limit,
                "duration_ms": elapsed,
                **detail,
            },
        )
