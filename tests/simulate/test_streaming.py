"""Events arrive in time order, about a day at a time, with progress after each day."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custodes.model.arrow import arrow_schema
from custodes.simulate import SimulationConfig, simulate
from tests.simulate.conftest import RecordingSink, Run, simulate_in_memory


def _ts(batch: pa.RecordBatch) -> np.ndarray:
    return np.asarray(batch.column("ts").to_numpy(zero_copy_only=False), dtype="datetime64[us]")


def test_events_arrive_in_non_decreasing_time_order(org300: Run) -> None:
    last = np.datetime64("1970-01-01T00:00:00", "us")
    for batch in org300.sink.batches:
        ts = _ts(batch)
        assert ts.size
        assert ts[0] >= last
        assert (np.diff(ts) >= np.timedelta64(0, "us")).all()
        last = ts[-1]


def test_no_batch_is_much_more_than_a_day(org300: Run) -> None:
    sizes = [b.num_rows for b in org300.sink.batches]
    per_day = org300.summary.events / org300.config.days
    assert len(sizes) >= org300.config.days
    assert max(sizes) < 3 * per_day
    assert sum(sizes) == org300.summary.events


def test_progress_is_reported_after_each_day(org300: Run) -> None:
    days = org300.config.days
    assert org300.progress == [(d, days) for d in range(1, days + 1)]


def test_summary_counts_match_what_was_written(org300: Run) -> None:
    s = org300.summary
    assert s.events == org300.events.num_rows
    assert s.people == org300.table("people").num_rows == 300
    assert s.accounts == org300.table("accounts").num_rows
    assert s.tickets == org300.table("tickets").num_rows
    assert s.labels == org300.table("labels").num_rows
    assert s.escalations == org300.table("escalations").num_rows
    assert sum(s.actions.values()) == s.events


def test_every_table_is_written_once_and_the_sink_is_left_open() -> None:
    sink = RecordingSink()
    simulate(SimulationConfig(staff=30, days=3, seed=1, volume=0.3), sink)
    assert set(sink.tables) == {"people", "accounts", "tickets", "labels", "escalations"}
    assert not sink.closed  # the caller owns the sink and closes it


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    staff=st.integers(1, 60),
    days=st.integers(1, 9),
    seed=st.integers(0, 2**32 - 1),
    month=st.integers(1, 12),
    fraction=st.sampled_from([0.0, 0.04, 0.5]),
)
def test_any_small_organisation_streams_valid_ordered_events(
    staff: int, days: int, seed: int, month: int, fraction: float
) -> None:
    from datetime import date

    cfg = SimulationConfig(
        staff=staff, days=days, seed=seed, start=date(2026, month, 20),
        insider_fraction=fraction, volume=0.3,
    )  # fmt: skip
    result = simulate_in_memory(cfg)
    last = np.datetime64("1970-01-01T00:00:00", "us")
    for batch in result.sink.batches:
        assert batch.schema.equals(arrow_schema("events"))
        ts = _ts(batch)
        assert ts[0] >= last and (np.diff(ts) >= np.timedelta64(0, "us")).all()
        last = ts[-1]
    assert result.summary.people == staff
    assert result.progress[-1] == (days, days)
    labels = {(r["actor_id"], r["scenario"]): r for r in result.table("labels").to_pylist()}
    for t in result.truth.to_pylist():
        label = labels[(t["actor_id"], t["scenario"])]
        assert label["start"] <= t["ts"] < label["end"]
