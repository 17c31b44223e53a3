"""Several statements, or a transaction's last statement and its commit, in one round trip
(PostgreSQL, psycopg's pipeline mode).

Why: a writer that holds a row lock to its commit (the audit chain's head, see
``custodes.audit.chain``) otherwise holds it across one more round trip: the statement's
answer travels to the client, whose thread must get a core and, in a busy process, the GIL
before it sends ``COMMIT``. Under load that wait, not the database, was most of the time the
lock was held, and every other audited writer queued behind it. Sent together, the statement
and the ``COMMIT`` are run by the server back to back, and the lock is held for the server's
work alone.

Only for the last statement of a :meth:`CaseStore.write` transaction: the commit that follows
there finds the transaction already committed and sends nothing (psycopg's ``commit()`` on an
idle connection is a no-op), and nothing may run in the session after it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement


def execute_pipelined(
    session: Session, statements: Sequence[tuple[ClauseElement, Mapping[str, Any]]]
) -> list[tuple[Any, ...] | None]:
    """Run ``statements`` in order in one round trip, in the session's transaction; the
    first row of each (None when it returns none). Each is still a statement of its own:
    on PostgreSQL's READ COMMITTED, its snapshot is taken when it starts, after the one
    before it ended (a lock that one waited for is held by then). psycopg sends a ``BEGIN``
    ahead of them, in a trip of its own, when the transaction has not started yet."""
    return _run(session, statements, commit=False)


def execute_and_commit(
    session: Session, statement: ClauseElement, params: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    """Run ``statement`` (compiled once per statement object, its parameters processed by
    their SQLAlchemy types as ``Connection.execute`` would; no expanding ``IN`` parameters)
    and commit, in one round trip; the statement's first row (None when it returns none).
    Errors are raised as SQLAlchemy's (``IntegrityError`` and so on), and the transaction is
    then rolled back by the caller's ``CaseStore.write``."""
    (row,) = _run(session, [(statement, params)], commit=True)
    return row


def _run(
    session: Session,
    statements: Sequence[tuple[ClauseElement, Mapping[str, Any]]],
    *,
    commit: bool,
) -> list[tuple[Any, ...] | None]:
    if session.autoflush:
        session.flush()
    conn = session.connection()
    dialect = conn.dialect
    queued: list[tuple[str, dict[str, Any]]] = []
    for statement, params in statements:
        compiled, processors = _compiled(statement, dialect)
        values = compiled.construct_params(dict(params))
        assert values is not None
        for name, process in processors.items():
            values[name] = process(values[name])
        queued.append((compiled.string, dict(values)))
    raw: Any = conn.connection.driver_connection
    sql, values = queued[-1]  # named in an error (the failing one is not told apart)
    try:
        cursors = [raw.cursor() for _ in queued]
        try:
            with raw.pipeline():  # leaving it sends them all and waits for every answer
                for cursor, (sql, values) in zip(cursors, queued, strict=True):
                    cursor.execute(sql, values)
                if commit:
                    raw.execute("COMMIT")
            return [_first(c) for c in cursors]
        finally:
            for cursor in cursors:
                cursor.close()
    except dialect.loaded_dbapi.Error as err:
        raise exc.DBAPIError.instance(sql, values, err, dialect.loaded_dbapi.Error) from err


def _first(cursor: Any) -> tuple[Any, ...] | None:
    row = cursor.fetchone() if cursor.description else None
    return tuple(row) if row is not None else None


@functools.lru_cache(maxsize=256)
def _compiled(
    statement: ClauseElement, dialect: Dialect
) -> tuple[SQLCompiler, dict[str, Callable[[Any], Any]]]:
    """The statement compiled for ``dialect``, and the bind processors of its parameters
    (JSON serialisation and the like), as SQLAlchemy's own execution would apply them."""
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    processors: dict[str, Callable[[Any], Any]] = {}
    for bind, name in compiled.bind_names.items():  # by the name rendered (anonymous too)
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[compiled.escaped_bind_names.get(name, name)] = process
    return compiled, processors
