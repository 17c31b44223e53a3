"""Simulation runs shared by the simulator tests: small, fast, and kept in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa
import pytest

from custodes.simulate import SimulationConfig, SimulationSummary
from custodes.simulate.engine import TRUTH_SCHEMA, run


@dataclass
class RecordingSink:
    """Keeps everything it is given, so tests can look at batches as they were streamed."""

    batches: list[pa.RecordBatch] = field(default_factory=list)
    tables: dict[str, pa.Table] = field(default_factory=dict)
    closed: bool = False

    def write_events(self, batch: pa.RecordBatch) -> None:
        assert not self.closed
        self.batches.append(batch)

    def write_table(self, entity: str, table: pa.Table) -> None:
        assert entity not in self.tables, f"{entity} written twice"
        self.tables[entity] = table

    def close(self) -> None:
        self.closed = True

    @property
    def events(self) -> pa.Table:
        return pa.Table.from_batches(self.batches, schema=self.batches[0].schema)


@dataclass
class Run:
    config: SimulationConfig
    sink: RecordingSink
    summary: SimulationSummary
    truth: pa.Table
    progress: list[tuple[int, int]]

    @property
    def events(self) -> pa.Table:
        return self.sink.events

    def table(self, entity: str) -> pa.Table:
        return self.sink.tables[entity]


def simulate_in_memory(config: SimulationConfig) -> Run:
    sink = RecordingSink()
    truth: list[pa.RecordBatch] = []
    progress: list[tuple[int, int]] = []
    summary = run(
        config, sink, lambda done, total: progress.append((done, total)), truth=truth.append
    )
    sink.close()
    return Run(config, sink, summary, pa.Table.from_batches(truth, schema=TRUTH_SCHEMA), progress)


@pytest.fixture(scope="session")
def org300() -> Run:
    """300 staff for 60 days at a quarter of the usual volume: every scenario, quickly."""
    return simulate_in_memory(SimulationConfig(staff=300, days=60, seed=11, volume=0.25))


@pytest.fixture(scope="session")
def full_volume() -> Run:
    """A small organisation at the normal activity level, across a DST change in the US."""
    return simulate_in_memory(SimulationConfig(staff=120, days=21, seed=3, start=date(2026, 3, 2)))
