"""Shared fixtures: real stores in temporary folders, and the PostgreSQL policy.

Tests that need PostgreSQL skip when it is not reachable, unless CUSTODES_REQUIRE_POSTGRES=1
(set by CI), which turns that skip into a failure so a broken database cannot hide.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

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
