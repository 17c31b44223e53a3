"""A small real event store whose staff ids look like nothing else ("staff-<name>-7391"),
so a test can search a whole answer for them and prove that only pseudonyms come out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from custodes.config import Settings
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.store.events import DB_FILE, EventStore

DAY0 = datetime(2026, 3, 2)
MALLORY, TRUDY, WALTER = "staff-mallory-7391", "staff-trudy-7392", "staff-walter-7393"
STAFF = (MALLORY, TRUDY, WALTER)
NAMES = {MALLORY: "Mallory Moe", TRUDY: "Trudy Tee", WALTER: "Walter Wu"}


def build_store(data_dir: Path) -> Path:
    """People (with real names and a manager), events (a QA review naming whom it reviewed,
    a role grant naming the grantee), an account with a declared conflict, a ticket, a
    label and an alert whose reasons name two people."""
    with EventStore.open(data_dir) as store:
        for actor in STAFF:
            manager = WALTER if actor != WALTER else None
            store.execute(
                "INSERT INTO people (actor_id, name, role, manager_id) VALUES (?, ?, ?, ?)",
                [actor, NAMES[actor], "moderator", manager],
            )
        for i in range(30):
            actor = STAFF[i % 3]
            other = STAFF[(i + 1) % 3]
            action = ("view_profile", "qa_review", "role_grant")[i % 3]
            attrs = {"reviewed_actor_id": other} if action == "qa_review" else {}
            if action == "role_grant":
                attrs = {"grantee_id": other, "note": f"granted by {actor} to {other}"}
            store.execute(
                "INSERT INTO events (event_id, ts, actor_id, action, target_type, target_id, "
                "attrs) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    f"ev-{i:03d}",
                    DAY0 + timedelta(hours=i),
                    actor,
                    action,
                    {"view_profile": "account", "qa_review": "decision"}.get(action, "role"),
                    {"view_profile": f"acct-{i}", "qa_review": f"ev-{i - 1:03d}"}.get(
                        action, "admin"
                    ),
                    json.dumps(attrs) if attrs else None,
                ],
            )
        # A colleague's own account looked up: a staff id as an event's target.
        store.execute(
            "INSERT INTO events (event_id, ts, actor_id, action, target_type, target_id) "
            "VALUES ('ev-100', ?, ?, 'view_private_data', 'account', ?)",
            [DAY0 + timedelta(days=2), MALLORY, TRUDY],
        )
        store.execute(
            "INSERT INTO accounts (account_id, high_profile, conflict_actor_ids) "
            "VALUES ('acct-1', true, ?)",
            [[MALLORY]],
        )
        store.execute(
            "INSERT INTO tickets (ticket_id, actor_id, target_id) VALUES ('t-1', ?, 'acct-1')",
            [TRUDY],
        )
        store.execute(
            "INSERT INTO labels (actor_id, scenario, start) VALUES (?, 'unjustified_access', ?)",
            [MALLORY, DAY0],
        )
        store.execute(
            "INSERT INTO alerts (alert_id, actor_id, detector, category, severity, score, "
            "window_start, window_end, reasons, evidence_event_ids, pattern, detect_run) "
            "VALUES ('al-1', ?, 'baselines', 'unjustified_access', 'high', 0.9, ?, ?, ?, ?, ?, 1)",
            [
                MALLORY,
                DAY0,
                DAY0 + timedelta(days=1),
                [f"{MALLORY} viewed 40 private profiles", f"device d-1 is also used by {TRUDY}"],
                ["ev-000"],
                f"baselines:{MALLORY}:views",
            ],
        )
    return data_dir / DB_FILE


@pytest.fixture(scope="module")
def store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store per test module: nothing the workbench does may change it (and the
    tests that try check that it did not)."""
    return build_store(tmp_path_factory.mktemp("sql") / "data")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", duckdb_memory_limit="1GB", duckdb_threads=2)


@pytest.fixture
def names() -> Pseudonyms:
    return Pseudonyms(b"a test key of more than sixteen bytes")


@pytest.fixture
def no_files(tmp_path: Path) -> Iterator[Path]:
    """A folder that must still be empty after the test (nothing written into it)."""
    folder = tmp_path / "out"
    folder.mkdir()
    yield folder
    assert list(folder.iterdir()) == []
