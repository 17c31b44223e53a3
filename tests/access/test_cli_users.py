"""`custodes user add|list|disable`, `custodes token create`, and settings that refuse
placeholder secrets outside development."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from custodes.access import tokens
from custodes.config import Settings
from custodes.store.cases import CaseStore


def _cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODES_")}
    return subprocess.run(
        [sys.executable, "-m", "custodes", *args, "--data-dir", str(data_dir)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_user_and_token_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = _cli(data, "user", "add", "alice", "--role", "lead", "--format", "json")
    assert added.returncode == 0, added.stderr
    record = json.loads(added.stdout)
    assert record["username"] == "alice" and len(record["password"]) >= 24
    given = _cli(
        data,
        "user",
        "add",
        "bob",
        "--role",
        "auditor",
        "--password-stdin",
        "--format",
        "json",
        stdin="a long enough passphrase\n",
    )
    assert given.returncode == 0 and "password" not in json.loads(given.stdout)
    weak = _cli(
        data, "user", "add", "carol", "--role", "lead", "--password-stdin", stdin="changeme\n"
    )
    assert weak.returncode == 2 and "at least 12" in weak.stderr
    bad_role = _cli(data, "user", "add", "dave", "--role", "superuser")
    assert bad_role.returncode == 2
    listed = _cli(data, "user", "list", "--format", "json")
    assert [u["username"] for u in json.loads(listed.stdout)] == ["alice", "bob"]
    token = _cli(data, "token", "create", "alice", "--name", "etl", "--format", "json")
    assert token.returncode == 0, token.stderr
    plain = json.loads(token.stdout)["token"]
    assert plain.startswith("cst_")
    url = Settings(data_dir=data).case_database_url
    with CaseStore(url) as store, store.read() as session:
        assert tokens.resolve_token(session, plain) is not None
    disabled = _cli(data, "user", "disable", "alice", "--format", "json")
    assert disabled.returncode == 0 and json.loads(disabled.stdout)["disabled"] is True
    with CaseStore(url) as store, store.read() as session:
        assert tokens.resolve_token(session, plain) is None
    nobody = _cli(data, "user", "disable", "nobody")
    assert nobody.returncode == 2 and "no user" in nobody.stderr


@pytest.mark.parametrize("key", ["changeme", "secret", "x" * 40, "short-but-random-9f8e"])
def test_placeholder_secrets_refused_outside_development(key: str) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(environment="production", pseudonym_key=key)
    assert Settings(environment="development", pseudonym_key=key).pseudonym_key == key
