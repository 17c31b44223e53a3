"""The PostgreSQL policy itself: CI must fail, not skip, when the database is missing."""

from __future__ import annotations

import pytest

from tests import conftest


def test_missing_postgres_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "postgres_reachable", lambda *a, **k: False)
    monkeypatch.setenv("CUSTODES_REQUIRE_POSTGRES", "1")
    with pytest.raises(pytest.fail.Exception, match="CUSTODES_REQUIRE_POSTGRES"):
        conftest.require_postgres()


def test_missing_postgres_skips_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "postgres_reachable", lambda *a, **k: False)
    monkeypatch.delenv("CUSTODES_REQUIRE_POSTGRES", raising=False)
    with pytest.raises(pytest.skip.Exception):
        conftest.require_postgres()


def test_postgres_is_reachable_where_it_should_be(postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url.replace("postgresql+psycopg", "postgresql")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
