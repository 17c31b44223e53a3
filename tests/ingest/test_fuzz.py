"""Property-based fuzzing of the readers: any bytes give either stored rows, quarantined rows
or a clean per-file error — never a crash, never a row counted twice or lost."""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custodes.errors import InputError
from custodes.ingest import ingest_sources, source_for
from custodes.model.schema import EVENTS
from custodes.store.events import EventStore

HEADER = b"event_id,ts,actor_id,action,records,attrs\n"

cells = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["2026-01-05T10:00:00Z", "login", "x-thing", "12", "-1", '{"a":1}', '"', ",", "\n"]
    ),
)
csv_lines = st.lists(
    st.lists(cells, min_size=0, max_size=8).map(
        lambda cs: ",".join(cs).encode("utf-8", "surrogatepass")
    ),
    max_size=30,
)
raw_bytes = st.binary(max_size=400)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check(content: bytes, name: str) -> None:
    tmp = Path(tempfile.mkdtemp())
    try:
        path = tmp / name
        path.write_bytes(content)
        with EventStore.open(tmp / "data") as store:
            try:
                sources = [source_for(path, EVENTS)]
            except InputError:
                return
            report = ingest_sources(store, sources)
            [result] = report.files
            events = store.fetch_value("SELECT count(*) FROM events")
            if result.error:
                assert events == 0
                return
            assert result.read == result.stored + result.duplicate + result.quarantined
            assert events == result.stored
            bad_rows = store.fetch_value("SELECT count(DISTINCT row) FROM quarantine")
            assert bad_rows == result.quarantined
            rows = [r[0] for r in store.fetch_all("SELECT row FROM quarantine")]
            last_line = content.count(b"\n") + content.count(b"\r") + 1
            assert all(1 <= r <= last_line for r in rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@FUZZ
@given(lines=csv_lines)
def test_csv_lines_never_crash_and_always_balance(lines: list[bytes]) -> None:
    _check(HEADER + b"\n".join(lines) + b"\n", "fuzz.csv")


@FUZZ
@given(content=raw_bytes)
def test_arbitrary_bytes_as_csv_or_jsonl(content: bytes) -> None:
    _check(HEADER + content, "fuzz.csv")
    _check(content, "fuzz.jsonl")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@FUZZ
@given(
    records=st.lists(
        st.dictionaries(
            st.sampled_from(["ts", "actor_id", "action", "records", "attrs", "extra"]),
            json_values | st.sampled_from(["2026-01-05T10:00:00Z", "login", "u1"]),
            max_size=6,
        ),
        max_size=20,
    )
)
def test_jsonl_records_never_crash_and_always_balance(records: list[dict[str, object]]) -> None:
    _check("".join(json.dumps(r) + "\n" for r in records).encode(), "fuzz.jsonl")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)).map(
        lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
    ),
    offset_minutes=st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: m // 15 * 15),
    with_offset=st.booleans(),
)
def test_timestamps_with_and_without_offsets_land_in_utc(
    moment: datetime, offset_minutes: int, with_offset: bool
) -> None:
    tz = timezone(timedelta(minutes=offset_minutes)) if with_offset else UTC
    local = moment.replace(tzinfo=tz)
    text = local.isoformat() if with_offset else moment.isoformat()
    tmp = Path(tempfile.mkdtemp())
    try:
        path = tmp / "ts.csv"
        path.write_text(f"ts,actor_id,action\n{text},u1,login\n")
        with EventStore.open(tmp / "data") as store:
            report = ingest_sources(store, [source_for(path, EVENTS)])
            assert report.total("stored") == 1, store.fetch_all("SELECT * FROM quarantine")
            stored = store.fetch_value("SELECT ts FROM events")
        assert stored == local.astimezone(UTC).replace(tzinfo=None)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
