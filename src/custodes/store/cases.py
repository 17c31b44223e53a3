"""The case store gateway: the only place that connects to the transactional database.

SQLite (a file in the data dir) by default, PostgreSQL when ``CUSTODES_DATABASE_URL`` says
so. Opening migrates the schema to the newest Alembic revision, so a fresh install and an
upgraded one end up with the same tables.

Why two kinds of transaction: SQLite lets one writer in at a time, and a transaction that
first reads and later writes can fail with "database is locked" when another writer got in
between (no wait helps there). :meth:`CaseStore.write` therefore starts SQLite transactions
with ``BEGIN IMMEDIATE`` (take the write lock first, wait for it), while :meth:`read` starts
ordinary ones, so readers never queue behind writers (WAL). On PostgreSQL both are plain
transactions; writers serialise where they must with row locks (the audit chain's head).

Why SQLite's WAL is checkpointed here, not by SQLite: by default the commit that takes the
write-ahead log past 1000 pages copies it back into the database file, inside that write
transaction, fsync included — ~3.5 % of intake commits took 2-70 ms instead of ~0.15 ms,
while every other writer waited on the lock. Writers' connections turn that off; every
``CHECKPOINT_EVERY`` write transactions a process runs a PASSIVE checkpoint after releasing
the lock (it waits for no reader or writer, and writers go on appending meanwhile).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from custodes.config import Settings
from custodes.errors import StoreError
from custodes.store.writer import WriterLock

MIGRATIONS = Path(__file__).with_name("migrations")
# Write transactions (per process) between two WAL checkpoints on SQLite: about SQLite's
# own default of 1000 WAL pages, at the ~10 pages an escalation intake writes.
CHECKPOINT_EVERY: Final = 100


class CaseStore:
    """Owns the engine and hands out sessions; use as a context manager to dispose it."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = _engine(url, immediate=False)
        # On SQLite, writers get their own engine whose transactions begin IMMEDIATE.
        self.write_engine = _engine(url, immediate=True) if self.is_sqlite else self.engine
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)
        # Writers queue on a lock rather than in SQLite's busy handler (see store/writer.py).
        self._writer: contextlib.AbstractContextManager[object] = (
            WriterLock(_sqlite_file(url)) if self.is_sqlite else contextlib.nullcontext()
        )
        self._writes = 0  # write transactions since the last checkpoint (SQLite)
        if migrate:
            self.upgrade()

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> CaseStore:
        url = settings.case_database_url
        if url.startswith("sqlite:///"):
            folder = Path(url.removeprefix("sqlite:///")).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create data dir {folder}: {exc}") from exc
        return cls(url, migrate=migrate)

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.is_sqlite:  # SQLite's advice: keep the planner's statistics fresh at close
            with contextlib.suppress(OperationalError), self.write_engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA optimize")
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()
        if isinstance(self._writer, WriterLock):
            self._writer.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; rolled back at the end (nothing it did is kept)."""
        with self._read() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose work commits at the end, or not at all if anything raises."""
        with self._writer, self._write() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
        if self.is_sqlite:
            self._writes += 1  # a lost update under threads only delays a checkpoint
            if self._writes >= CHECKPOINT_EVERY:
                self._writes = 0
                self.checkpoint()

    def checkpoint(self) -> None:
        """Copy SQLite's write-ahead log into the database file as far as no reader still
        needs it (PASSIVE: never waits, never blocks writers); nothing on PostgreSQL."""
        if not self.is_sqlite:
            return
        raw = self.engine.raw_connection()  # autocommit: no BEGIN, no write lock
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            cursor.close()
        finally:
            raw.close()

    # --- migrations ---------------------------------------------------------------------

    def upgrade(self, revision: str = "head") -> None:
        self._alembic("upgrade", revision)

    def downgrade(self, revision: str) -> None:
        self._alembic("downgrade", revision)

    def revision(self) -> str | None:
        """The schema revision the database is at (None before the first migration)."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def tables(self) -> set[str]:
        return set(inspect(self.engine).get_table_names())

    def _alembic(self, verb: str, revision: str) -> None:
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.write_engine.begin() as conn:
                config.attributes["connection"] = conn
                getattr(command, verb)(config, revision)
        except OperationalError as exc:
            raise StoreError(f"case store {_safe(self.url)}: {exc.orig}") from exc


def _engine(url: str, *, immediate: bool) -> Engine:
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:  # a malformed URL or a missing driver
        raise StoreError(f"case store {_safe(url)}: {exc}") from exc
    if url.startswith("sqlite"):
        _sqlite_pragmas(engine, immediate=immediate)
    return engine


def _sqlite_pragmas(engine: Engine, *, immediate: bool) -> None:
    """pysqlite's own transaction handling is switched off so we choose how each begins."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        if immediate:  # writers: the store checkpoints, outside the lock (see the module)
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for an in-memory database."""
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _safe(url: str) -> str:
    """The URL without its password, for error messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"
