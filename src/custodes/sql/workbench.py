"""The SQL workbench: one read-only query over pseudonymised views of the event store.

Why it is built this way (defense in depth; each layer holds without the others):

* **The guard** (``guard.check``) refuses everything but one SELECT-style read of the views
  before any database is touched.
* **The sandbox** is a fresh in-memory DuckDB per query. The event store is ATTACHed to it
  READ_ONLY under a random name, the pseudonymised views (``views``) are created in the
  sandbox's own catalog, and only then are the doors shut: ``enable_external_access =
  false`` (no file, URL or database can be opened: ``read_csv``, ``COPY … TO``, ``ATTACH``,
  ``INSTALL`` and ``EXPORT`` all fail with a permission error), ``disabled_filesystems =
  'LocalFileSystem'`` (a second, independent wall in front of the disk; the store's file
  is already open), no extension auto-loading or community extensions, no Python
  replacement scans, no spilling to disk (``temp_directory = ''``), and finally
  ``lock_configuration = true`` so no statement can undo any of that. Writes cannot reach
  the store (attached read-only); a scratch table a statement might create lives in the
  sandbox's memory and dies with it.
* **One statement**: the sandbox splits the text itself and runs exactly one statement, so
  ``SELECT 1; DROP TABLE events`` never runs its second half even past the guard.
* **Time and size**: a timer thread calls ``interrupt()`` when the timeout passes; at most
  ``rows + 1`` rows are fetched (the extra one only says the answer was truncated) through
  a ``LIMIT`` on the query, so a huge result is never computed whole; rows are read in
  batches and the answer stops at ``MAX_ANSWER_BYTES``; the sandbox has the store's
  memory limit and no disk to spill to.

Pseudonymity rests on the views: a query sees only them. DuckDB has no privileges, so
what stops a query from naming the attached store (``store_….main.events``) or calling
the masking functions directly is the guard (unqualified names of views only, DuckDB's
built-in functions only); the random catalog name only keeps a blind guess from working.
A sandbox holding nothing but pseudonymised data would not need the guard for this, but
it means copying (or streaming through Python) every table a query touches, every time,
and losing DuckDB's filter pushdown and zone maps: seconds per query on a million events,
minutes on thirty million. Views over the attached store keep queries as fast as on the
store itself.

The store is opened here, by ``ATTACH`` inside the sandbox, rather than through
``store.events.EventStore``: the lockdown must be set on the connection that runs the
query, before it runs anything else, and the gateway's connection is a different one.

Values come back JSON-safe: DuckDB renders each cell with ``to_json`` (timestamps as text
such as ``2026-03-02 10:00:00``, decimals and big integers as numbers, nested values as
arrays and objects), and non-finite floats become the strings ``"NaN"``, ``"Infinity"``,
``"-Infinity"``.
"""

from __future__ import annotations

import functools
import json
import math
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import duckdb

from custodes.config import Settings
from custodes.errors import CustodesError, StoreError
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.sql import guard, views
from custodes.sql.guard import QueryRefused

DEFAULT_ROWS: Final = 1_000
MAX_ROWS: Final = 10_000
DEFAULT_TIMEOUT: Final = 30.0
# The rendered cells of one answer may not exceed this (a few long strings can be huge).
MAX_ANSWER_BYTES: Final = 32_000_000
BATCH_ROWS: Final = 256

# Settings applied after the store is attached and the views exist, in this order; the
# last one freezes them all.
LOCKDOWN: Final[tuple[str, ...]] = (
    "SET enable_external_access = false",
    "SET disabled_filesystems = 'LocalFileSystem'",
    "SET lock_configuration = true",
)


class QueryTimeout(CustodesError):
    """The query ran past its time limit and was stopped."""


class QueryFailed(CustodesError):
    """The query is allowed but DuckDB could not run it (a typo, a type error, memory)."""


@dataclass(frozen=True)
class ResultColumn:
    name: str
    type: str


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[ResultColumn, ...]
    rows: list[list[Any]]
    truncated: bool
    duration_ms: float

    @property
    def row_count(self) -> int:
        return len(self.rows)


def run(
    statement: str,
    *,
    store: Path | None,
    names: Pseudonyms,
    settings: Settings,
    rows: int = DEFAULT_ROWS,
    timeout: float = DEFAULT_TIMEOUT,
) -> QueryResult:
    """Check ``statement`` with the guard, then run it in a fresh sandbox over ``store``
    (the event store's file; None when there is none yet)."""
    checked = guard.check(statement, views.EXPOSED)
    if store is None and checked.tables:
        raise QueryFailed("there is no event store yet: run `custodes ingest` or `custodes demo`")
    with Sandbox.open(store, names, settings) as sandbox:
        return sandbox.run(checked.sql, rows=rows, timeout=timeout)


def describe(store: Path | None, settings: Settings) -> dict[str, tuple[views.Column, ...]]:
    """The views a query may read, with their columns (for the workbench's help): read
    from the store's catalog, attached read-only to a throwaway connection, and kept while
    the file is unchanged (its schema changes only when something writes to it)."""
    if store is None:
        return {}
    stat = store.stat()
    return dict(_describe(store, stat.st_mtime_ns, stat.st_size, settings.duckdb_memory_limit))


@functools.lru_cache(maxsize=4)
def _describe(
    store: Path, _mtime: int, _size: int, memory_limit: str
) -> tuple[tuple[str, tuple[views.Column, ...]], ...]:
    con = duckdb.connect(":memory:", config={"memory_limit": memory_limit})
    try:
        catalog = f"store_{secrets.token_hex(8)}"
        _attach(con, store, catalog)
        return tuple(views.view_columns(views.columns_of(con, catalog)).items())
    finally:
        con.close()


