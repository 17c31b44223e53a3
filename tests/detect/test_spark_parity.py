"""The same data gives the same features and the same alerts on DuckDB and on Spark.

One local Spark session serves the module (starting one costs ~10 s). Each test builds on
a copy of one DuckDB store with each engine and compares every feature column (floats to
1e-9 relative) and every alert and actor-day score. Data: a small simulated organisation
with all eight scenarios plus verdicts on unknown decisions (the fallback links), and a
hand-built one with the time-zone corners (DST changes, +05:30 and +12:45 zones, night
shifts, no zone) read from user-supplied Parquet with columns and tables missing.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from custodes.cli.app import app
from custodes.detect.detection import run_detection
from custodes.detect.engine.inputs import export_inputs, register_inputs
from custodes.detect.engine.session import LOG_FILE, start_session
from custodes.detect.engine.spark import SparkEngine
from custodes.detect.features import FEATURE_COLUMNS, TABLE, build_features
from custodes.detect.features.verdicts import fallback_links_sql
from custodes.errors import CustodesError
from custodes.ingest import ingest_sources, source_for
from custodes.model.schema import INGESTIBLE
from custodes.model.vocabulary import SCENARIOS
from custodes.simulate import SimulationConfig, open_sink, simulate
from custodes.store.events import DB_FILE, EventStore
from tests.conftest import require_spark
from tests.detect.test_features import Org

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark

REL = 1e-9


_STARTUP: dict[str, Any] = {}


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    require_spark()
    scratch = tmp_path_factory.mktemp("spark")
    terminal = scratch / "terminal"
    saved = os.dup(2)
    with terminal.open("wb") as sink:
        os.dup2(sink.fileno(), 2)  # what a user at the terminal would see from the JVM
        try:
            session = start_session("local[2]", scratch)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    _STARTUP.update(stderr=terminal.read_text(), log=scratch / LOG_FILE)
    yield session
    session.stop()


class Recording(SparkEngine):
    """The Spark engine, keeping every statement it ran."""

    def __init__(self, session: SparkSession, store: EventStore) -> None:
        super().__init__(session, store)
        self.statements: list[str] = []

    def execute(self, sql: str) -> None:
        self.statements.append(sql)
        super().execute(sql)


@contextmanager
def spark_engine(session: SparkSession, store: EventStore, inputs: str) -> Iterator[Recording]:
    register_inputs(session, inputs)
    engine = Recording(session, store)
    try:
        yield engine
    finally:
        engine.close()


def _twin(original: Path, name: str) -> EventStore:
    """A second store with the same file content (the original must be closed)."""
    copy = original.parent / name
    copy.mkdir()
    shutil.copy(original / DB_FILE, copy / DB_FILE)
    return EventStore.open(copy)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL, abs_tol=1e-12)
    return bool(a == b)


def _assert_same_features(duck: EventStore, spark: EventStore) -> int:
    cols = ", ".join(["actor_id", "day", *FEATURE_COLUMNS])
    sql = f"SELECT {cols} FROM {TABLE} ORDER BY actor_id, day"
    a, b = duck.fetch_all(sql), spark.fetch_all(sql)
    assert [r[:2] for r in a] == [r[:2] for r in b], "different actor-days"
    names = ["actor_id", "day", *FEATURE_COLUMNS]
    differ = [
        (ra[0], ra[1], name, x, y)
        for ra, rb in zip(a, b, strict=True)
        for name, x, y in zip(names, ra, rb, strict=True)
        if not _close(x, y)
    ]
    assert not differ, differ[:10]
    return len(a)


def _assert_same_findings(duck: EventStore, spark: EventStore) -> int:
    fields = (
        "alert_id, actor_id, detector, category, severity, window_start, window_end, "
        "reasons, evidence_event_ids, score"
    )
    sql = f"SELECT {fields} FROM alerts ORDER BY ALL"
    a, b = duck.fetch_all(sql), spark.fetch_all(sql)
    assert [r[:-1] for r in a] == [r[:-1] for r in b]
    assert all(_close(x[-1], y[-1]) for x, y in zip(a, b, strict=True))
    sql = "SELECT detector, actor_id, day, score FROM actor_day_scores ORDER BY ALL"
    sa, sb = duck.fetch_all(sql), spark.fetch_all(sql)
    assert [r[:-1] for r in sa] == [r[:-1] for r in sb]
    assert all(_close(x[-1], y[-1]) for x, y in zip(sa, sb, strict=True))
    return len(a)


# -- a simulated organisation ---------------------------------------------------------


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store's folder: 40 staff over 20 days with all eight scenarios, plus verdicts
    whose decision is not in the store (so the fallback links run)."""
    root = tmp_path_factory.mktemp("sim")
    sink = open_sink("parquet", root / "files")
    config = SimulationConfig(staff=40, days=20, seed=1, insider_fraction=0.4)
    try:
        simulate(config, sink, lambda done, total: None)
    finally:
        sink.close()
    labels = pq.read_table(root / "files" / "labels.parquet").column("scenario").to_pylist()
    assert set(labels) == set(SCENARIOS)
    folder = root / "store"
    with EventStore.open(folder) as store:
        for name in ("people", "accounts", "tickets", "events"):
            path = root / "files" / f"{name}.parquet"
            ingest_sources(store, [source_for(path, INGESTIBLE[name])])
        judge, subject, content = store.fetch_one(
            "SELECT q.actor_id, d.actor_id, d.target_id FROM events q, events d "
            "WHERE q.action = 'qa_review' AND d.action = 'review_decision' "
            "ORDER BY q.event_id, d.event_id LIMIT 1"
        ) or (None, None, None)
        org = Org()
        for day in (8, 9):
            org.event(
                f"2026-01-{day:02d}T10:00:00Z",
                judge,
                "qa_review",
                target_id=f"lost-{day}",
                outcome="disagree",
                attrs={"reviewed_actor_id": subject},
            )
            org.event(
                f"2026-01-{day:02d}T11:00:00Z",
                judge,
                "appeal_decision",
                target_id=content,
                outcome="overturn",
                attrs={"original_decision_id": f"lost-{day}"},
            )
        org.load(store, root / "extra")
    return folder


