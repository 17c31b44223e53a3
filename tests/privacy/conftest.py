"""Fixtures for case tests: a service over the `cases` store (SQLite and PostgreSQL) and a
team of users, one per role."""

from __future__ import annotations

from pathlib import Path

import pytest

from custodes.access.principal import Principal
from custodes.cases import CaseService
from custodes.config import Settings
from custodes.store.cases import CaseStore
from tests.cases.helpers import team


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", pseudonym_key="k" * 32)


@pytest.fixture
def service(cases: CaseStore, settings: Settings) -> CaseService:
    return CaseService(cases, settings)


@pytest.fixture
def people(cases: CaseStore) -> dict[str, Principal]:
    return team(cases)