class Sandbox:
    """One locked-down in-memory DuckDB holding the pseudonymised views; one per query.

    ``run`` is the database layer alone: it does not consult the guard, so tests can show
    that this layer refuses files, the network, extensions, settings and store writes by
    itself."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, tables: tuple[str, ...], catalog: str | None
    ) -> None:
        self._con = con
        self.tables = tables  # the views created
        self.catalog = catalog  # the attached store's (random) name; None without a store

    @classmethod
    def open(cls, store: Path | None, names: Pseudonyms, settings: Settings) -> Sandbox:
        config: dict[str, Any] = {
            "memory_limit": settings.duckdb_memory_limit,
            "temp_directory": "",
            "autoload_known_extensions": False,
            "autoinstall_known_extensions": False,
            "allow_community_extensions": False,
            "allow_persistent_secrets": False,
            "python_enable_replacements": False,
        }
        if settings.duckdb_threads:
            config["threads"] = settings.duckdb_threads
        con = duckdb.connect(":memory:", config=config)
        try:
            con.execute("SET TimeZone = 'UTC'")
            tables: tuple[str, ...] = ()
            catalog = None
            if store is not None:
                catalog = f"store_{secrets.token_hex(8)}"
                _attach(con, store, catalog)
                tables = views.install(con, catalog, names)
            for statement in LOCKDOWN:
                con.execute(statement)
        except BaseException:
            con.close()
            raise
        return cls(con, tables, catalog)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def run(
        self, sql: str, *, rows: int = DEFAULT_ROWS, timeout: float = DEFAULT_TIMEOUT
    ) -> QueryResult:
        """Run exactly one statement of ``sql``; at most ``rows`` rows, ``timeout`` seconds."""
        try:
            statements = self._con.extract_statements(sql)
        except duckdb.Error as exc:
            raise QueryFailed(_message(exc)) from None
        if len(statements) != 1:
            raise QueryRefused(f"one statement at a time: found {len(statements)}")
        timer = threading.Timer(timeout, self._con.interrupt)
        timer.daemon = True
        started = time.perf_counter()
        timer.start()
        try:
            columns, fetched = self._execute(statements[0], rows)
        except duckdb.InterruptException:
            raise QueryTimeout(
                f"the query ran longer than {timeout:g} s and was stopped: narrow it (a WHERE "
                "on ts, fewer joins, an aggregate) and try again"
            ) from None
        except duckdb.Error as exc:
            raise _refusal(exc) from None
        finally:
            timer.cancel()
        elapsed = (time.perf_counter() - started) * 1000
        return QueryResult(
            columns=columns,
            rows=[[_cell(v) for v in row] for row in fetched[:rows]],
            truncated=len(fetched) > rows,
            duration_ms=round(elapsed, 3),
        )

    def _execute(
        self, statement: Any, rows: int
    ) -> tuple[tuple[ResultColumn, ...], Sequence[tuple[Any, ...]]]:
        relation = self._con.sql(statement)
        if relation is None:  # a statement with no result (only reachable past the guard)
            return (), []
        names, types = relation.columns, relation.types
        columns = tuple(ResultColumn(str(n), str(t)) for n, t in zip(names, types, strict=True))
        if not columns:
            return (), []
        cells = ", ".join(f"to_json(#{i})" for i in range(1, len(columns) + 1))
        reader = relation.project(cells).limit(rows + 1).to_arrow_reader(BATCH_ROWS)
        fetched: list[tuple[Any, ...]] = []
        size = 0
        for batch in reader:
            size += batch.nbytes
            if size > MAX_ANSWER_BYTES:
                raise QueryFailed(
                    f"the answer is larger than {MAX_ANSWER_BYTES // 1_000_000} MB: select "
                    "fewer rows or columns, or shorter values"
                )
            fetched.extend(zip(*(column.to_pylist() for column in batch.columns), strict=True))
        return columns, fetched


def _attach(con: duckdb.DuckDBPyConnection, store: Path, catalog: str) -> None:
    path = str(store).replace("'", "''")
    try:
        con.execute(f"ATTACH '{path}' AS {catalog} (READ_ONLY)")
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreError(
                f"the event store {store} is in use by another custodes process; "
                "wait for it to finish"
            ) from exc
        raise StoreError(f"cannot open the event store {store}: {exc}") from exc
    except duckdb.Error as exc:
        raise StoreError(f"cannot open the event store {store}: {exc}") from exc


def _refusal(exc: duckdb.Error) -> CustodesError:
    """A DuckDB error as the workbench's answer: the sandbox refusing is a refusal."""
    text = _message(exc)
    if isinstance(exc, duckdb.PermissionException):
        return QueryRefused(f"refused by the sandbox: {text}")
    lowered = text.lower()
    if "configuration has been locked" in lowered or "read-only mode" in lowered:
        return QueryRefused(f"refused by the sandbox: {text}")
    if isinstance(exc, duckdb.OutOfMemoryException):
        return QueryFailed(f"the query needs more memory than the workbench has: {text}")
    return QueryFailed(text)


def _message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 2_000 else text[:2_000] + "…"


def _cell(value: Any) -> Any:
    """One cell: DuckDB's JSON text of it, parsed, with non-finite floats as strings."""
    if value is None:
        return None
    return _finite(json.loads(value))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value
