"""The workbench over a real event store: pseudonymised views, and a sandbox that refuses
files, the network, extensions, settings and store writes by itself (the guard bypassed),
a timeout that stops a slow query, a row limit that says when it cut."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.config import Settings
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.sql import QueryFailed, QueryRefused, QueryTimeout, Sandbox, run
from custodes.sql.views import Masker
from custodes.store.events import EventStore
from tests.sql.conftest import MALLORY, NAMES, STAFF, TRUDY, WALTER


def _run(sql: str, store: Path | None, names: Pseudonyms, cfg: Settings) -> dict[str, Any]:
    result = run(sql, store=store, names=names, settings=cfg)
    return {
        "columns": [c.name for c in result.columns],
        "rows": result.rows,
        "truncated": result.truncated,
    }


def _no_staff_ids(answer: object) -> None:
    text = json.dumps(answer)
    for actor in STAFF:
        assert actor not in text
    for name in NAMES.values():
        assert name not in text


# -- pseudonyms -------------------------------------------------------------------------


def test_events_come_back_with_subjects_not_actor_ids(
    store_file: Path, names: Pseudonyms, settings: Settings
) -> None:
    got = _run(
        "SELECT subject, count(*) AS n FROM events GROUP BY ALL ORDER BY subject",
        store_file,
        names,
        settings,
    )
    assert got["columns"] == ["subject", "n"]
    assert {row[0]: row[1] for row in got["rows"]} == {
        names.of(MALLORY): 11,
        names.of(TRUDY): 10,
        names.of(WALTER): 10,
    }
    _no_staff_ids(got)


@pytest.mark.parametrize(
    "table",
    ["events", "people", "accounts", "tickets", "labels", "alerts", "alert_verdicts"],
)
def test_no_view_shows_a_staff_id_or_name(
    table: str, store_file: Path, names: Pseudonyms, settings: Settings
) -> None:
    got = _run(f"SELECT * FROM {table}", store_file, names, settings)
    assert "actor_id" not in got["columns"]
    _no_staff_ids(got)


def test_ids_inside_text_and_lists_are_masked(
    store_file: Path, names: Pseudonyms, settings: Settings
) -> None:
    grants = _run(
        "SELECT attrs->>'grantee_id', attrs->>'note' FROM events WHERE action = 'role_grant' "
        "ORDER BY event_id LIMIT 1",
        store_file,
        names,
        settings,
    )["rows"]
    # ev-002: Walter granted a role to Mallory.
    assert grants == [[names.of(MALLORY), f"granted by {names.of(WALTER)} to {names.of(MALLORY)}"]]
    looked_up = _run(
        "SELECT target_id FROM events WHERE event_id = 'ev-100'", store_file, names, settings
    )
    assert looked_up["rows"] == [[names.of(TRUDY)]]
    alert = _run("SELECT subject, reasons, pattern FROM alerts", store_file, names, settings)
    assert alert["rows"] == [
        [
            names.of(MALLORY),
            [
                f"{names.of(MALLORY)} viewed 40 private profiles",
                f"device d-1 is also used by {names.of(TRUDY)}",
            ],
            f"baselines:{names.of(MALLORY)}:views",
        ]
    ]
    account = _run("SELECT conflict_subjects FROM accounts", store_file, names, settings)
    assert account["rows"] == [[[names.of(MALLORY)]]]


def test_people_have_no_names_and_a_pseudonymous_manager(
    store_file: Path, names: Pseudonyms, settings: Settings
) -> None:
    got = _run("SELECT * FROM people ORDER BY subject", store_file, names, settings)
    assert "name" not in got["columns"]
    assert "run_id" not in got["columns"]
    managers = {row[got["columns"].index("manager")] for row in got["rows"]}
    assert managers == {names.of(WALTER), None}


def test_a_filter_on_a_real_id_finds_nothing(
    store_file: Path, names: Pseudonyms, settings: Settings
) -> None:
    """The views hold only pseudonyms, so no predicate can be an oracle for a real id."""
    got = _run(
        f"SELECT count(*) FROM events WHERE subject = '{MALLORY}' "
        f"OR attrs::VARCHAR LIKE '%{TRUDY}%' OR target_id = '{TRUDY}'",
        store_file,
        names,
        settings,
    )
    assert got["rows"] == [[0]]


def test_masking_matches_the_rest_of_custodes(names: Pseudonyms) -> None:
    ids = ["u1", "u12", "staff-a.b", "x"]
    masker = Masker(names, ids)
    text = "u12 met u1 and staff-a.b (not u123: its prefix u12 is masked) x"
    masked = masker.mask(pa.array([text, None, "nobody"])).to_pylist()
    assert masked == [names.mask(text, ids), None, "nobody"]


def test_json_masking_keeps_json_valid_when_ids_are_numbers(names: Pseudonyms) -> None:
    """Numeric employee ids are common: one in a JSON number becomes a JSON string."""
    masker = Masker(names, ["1001", "staff-a"])
    text = (
        '{"reviewed_actor_id": 1001, "note": "by 1001 and staff-a", '
        '"records": 10010, "ratio": -1001.5, "ok": true}'
    )
    masked = masker.mask_json(pa.array([text, None, '{"n": 7}'])).to_pylist()
    assert json.loads(masked[0]) == {
        "reviewed_actor_id": names.of("1001"),
        "note": f"by {names.of('1001')} and {names.of('staff-a')}",
        "records": 10010,
        "ratio": -1001.5,
        "ok": True,
    }
    assert masked[1:] == [None, '{"n": 7}']


@settings(max_examples=100, deadline=None)
@given(
    ids=st.lists(st.text("abcdefghij-.", min_size=2, max_size=6), min_size=1, max_size=8),
    picks=st.lists(st.integers(0, 20), max_size=12),
)
def test_masking_agrees_with_pseudonyms_mask_on_separated_ids(
    ids: list[str], picks: list[int]
) -> None:
    names = Pseudonyms(b"a test key of more than sixteen bytes")
    words = [ids[p % len(ids)] if p < 15 else str(p) for p in picks]
    text = " ".join(words)
    masked = Masker(names, ids).mask(pa.array([text])).to_pylist()
    assert masked == [names.mask(text, ids)]


COLUMNS = [
    ("events", "subject"),
    ("events", "target_id"),
    ("events", "attrs"),
    ("people", "subject"),
    ("people", "manager"),
    ("people", "attrs"),
    ("accounts", "conflict_subjects"),
    ("tickets", "subject"),
    ("labels", "subject"),
    ("alerts", "subject"),
    ("alerts", "reasons"),
    ("alerts", "pattern"),
]
TRANSFORMS = [
    "{c}",
    "upper({c}::VARCHAR)",
    "reverse({c}::VARCHAR)",
    "replace({c}::VARCHAR, 'S-', '')",
    "to_json({c})",
    "string_agg({c}::VARCHAR, '|')",
    "list({c})",
    "min({c}::VARCHAR)",
    "{c}::VARCHAR || '!'",
]


@settings(max_examples=40, deadline=None)
@given(column=st.sampled_from(COLUMNS), transform=st.sampled_from(TRANSFORMS))
def test_no_transformation_of_a_view_reveals_a_staff_id(
    store_file: Path, column: tuple[str, str], transform: str
) -> None:
    names = Pseudonyms(b"a test key of more than sixteen bytes")
    table, name = column
    sql = f"SELECT {transform.format(c=name)} FROM {table}"
    got = run(sql, store=store_file, names=names, settings=Settings(duckdb_threads=2))
    text = json.dumps(got.rows).lower()
    for actor in STAFF:
        assert actor not in text
        assert actor[::-1] not in text


# -- the sandbox alone (no guard) --------------------------------------------------------


SANDBOX_REFUSES = [
    ("COPY (SELECT 1) TO '{out}/x.csv'", "Permission Error"),
    ("COPY events TO '{out}/events.parquet' (FORMAT parquet)", "Permission Error"),
    ("EXPORT DATABASE '{out}/dump'", "Permission Error"),
    ("SELECT * FROM read_csv('/etc/passwd')", "Permission Error"),
    ("SELECT * FROM read_text('/etc/passwd')", "Permission Error"),
    ("SELECT * FROM read_blob('/etc/hostname')", "Permission Error"),
    ("SELECT * FROM glob('/etc/*')", "Permission Error"),
    ("SELECT * FROM read_parquet('http://127.0.0.1:9/x.parquet')", "Permission Error"),
    ("ATTACH '{out}/other.db' AS other", "Permission Error"),
    ("INSTALL httpfs", "Permission Error"),
    ("LOAD httpfs", "Permission Error"),
    ("SET enable_external_access = true", "the configuration has been locked"),
    ("RESET enable_external_access", "the configuration has been locked"),
    ("PRAGMA enable_external_access = true", "the configuration has been locked"),
    ("SET disabled_filesystems = ''", "the configuration has been locked"),
    ("SET lock_configuration = false", "the configuration has been locked"),
    ("SET allowed_directories = ['/']", "the configuration has been locked"),
    ("SET memory_limit = '100GB'", "the configuration has been locked"),
    ("SET temp_directory = '{out}'", "the configuration has been locked"),
    ("CALL enable_logging()", "the configuration has been locked"),
    (
        "INSERT INTO {store}.events (event_id, ts, actor_id, action) "
        "VALUES ('x', now(), 'a', 'login')",
        "read-only mode",
    ),
    ("DELETE FROM {store}.events", "read-only mode"),
    ("DROP TABLE {store}.people", "read-only mode"),
    ("CREATE TABLE {store}.main.t AS SELECT 1", "read-only mode"),
    ("SELECT 1; DROP TABLE {store}.events", "one statement at a time"),
]


@pytest.mark.parametrize(("sql", "says"), SANDBOX_REFUSES, ids=[s[0][:48] for s in SANDBOX_REFUSES])
def test_the_sandbox_alone_refuses_files_network_settings_and_writes(
    sql: str,
    says: str,
    store_file: Path,
    names: Pseudonyms,
    settings: Settings,
    no_files: Path,
) -> None:
    with Sandbox.open(store_file, names, settings) as sandbox:
        statement = sql.format(out=no_files, store=sandbox.catalog)
        with pytest.raises(QueryRefused) as refused:
            sandbox.run(statement)
        assert says in str(refused.value)
        # ... and the sandbox still works, with its limits in place.
        assert sandbox.run("SELECT current_setting('enable_external_access')").rows == [[False]]
    with EventStore.open(store_file.parent, read_only=True) as store:
        assert store.fetch_value("SELECT count(*) FROM events") == 31
        assert store.fetch_value("SELECT count(*) FROM people") == 3


def test_the_sandbox_refuses_to_read_a_database_file_by_path(
    store_file: Path, names: Pseudonyms, settings: Settings
) -> None:
    with Sandbox.open(store_file, names, settings) as sandbox, pytest.raises(QueryRefused):
        sandbox.run(f"SELECT * FROM '{store_file}'")


def test_a_scratch_table_dies_with_its_sandbox(
    store_file: Path, names: Pseudonyms, settings: Settings
) -> None:
    """Past the guard, a CREATE TABLE lands in the sandbox's own memory, never the store."""
    with Sandbox.open(store_file, names, settings) as sandbox:
        sandbox.run("CREATE TABLE scratch AS SELECT 1 AS x")
    with Sandbox.open(store_file, names, settings) as sandbox, pytest.raises(QueryFailed):
        sandbox.run("SELECT * FROM scratch")


