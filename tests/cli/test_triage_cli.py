"""`custodes triage rate|import|queue` end to end: files rated without a store, imported into
a real case store (SQLite and PostgreSQL) row by row, and the queue read back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from custodes.access.roles import Role
from custodes.cli.app import app
from custodes.errors import PermissionDeniedError
from custodes.store.cases import CaseStore
from custodes.store.schema import Escalation
from tests.cases.helpers import add_user

runner = CliRunner()

ROWS: list[dict[str, Any]] = [
    {
        "escalation_id": "a",
        "received_at": "2026-11-20T10:00:00Z",
        "source": "ngo",
        "body": "This account keeps posting insults at a streamer.",
        "subject_ids": ["acct:1"],
        "reach": 5000,
    },
    {
        "escalation_id": "b",
        "received_at": "2026-11-20T11:00:00Z",
        "source": "user_report",
        "body": "Same account is insulting her again.",
        "subject_ids": ["acct:1"],
    },
    {"escalation_id": "c", "source": "ngo", "body": "no time given"},
]
FIELDS = [
    "escalation_id",
    "rating",
    "score",
    "factors",
    "route",
    "sla_due_at",
    "language",
    "category",
]


def jsonl(tmp_path: Path, rows: list[Any], extra: str = "") -> Path:
    path = tmp_path / "escalations.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n" + extra)
    return path


def test_rate_prints_the_contract_fields_and_names_bad_rows(tmp_path: Path) -> None:
    path = jsonl(tmp_path, ROWS, "not json\n")
    result = runner.invoke(app, ["triage", "rate", str(path), "-f", "json"])
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert [r["escalation_id"] for r in out] == ["a", "b"]
    assert all(list(r) == FIELDS for r in out)
    assert all(round(sum(f["contribution"] for f in r["factors"]), 2) == r["score"] for r in out)
    second = next(f for f in out[1]["factors"] if f["name"] == "repeat")
    assert second["input"].startswith("1 earlier escalations")  # the file is the context
    assert f"{path}, row 3, field 'received_at': is required" in result.stderr
    assert f"{path}, row 4: not JSON" in result.stderr


def test_triage_file_is_rate_file_and_csv_works(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        "escalation_id,received_at,source,body,subject_ids,reach\n"
        "a,2026-11-20T10:00:00Z,ngo,This account keeps insulting a streamer.,acct:1;acct:2,5000\n"
        "b,2026-11-20T10:00:00Z,ngo,bad reach,,lots\n"
    )
    result = runner.invoke(app, ["triage", str(path), "-f", "csv"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == ",".join(FIELDS) and lines[1].startswith("a,P")
    assert len(lines) == 2
    assert f"{path}, row 3, field 'reach'" in result.stderr


@pytest.fixture
def env(case_url: str, data_dir: Path) -> dict[str, str]:
    with CaseStore(case_url) as cases:
        add_user(cases, "tom", Role.triage_analyst)
        add_user(cases, "ana", Role.investigator)
    return {"CUSTODES_DATABASE_URL": case_url, "CUSTODES_USER": "tom"}


def test_import_lands_good_rows_and_names_bad_ones(
    env: dict[str, str], data_dir: Path, tmp_path: Path, case_url: str
) -> None:
    path = jsonl(tmp_path, ROWS)
    args = ["triage", "import", str(path), "--data-dir", str(data_dir), "-f", "json"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    assert [(r["row"], r["escalation_id"], r["result"]) for r in out] == [
        (1, "a", "created"),
        (2, "b", "created"),
    ]
    assert f"{path}, row 3, field 'received_at'" in result.stderr
    again = runner.invoke(app, args, env=env)
    assert [r["result"] for r in json.loads(again.stdout)] == ["repeat", "repeat"]
    with CaseStore(case_url) as cases, cases.read() as session:
        assert session.scalar(select(func.count()).select_from(Escalation)) == 2
    queue = runner.invoke(
        app, ["triage", "queue", "--data-dir", str(data_dir), "-f", "json"], env=env
    )
    assert queue.exit_code == 0, queue.output
    items = json.loads(queue.stdout)
    assert [i["escalation_id"] for i in items] == ["a", "b"]  # a's clock runs out first
    denied = runner.invoke(app, args, env=env | {"CUSTODES_USER": "ana"})
    assert isinstance(denied.exception, PermissionDeniedError)
