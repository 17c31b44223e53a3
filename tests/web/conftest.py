"""A real app over a real case store (SQLite and PostgreSQL), one user and token per role."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI

from custodes.access import passwords, tokens, users
from custodes.access.roles import Role
from custodes.config import Settings
from custodes.store.cases import CaseStore
from custodes.web.app import create_app
from tests.web.world import ACTORS, add_events, add_people

with warnings.catch_warnings():
    # Starlette nudges towards httpx2 on import; the client works the same with httpx.
    warnings.filterwarnings("ignore", "Using `httpx`", category=UserWarning)
    from fastapi.testclient import TestClient

__all__ = ["PASSWORD", "Api", "TestClient", "running_api", "serving"]

PASSWORD = "correct horse battery staple"


@dataclass
class Api:
    app: FastAPI
    client: TestClient
    store: CaseStore
    settings: Settings
    tokens: dict[Role, str]
    ids: dict[Role, int]

    def auth(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def login(self, client: TestClient, role: Role) -> str:
        """Log ``client`` in as ``role``'s user with a cookie; returns the CSRF token."""
        answer = client.post(
            "/api/auth/login", json={"username": role.value.replace("_", "-"), "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        csrf: str = answer.json()["csrf_token"]
        return csrf


def make_settings(data_dir: Path, case_url: str, **extra: object) -> Settings:
    return Settings(data_dir=data_dir, database_url=case_url, **extra)  # type: ignore[arg-type]


def seed_users(store: CaseStore) -> tuple[dict[Role, str], dict[Role, int]]:
    """One user per role, named after it (triage-analyst), with an API token each."""
    plain: dict[Role, str] = {}
    ids: dict[Role, int] = {}
    with store.write() as session:
        for role in Role:
            created = users.add_user(
                session, username=role.value.replace("_", "-"), role=role, password=PASSWORD
            )
            ids[role] = created.user.id
            plain[role] = tokens.create_token(
                session, created.user, name="tests", by="tests"
            ).plaintext
    return plain, ids


@pytest.fixture(autouse=True)
def _quick_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, but cheap: these tests log in hundreds of times."""
    monkeypatch.setattr(
        passwords, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@contextmanager
def running_api(case_url: str, data_dir: Path, **settings: object) -> Iterator[Api]:
    """The app over a fresh case store with one user per role, and an event store holding
    a few people and events (no alerts)."""
    config = make_settings(data_dir, case_url, **settings)
    add_people(data_dir)
    for actor in ACTORS:
        add_events(data_dir, actor, 0)
    with CaseStore(case_url) as store:
        app = create_app(config, store=store)
        plain, ids = seed_users(store)
        with TestClient(app) as client:
            yield Api(app, client, store, config, plain, ids)


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` under a real uvicorn server on a free loopback port; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def api(case_url: str, tmp_path: Path) -> Iterator[Api]:
    with running_api(case_url, tmp_path / "data") as running:
        yield running