# -- time and size ----------------------------------------------------------------------


def test_a_slow_query_is_stopped_at_its_timeout(
    store_file: Path, names: Pseudonyms, settings: Settings
) -> None:
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match=r"ran longer than 0\.5 s and was stopped"):
        run(
            "SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b",
            store=store_file,
            names=names,
            settings=settings,
            timeout=0.5,
        )
    # Generous: a cross join of 10^12 rows would take hours if the timer did not stop it.
    assert time.monotonic() - started < 30


def test_the_row_limit_truncates_and_says_so(
    store_file: Path, names: Pseudonyms, settings: Settings
) -> None:
    cut = run("SELECT * FROM events", store=store_file, names=names, settings=settings, rows=5)
    assert cut.row_count == 5
    assert cut.truncated
    whole = run("SELECT * FROM events", store=store_file, names=names, settings=settings, rows=31)
    assert whole.row_count == 31
    assert not whole.truncated


def test_a_huge_result_is_never_computed_whole(
    store_file: Path, names: Pseudonyms, settings: Settings
) -> None:
    """A trillion rows, of which only ``rows + 1`` are ever produced."""
    got = run(
        "SELECT * FROM range(1000000000000)",
        store=store_file,
        names=names,
        settings=settings,
        rows=3,
        timeout=20,
    )
    assert got.rows == [[0], [1], [2]]
    assert got.truncated


