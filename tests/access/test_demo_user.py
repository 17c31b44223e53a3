"""The demo login of `custodes demo --serve`: development only, a fresh random password
each time (the old one stops working), and disabled by a production server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from custodes.access import users
from custodes.access.roles import Role
from custodes.config import Settings
from custodes.errors import ConflictError, PermissionDeniedError
from custodes.store.cases import CaseStore

DEV = Settings(environment="development")
PROD = Settings(environment="production")


def test_demo_user_only_in_development(cases: CaseStore) -> None:
    with cases.write() as session, pytest.raises(PermissionDeniedError):
        users.reset_demo_user(session, PROD)
    with cases.read() as session:
        assert users.list_users(session)[1] == 0


def test_each_reset_gives_a_new_password(cases: CaseStore) -> None:
    with cases.write() as session:
        name, first = users.reset_demo_user(session, DEV)
    with cases.write() as session:
        again, second = users.reset_demo_user(session, DEV)
    assert name == again == "demo"
    assert first != second and len(second) >= 24
    with cases.write() as session:
        assert users.authenticate(session, "demo", first) is None
        principal = users.authenticate(session, "demo", second)
        assert principal is not None and principal.role is Role.admin


def test_a_production_server_retires_the_demo_login(cases: CaseStore) -> None:
    with cases.write() as session:
        _name, password = users.reset_demo_user(session, DEV)
        assert not users.retire_demo_user(session, DEV)  # development keeps it
    with cases.write() as session, pytest.raises(ConflictError, match="only admin"):
        users.retire_demo_user(session, PROD)  # it is the only admin: say so, change nothing
    with cases.write() as session:
        users.add_user(session, username="root", role=Role.admin, password="a real admin password")
    with cases.write() as session:
        assert users.retire_demo_user(session, PROD)
        assert not users.retire_demo_user(session, PROD)  # once
        assert users.authenticate(session, "demo", password) is None


def test_a_user_who_happens_to_be_called_demo_is_left_alone(cases: CaseStore) -> None:
    with cases.write() as session:
        users.add_user(session, username="demo", role=Role.lead, password="their own password")
    with cases.write() as session, pytest.raises(ConflictError, match="not the demo login"):
        users.reset_demo_user(session, DEV)
    with cases.write() as session:
        assert not users.retire_demo_user(session, PROD)
        assert users.authenticate(session, "demo", "their own password") is not None


def test_demo_serve_refuses_outside_development(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "custodes", "demo", "--serve", "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        check=False,
        env={"CUSTODES_ENVIRONMENT": "production", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert "development only" in done.stderr
    assert not (tmp_path / "d").exists()  # refused before doing anything
