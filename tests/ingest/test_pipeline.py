"""Ingest end to end on real DuckDB stores: formats, quarantine, idempotence, atomicity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custodes.errors import InputError
from custodes.ingest import expand, ingest_sources, source_for
from custodes.model.schema import EVENTS, LABELS, PEOPLE
from custodes.store.events import EventStore
from tests.ingest.files import event_rows, write_csv, write_jsonl, write_parquet


def _ingest(store: EventStore, path: Path, entity=EVENTS):  # type: ignore[no-untyped-def]
    return ingest_sources(store, [source_for(path, entity)])


def _quarantine(store: EventStore) -> list[tuple[Any, ...]]:
    return store.fetch_all(
        "SELECT file, row, field, reason FROM quarantine ORDER BY file, row, field"
    )


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".jsonl", ".jsonl.gz", ".parquet"])
def test_every_format_stores_the_same_events(
    store: EventStore, tmp_path: Path, suffix: str
) -> None:
    rows = event_rows(25)
    path = tmp_path / f"events{suffix}"
    if ".csv" in suffix:
        write_csv(path, rows)
    elif ".jsonl" in suffix:
        write_jsonl(path, [{**r, "attrs": json.loads(r["attrs"])} for r in rows])
    else:
        write_parquet(path, rows)
    report = _ingest(store, path)
    assert report.total("stored") == 25
    assert report.total("quarantined") == 0
    got = store.fetch_all(
        "SELECT event_id, strftime(ts, '%Y-%m-%dT%H:%M:%SZ'), actor_id, action, target_id, "
        "duration_ms, attrs->>'queue' FROM events ORDER BY event_id"
    )
    want = sorted(
        (
            r["event_id"],
            r["ts"],
            r["actor_id"],
            r["action"],
            r["target_id"],
            r["duration_ms"],
            json.loads(r["attrs"])["queue"],
        )
        for r in rows
    )
    assert sorted(got) == want


def test_reingest_adds_nothing_and_counts_duplicates(store: EventStore, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", event_rows(40))
    first = _ingest(store, path)
    second = _ingest(store, path)
    assert (first.total("stored"), first.total("duplicate")) == (40, 0)
    assert (second.total("stored"), second.total("duplicate")) == (0, 40)
    assert store.fetch_value("SELECT count(*) FROM events") == 40


def test_rows_without_event_id_get_a_stable_derived_id_across_formats(
    store: EventStore, tmp_path: Path
) -> None:
    rows = [{k: v for k, v in r.items() if k != "event_id"} for r in event_rows(10)]
    csv_path = write_csv(tmp_path / "e.csv", rows, header=list(rows[0]))
    jsonl_path = write_jsonl(
        tmp_path / "e.jsonl", [{**r, "attrs": json.loads(r["attrs"])} for r in rows]
    )
    assert _ingest(store, csv_path).total("stored") == 10
    again = _ingest(store, jsonl_path)
    assert again.total("stored") == 0
    assert again.total("duplicate") == 10
    ids = [r[0] for r in store.fetch_all("SELECT event_id FROM events")]
    assert all(i.startswith("h-") for i in ids) and len(set(ids)) == 10


def test_duplicate_ids_inside_one_file_keep_the_first(store: EventStore, tmp_path: Path) -> None:
    rows = event_rows(3)
    rows.append({**rows[0], "target_id": "later-copy"})
    report = _ingest(store, write_csv(tmp_path / "e.csv", rows))
    assert report.total("stored") == 3 and report.total("duplicate") == 1
    assert store.fetch_value("SELECT target_id FROM events WHERE event_id = 'e0'") == "c0"


def test_bad_rows_are_quarantined_with_row_field_reason_and_good_rows_land(
    store: EventStore, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        b"event_id,ts,actor_id,action,duration_ms,country\n"
        b"e1,2026-01-05T10:00:00Z,u1,login,5,IE\n"  # row 1 good
        b"e2,yesterday,u1,login,5,IE\n"  # row 2 bad ts
        b"e3,2026-01-05T10:00:00Z,,login,5,IE\n"  # row 3 missing actor
        b"e4,2026-01-05T10:00:00Z,u1,teleport,5,IE\n"  # row 4 unknown action
        b"e5,2026-01-05T10:00:00Z,u1\n"  # row 5 truncated
        b"e6,2026-01-05T10:00:00Z,u1,login,-3,Ireland\n"  # row 6 negative + bad country
        b"\xff\xfe7,2026-01-05T10:00:00Z,u1,login,5,IE\n"  # row 7 not UTF-8
        b"e8,2026-01-05T10:00:00+02:00,u1,x-custom_thing,12.0,ie\n"  # row 8 good (offset, x-, 12.0)
        b"e9,2026-01-05T10:00:00Z,u1,login,5,IE,surplus\n"  # row 9 too many columns
    )
    report = _ingest(store, path)
    assert (report.total("read"), report.total("stored"), report.total("quarantined")) == (9, 2, 7)
    q = _quarantine(store)
    # Rows are named by their line in the file (header = line 1).
    by_row = {(row, fld): reason for _, row, fld, reason in q}
    assert "unparseable timestamp" in by_row[(3, "ts")]
    assert "required" in by_row[(4, "actor_id")]
    assert "unknown action" in by_row[(5, "action")]
    assert any(row == 6 and "missing columns" in reason for (row, _), reason in by_row.items())
    assert "negative" in by_row[(7, "duration_ms")]
    assert "country" in by_row[(7, "country")]
    assert any(row == 8 and "encoding" in reason for (row, _), reason in by_row.items())
    assert any(row == 10 and "too many columns" in reason for (row, _), reason in by_row.items())
    stored = store.fetch_all(
        "SELECT event_id, ts, country, duration_ms FROM events ORDER BY event_id"
    )
    assert [r[0] for r in stored] == ["e1", "e8"]
    assert stored[1][1].isoformat() == "2026-01-05T08:00:00"  # +02:00 converted to UTC
    assert stored[1][2:] == ("IE", 12)


def test_reingesting_a_bad_file_does_not_repeat_its_quarantine(
    store: EventStore, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("event_id,ts,actor_id,action\ne1,nope,u1,login\ne2,2026-01-05,u1,login\n")
    _ingest(store, path)
    _ingest(store, path)
    assert store.fetch_value("SELECT count(*) FROM quarantine") == 1


def test_jsonl_broken_lines_are_quarantined_by_line_number(
    store: EventStore, tmp_path: Path
) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(
        '{"ts": "2026-01-05T10:00:00Z", "actor_id": "u1", "action": "login", "extra": 7}\n'
        "\n"
        '{"ts": "2026-01-05T10:00:00Z", "actor_id": \n'
        "[1, 2, 3]\n"
        '{"ts": "2026-01-05T11:00:00Z", "actor_id": "u1", "action": "login", "attrs": "text"}\n'
        '{"ts": "2026-01-05T12:00:00Z", "actor_id": "u2", "action": "export_data", "records": 12}'
    )
    report = _ingest(store, path)
    assert report.total("stored") == 2
    q = {(row, fld): reason for _, row, fld, reason in _quarantine(store)}
    assert q == {
        (3, "record"): "not valid JSON",
        (4, "record"): "not a JSON object",
        (5, "attrs"): "not a JSON object",
    }
    # Unknown keys are kept in attrs, never an error.
    assert store.fetch_value("SELECT attrs->>'extra' FROM events WHERE actor_id = 'u1'") == "7"


def test_missing_required_column_is_an_error_naming_file_and_column_and_stores_nothing(
    store: EventStore, tmp_path: Path
) -> None:
    path = tmp_path / "noactor.csv"
    path.write_text("event_id,ts,action\ne1,2026-01-05,login\n")
    report = _ingest(store, path)
    assert report.total("stored") == 0
    [failed] = report.failed
    assert failed.error is not None
    assert "noactor.csv" in failed.error and "actor_id" in failed.error
    assert store.fetch_value("SELECT count(*) FROM events") == 0
    assert store.fetch_value("SELECT count(*) FROM quarantine") == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty"),
        ("trunc.parquet", b"PAR1\x00\x00garbage", "cannot be read"),
        ("notgzip.csv.gz", b"event_id,ts\n", "cannot be read"),
        ("data.xlsx", b"whatever", "unknown file type"),
    ],
)
def test_unreadable_files_fail_clearly_and_store_nothing(
    store: EventStore, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    if name.endswith((".xlsx", ".gz")) or not content:
        with pytest.raises(InputError, match=message) as info:
            source_for(path, EVENTS)
        assert name in str(info.value)
        return
    sources = [source_for(path, EVENTS)]
    report = ingest_sources(store, sources)
    [failed] = report.failed
    assert failed.error is not None and message in failed.error and name in failed.error
    assert store.fetch_value("SELECT count(*) FROM events") == 0


def test_truncated_gzip_stores_nothing_from_that_file(store: EventStore, tmp_path: Path) -> None:
    good = write_csv(tmp_path / "good.csv.gz", event_rows(2000))
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    report = ingest_sources(store, [source_for(cut, EVENTS), source_for(good, EVENTS)])
    assert [f.file for f in report.failed] == [str(cut)]
    assert report.total("stored") == 2000  # the good file still lands whole


def test_huge_field_is_quarantined_not_stored(store: EventStore, tmp_path: Path) -> None:
    rows = event_rows(2)
    rows[1]["target_id"] = "x" * 5000
    rows.append({**event_rows(1, start=9)[0], "attrs": json.dumps({"blob": "y" * 200_000})})
    report = _ingest(store, write_csv(tmp_path / "huge.csv", rows))
    assert report.total("stored") == 1
    reasons = {fld: reason for _, _, fld, reason in _quarantine(store)}
    assert "longer than 2048" in reasons["target_id"]
    assert "longer than 65536" in reasons["attrs"]


def test_megabyte_field_is_quarantined_and_oversized_line_fails_clearly(
    store: EventStore, tmp_path: Path
) -> None:
    rows = event_rows(3)
    rows[1]["target_id"] = "z" * (3 * 1024 * 1024)
    report = _ingest(store, write_csv(tmp_path / "big.csv", rows))
    assert (report.total("stored"), report.total("quarantined")) == (2, 1)
    rows[1]["target_id"] = "z" * (5 * 1024 * 1024)
    report = _ingest(store, write_csv(tmp_path / "giant.csv", rows))
    [failed] = report.failed
    assert failed.error is not None
    assert "giant.csv" in failed.error
    assert "line" in failed.error.lower()
    assert store.fetch_value("SELECT count(*) FROM events") == 2


def test_parquet_with_native_types_and_struct_attrs(store: EventStore, tmp_path: Path) -> None:
    from datetime import datetime

    table = pa.table(
        {
            "ts": pa.array(
                [datetime(2026, 1, 5, 9, 0), datetime(2026, 1, 5, 9, 5)], pa.timestamp("us")
            ),
            "actor_id": ["u1", "u2"],
            "action": ["login", "print"],
            "records": pa.array([None, 3], pa.int32()),
            "attrs": [{"queue": "a"}, {"queue": "b"}],
            "site": ["dub", "mnl"],
        }
    )
    path = tmp_path / "native.parquet"
    pq.write_table(table, path)
    assert _ingest(store, path).total("stored") == 2
    rows = store.fetch_all(
        "SELECT actor_id, records, attrs->>'queue', attrs->>'site' FROM events ORDER BY 1"
    )
    assert rows == [("u1", None, "a", "dub"), ("u2", 3, "b", "mnl")]


def test_people_upsert_updates_changed_rows_and_counts_identical_as_duplicates(
    store: EventStore, tmp_path: Path
) -> None:
    people = [
        {
            "actor_id": "u1",
            "name": "Ana",
            "role": "moderator",
            "timezone": "Europe/Dublin",
            "shift_start": "08:00",
            "privileged": "false",
            "hire_date": "2025-03-01",
        },
        {
            "actor_id": "u2",
            "name": "Ben",
            "role": "admin",
            "timezone": "Asia/Manila",
            "shift_start": "22:00",
            "privileged": "yes",
            "hire_date": "2024-11-20",
        },
    ]
    path = write_csv(tmp_path / "people.csv", people)
    assert _ingest(store, path, PEOPLE).total("stored") == 2
    people[0]["role"] = "team_lead"
    report = _ingest(store, write_csv(tmp_path / "people2.csv", people), PEOPLE)
    assert (report.total("stored"), report.total("duplicate")) == (1, 1)
    assert store.fetch_all("SELECT actor_id, role, privileged FROM people ORDER BY 1") == [
        ("u1", "team_lead", False),
        ("u2", "admin", True),
    ]


def test_people_validation_errors(store: EventStore, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "actor_id,role,timezone,shift_start,privileged,hire_date\n"
        "u1,janitor,Europe/Dublin,08:00,true,2025-01-01\n"
        "u2,moderator,Mars/Olympus,25:00,perhaps,someday\n"
    )
    report = _ingest(store, path, PEOPLE)
    assert report.total("stored") == 0
    fields = {fld for _, _, fld, _ in _quarantine(store)}
    assert fields == {"role", "timezone", "shift_start", "privileged", "hire_date"}


def test_labels_reject_unknown_scenarios(store: EventStore, tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        "actor_id,scenario,start,end\n"
        "u1,data_exfiltration,2026-01-10,2026-01-20\n"
        "u2,jaywalking,2026-01-10,2026-01-20\n"
    )
    report = _ingest(store, path, LABELS)
    assert report.total("stored") == 1
    assert [r[2] for r in _quarantine(store)] == ["scenario"]


def test_expand_folders_and_globs(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    a = write_csv(tmp_path / "d" / "a.csv", event_rows(1))
    b = write_jsonl(tmp_path / "d" / "sub" / "b.jsonl", [{"x": 1}])
    (tmp_path / "d" / "notes.txt").write_text("ignore me")
    assert expand([str(tmp_path / "d")]) == [a, b]
    assert expand([str(tmp_path / "d" / "*.csv"), str(a)]) == [a]
    with pytest.raises(InputError, match="no file matches"):
        expand([str(tmp_path / "*.nothing")])
    with pytest.raises(InputError, match="no such file"):
        expand([str(tmp_path / "missing.csv")])


def test_a_failed_file_leaves_the_store_as_it_was(store: EventStore, tmp_path: Path) -> None:
    good = write_csv(tmp_path / "good.csv", event_rows(5))
    _ingest(store, good)
    before = store.fetch_all("SELECT * FROM events ORDER BY event_id")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    report = _ingest(store, bad)
    assert report.failed
    assert store.fetch_all("SELECT * FROM events ORDER BY event_id") == before
    assert (
        store.fetch_value("SELECT status FROM ingest_runs ORDER BY run_id DESC LIMIT 1") == "failed"
    )


def test_line_numbers_stay_exact_after_blank_lines_and_multiline_values(
    store: EventStore, tmp_path: Path
) -> None:
    path = tmp_path / "gaps.csv"
    path.write_text(
        "event_id,ts,actor_id,action,target_id\n"  # 1
        "e1,2026-01-05,u1,login,\n"  # 2
        "\n"  # 3 blank
        'e2,2026-01-05,u1,login,"two\nlines"\n'  # 4 (one record)
        "e3,2026-01-05,u1\n"  # 5 broken
        "\n"  # 6 blank
        "e4,bad-date,u1,login,\n"  # 7
        "e5,2026-01-05,u1,sneeze,\n"  # 8
    )
    report = _ingest(store, path)
    assert report.total("stored") == 2
    rows = {fld: row for _, row, fld, _ in _quarantine(store) if fld in ("ts", "action")}
    assert rows == {"ts": 7, "action": 8}


def _write_events_parquet(path: Path, n: int, shuffled: bool, offset: int = 0) -> Path:
    import random
    from datetime import datetime, timedelta

    base = datetime(2026, 3, 1)
    order = list(range(n))
    if shuffled:
        random.Random(5).shuffle(order)
    pq.write_table(
        pa.table(
            {
                "event_id": [f"o{offset + i}" for i in order],
                "ts": pa.array(
                    [base + timedelta(seconds=offset + i) for i in order], pa.timestamp("us")
                ),
                "actor_id": [f"u{i % 97}" for i in order],
                "action": ["login"] * n,
            }
        ),
        path,
        row_group_size=10_000,
    )
    return path


@pytest.mark.parametrize("shuffled", [False, True])
def test_events_are_stored_in_time_order(store: EventStore, tmp_path: Path, shuffled: bool) -> None:
    # Existing events make the duplicate check a real join, not a no-op.
    _ingest(store, _write_events_parquet(tmp_path / "old.parquet", 20_000, False))
    new = _write_events_parquet(tmp_path / "new.parquet", 120_000, shuffled, offset=10_000)
    report = _ingest(store, new)
    assert (report.total("stored"), report.total("duplicate")) == (110_000, 10_000)
    # Run 1 took the fast path (fresh store, ordered file), run 2 the checked one.
    for run in (1, 2):
        backwards = store.fetch_value(
            "SELECT count(*) FROM (SELECT ts, lag(ts) OVER (ORDER BY rowid) AS prev FROM events "
            "WHERE run_id = ?) WHERE ts < prev",
            [run],
        )
        assert backwards == 0, run


def test_ordered_file_that_overlaps_stored_events_is_still_deduplicated(
    store: EventStore, tmp_path: Path
) -> None:
    _ingest(store, _write_events_parquet(tmp_path / "a.parquet", 5_000, False))
    report = _ingest(
        store, _write_events_parquet(tmp_path / "b.parquet", 5_000, False, offset=4_000)
    )
    assert (report.total("stored"), report.total("duplicate")) == (4_000, 1_000)
    assert store.fetch_one("SELECT count(*), count(DISTINCT event_id) FROM events") == (
        9_000,
        9_000,
    )


def test_jsonl_line_that_is_not_utf8_is_quarantined(store: EventStore, tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(
        b'{"ts": "2026-01-05T10:00:00Z", "actor_id": "u1", "action": "login"}\n'
        b'{"ts": "2026-01-05T10:00:00Z", "actor_id": "Jos\xe9", "action": "login"}\n'
        b'{"ts": "2026-01-05T11:00:00Z", "actor_id": "u2", "action": "logout"}\n'
    )
    report = _ingest(store, path)
    assert (report.total("stored"), report.total("quarantined")) == (2, 1)
    [(file, row, _, reason)] = _quarantine(store)
    assert (file, row) == (str(path), 2)
    assert "encoding" in reason


def test_header_only_and_empty_parquet_files_store_nothing_without_error(
    store: EventStore, tmp_path: Path
) -> None:
    header_only = tmp_path / "h.csv"
    header_only.write_text("ts,actor_id,action\n")
    empty_parquet = tmp_path / "e.parquet"
    pq.write_table(
        pa.table(
            {
                "ts": pa.array([], pa.timestamp("us")),
                "actor_id": pa.array([], pa.string()),
                "action": pa.array([], pa.string()),
            }
        ),
        empty_parquet,
    )
    report = ingest_sources(
        store, [source_for(header_only, EVENTS), source_for(empty_parquet, EVENTS)]
    )
    assert not report.failed
    assert report.total("read") == 0