def test_an_answer_too_large_is_refused_not_built(
    store_file: Path, names: Pseudonyms, settings: Settings
) -> None:
    with pytest.raises(QueryFailed, match="the answer is larger than 32 MB"):
        run(
            "SELECT repeat('x', 1000000) FROM range(100)",
            store=store_file,
            names=names,
            settings=settings,
        )


def test_the_order_of_the_query_is_kept(
    store_file: Path, names: Pseudonyms, settings: Settings
) -> None:
    got = run(
        "SELECT event_id FROM events ORDER BY ts DESC",
        store=store_file,
        names=names,
        settings=settings,
        rows=3,
    )
    assert got.rows == [["ev-100"], ["ev-029"], ["ev-028"]]


def test_values_are_json_safe(store_file: Path, names: Pseudonyms, settings: Settings) -> None:
    got = run(
        "SELECT 'nan'::DOUBLE AS a, '-inf'::DOUBLE AS b, TIMESTAMP '2026-03-02 10:00' AS c, "
        "DATE '2026-03-02' AS d, [1, 2] AS e, {'k': 'v'} AS f, 1.25::DECIMAL(5, 2) AS g, "
        "170141183460469231731687303715884105727::HUGEINT AS h, NULL AS i, 'x'::BLOB AS j, "
        "INTERVAL 1 DAY AS k, 1 AS a",
        store=store_file,
        names=names,
        settings=settings,
    )
    assert [c.name for c in got.columns] == list("abcdefghijka")
    assert got.columns[2].type == "TIMESTAMP"
    row = got.rows[0]
    json.dumps(got.rows, allow_nan=False)
    assert row[:9] == [
        "NaN",
        "-Infinity",
        "2026-03-02 10:00:00",
        "2026-03-02",
        [1, 2],
        {"k": "v"},
        1.25,
        170141183460469231731687303715884105727,
        None,
    ]