def test_features_and_alerts_are_identical_on_both_engines(
    spark: SparkSession, simulated: Path
) -> None:
    duck = _twin(simulated, "duckdb")
    other = _twin(simulated, "spark")
    try:
        report = run_detection(duck)
        inputs = export_inputs(other, other.path.parent / "spark-input")
        with spark_engine(spark, other, str(inputs)) as engine:
            spark_report = run_detection(other, engine=engine)
        assert fallback_links_sql() in engine.statements
        assert spark_report.feature_rows == report.feature_rows > 500
        assert spark_report.alerts == report.alerts
        assert _assert_same_features(duck, other) == report.feature_rows
        assert _assert_same_findings(duck, other) > 10
        # the simulated data exercises what the parity is about
        assert duck.fetch_value("SELECT count(DISTINCT category) FROM alerts") >= 5
    finally:
        duck.close()
        other.close()


# -- time-zone corners, from user-supplied Parquet -----------------------------------


def _corners() -> Org:
    org = Org()
    org.person("dub", tz="Europe/Dublin", shift=("22:00", "06:00"), notice_date="2026-03-29")
    org.person("kol", tz="Asia/Kolkata")
    org.person("cha", tz="Pacific/Chatham", shift=None)
    org.person("nozone", tz=None)
    # Dublin springs forward at 01:00 UTC on 29 March; Chatham (+13:45 → +12:45) falls
    # back at 14:00 UTC on 4 April; Kolkata's local midnight is 18:30 UTC.
    stamps = {
        "dub": [
            "2026-03-28T23:59:59",
            "2026-03-29T00:30:00",
            "2026-03-29T01:00:00",
            "2026-03-29T01:30:00",
            "2026-03-29T05:10:00",
            "2026-03-29T22:59:00",
        ],
        "kol": ["2026-03-28T18:29:59", "2026-03-28T18:30:00", "2026-03-29T03:00:00"],
        "cha": [
            "2026-04-04T10:14:59",
            "2026-04-04T10:15:00",
            "2026-04-04T13:59:00",
            "2026-04-04T14:01:00",
            "2026-04-04T23:30:00",
        ],
        "nozone": ["2026-03-29T23:59:59", "2026-03-30T00:00:00"],
        "ghost": ["2026-03-29T12:00:00"],  # in the events, not the directory
    }
    for actor, times in stamps.items():
        for i, ts in enumerate(times):
            org.event(
                ts + "Z",
                actor,
                "review_decision",
                target_type="content",
                target_id=f"c{i % 3}",
                outcome=("approve", "remove", "approve", "skip")[i % 4],
                duration_ms=700 * (i + 1) if i != 2 else None,
                device_id=f"{actor}-d{i % 2}",
                country=("IE", "IN", "NZ")[i % 3],
                ip=f"10.0.{i % 2}.1",
                attrs={
                    "suggested_label": None if i % 3 == 0 else "approve",
                    "owner_account_id": "créateur-ü" if i % 2 else "a2",
                },
            )
    org.event(
        "2026-03-29T02:00:00Z",
        "dub",
        "email_send",
        bytes=2048,
        attrs={"external": True, "recipient_domain": "WWW.Gmail.com"},
    )
    org.event(
        "2026-03-29T02:05:00Z",
        "dub",
        "upload_external",
        bytes=4096,
        attrs={"url_domain": "www.dropbox.com", "note": {"nested": [1, 2]}},
    )
    org.event("2026-03-29T02:06:00Z", "dub", "role_grant", attrs={"grantee_id": "dub"})
    org.event("2026-03-29T02:07:00Z", "dub", "login", country="US")  # two countries, fast
    org.event("2026-03-29T02:08:00Z", "dub", "login_failed", outcome="failure")
    return org


