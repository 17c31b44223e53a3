"""Shared fixtures: real stores in temporary folders, and the PostgreSQL and Spark policy.

Tests that need PostgreSQL skip when it is not reachable, unless CUSTODES_REQUIRE_POSTGRES=1
(set by CI), which turns that skip into a failure so a broken database cannot hide; Spark
tests likewise with CUSTODES_REQUIRE_SPARK=1.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from custodes.store.cases import CaseStore
from custodes.store.events import EventStore

POSTGRES_URL = os.environ.get(
    "CUSTODES_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_reachable(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    """Skip, or fail under CUSTODES_REQUIRE_POSTGRES=1, when PostgreSQL is not there."""
    if postgres_reachable():
        return
    message = "PostgreSQL is not reachable at 127.0.0.1:5432"
    if os.environ.get("CUSTODES_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{message} and CUSTODES_REQUIRE_POSTGRES=1")
    pytest.skip(message)


def spark_missing() -> str | None:
    """Why the Spark engine cannot run here (no PySpark, no Java 17+), or None."""
    from custodes.detect.engine.session import check_java
    from custodes.errors import CustodesError

    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (the spark extra)"
    try:
        check_java()
    except CustodesError as exc:
        return str(exc)
    return None


def require_spark() -> None:
    """Skip, or fail under CUSTODES_REQUIRE_SPARK=1 (set by CI), without Spark."""
    why = spark_missing()
    if why is None:
        return
    if os.environ.get("CUSTODES_REQUIRE_SPARK") == "1":
        pytest.fail(f"{why} and CUSTODES_REQUIRE_SPARK=1")
    pytest.skip(why)


@pytest.fixture
def postgres_url() -> str:
    require_postgres()
    return POSTGRES_URL


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> Iterator[EventStore]:
    with EventStore.open(data_dir) as s:
        yield s


def case_store_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty case database: a SQLite file, or a PostgreSQL schema of its own (so
    tests in parallel never see each other's rows), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'cases.sqlite'}"
        return
    require_postgres()
    import uuid

    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def case_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every case-store test runs on both databases."""
    yield from case_store_url(request.param, tmp_path)


@pytest.fixture
def cases(case_url: str) -> Iterator[CaseStore]:
    """A migrated case store, on SQLite and on PostgreSQL."""
    with CaseStore(case_url) as store:
        yield store