def test_describe_summarize_show_and_explain_run(
    store_file: Path, names: Pseudonyms, settings: Settings
) -> None:
    tables = run("SHOW TABLES", store=store_file, names=names, settings=settings)
    assert {r[0] for r in tables.rows} >= {"events", "people", "alerts"}
    described = run("DESCRIBE events", store=store_file, names=names, settings=settings)
    assert "subject" in {r[0] for r in described.rows}
    summary = run("SUMMARIZE people", store=store_file, names=names, settings=settings)
    _no_staff_ids(summary.rows)
    plan = run("EXPLAIN SELECT * FROM events", store=store_file, names=names, settings=settings)
    assert [c.name for c in plan.columns] == ["explain_key", "explain_value"]


def test_refused_before_the_store_is_touched(
    names: Pseudonyms, settings: Settings, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "events.duckdb"
    with pytest.raises(QueryRefused, match="COPY is refused"):
        run("COPY events TO 'x.csv'", store=missing, names=names, settings=settings)
    assert not missing.parent.exists()


def test_without_a_store_only_table_free_queries_run(names: Pseudonyms, settings: Settings) -> None:
    assert run("SELECT 40 + 2", store=None, names=names, settings=settings).rows == [[42]]
    with pytest.raises(QueryFailed, match="no event store yet"):
        run("SELECT * FROM events", store=None, names=names, settings=settings)


def test_a_mistake_in_an_allowed_query_is_a_clear_failure(
    store_file: Path, names: Pseudonyms, settings: Settings
) -> None:
    with pytest.raises(QueryFailed, match="actor_id"):
        run("SELECT actor_id FROM events", store=store_file, names=names, settings=settings)