def _user_parquet(store: EventStore, folder: Path) -> Path:
    """The store's inputs as a user's pipeline might write them: events without the
    columns it never fills, people as a Spark-style folder, no accounts or tickets."""
    export_inputs(store, folder)
    events = pq.read_table(folder / "events.parquet")
    empty = [
        n for n in ("records", "source", "ticket_id") if events.column(n).null_count == len(events)
    ]
    assert empty == ["records", "source", "ticket_id"]
    pq.write_table(events.drop_columns(empty), folder / "events.parquet")
    (folder / "people").mkdir()
    (folder / "people.parquet").rename(folder / "people" / "part-0.parquet")
    for name in ("accounts.parquet", "tickets.parquet", "stamp.json"):
        (folder / name).unlink()
    return folder


def test_time_zone_corners_from_user_parquet_full_and_incremental(
    spark: SparkSession, tmp_path: Path
) -> None:
    folder = tmp_path / "store"
    with EventStore.open(folder) as store:
        _corners().load(store, tmp_path / "in")
    duck = _twin(folder, "duckdb")
    other = _twin(folder, "spark")
    try:
        inputs = _user_parquet(other, tmp_path / "user-parquet")
        with spark_engine(spark, other, str(inputs)) as engine:
            rows = build_features(duck)
            assert build_features(other, engine=engine) == rows
            assert _assert_same_features(duck, other) == rows == 9
            since = dt.date(2026, 3, 29)
            assert build_features(other, since, engine) == build_features(duck, since)
            assert _assert_same_features(duck, other) == rows
        # The corners are really there: Kolkata's midnight at 18:30 UTC, Chatham's last
        # +13:45 second before its change to +12:45.
        days = f"SELECT day, events_total FROM {TABLE} WHERE actor_id = ? ORDER BY day"
        assert duck.fetch_all(days, ["kol"]) == [
            (dt.date(2026, 3, 28), 1),
            (dt.date(2026, 3, 29), 2),
        ]
        assert duck.fetch_all(days, ["cha"]) == [(dt.date(2026, 4, 4), 1), (dt.date(2026, 4, 5), 4)]
    finally:
        duck.close()
        other.close()


def test_an_empty_store_and_a_failing_statement(
    spark: SparkSession, store: EventStore, tmp_path: Path
) -> None:
    inputs = export_inputs(store, tmp_path / "in")
    with spark_engine(spark, store, str(inputs)) as engine:
        assert build_features(store, engine=engine) == 0  # no events: no offsets span either
        with pytest.raises(CustodesError, match=r"fx_bad.*no_such_column"):
            engine.execute(
                "CREATE OR REPLACE TEMP TABLE fx_bad AS SELECT no_such_column FROM events"
            )
        with pytest.raises(ValueError, match="not: UPDATE"):
            engine.execute("UPDATE events SET actor_id = 'x'")
        engine.execute("CREATE OR REPLACE TEMP TABLE fx_ok AS SELECT count(*) AS n FROM people")
        assert engine.columns("fx_ok") == ["n"]
        engine.execute("DROP TABLE IF EXISTS fx_ok")
        assert not spark.catalog.tableExists("fx_ok")


def test_starting_spark_prints_nothing_on_the_terminal(spark: SparkSession) -> None:
    """Whatever the JVM says at start-up (module warnings, log4j defaults) went to
    spark.log, not to the terminal the module's session was started from."""
    assert _STARTUP["stderr"] == ""
    assert _STARTUP["log"].exists()


def test_cli_detect_on_spark_matches_duckdb(spark: SparkSession, tmp_path: Path) -> None:
    """The command's wiring, on the session already running in this process (which it
    must leave running: it is not the command's to stop)."""
    data = tmp_path / "data"
    with EventStore.open(data) as store:
        _corners().load(store, tmp_path / "in")
    duck = _twin(data, "duckdb")
    build_features(duck)
    result = CliRunner().invoke(
        app, ["detect", "--engine", "spark", "--data-dir", str(data), "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["feature_rows"] == 9
    assert summary["seconds"]["spark_start"] > 0
    assert spark.sql("SELECT 1").first() is not None  # still running
    other = EventStore.open(data)
    try:
        assert _assert_same_features(duck, other) == 9
    finally:
        duck.close()
        other.close()
