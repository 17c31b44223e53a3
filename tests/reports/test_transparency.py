"""The transparency export, on SQLite and PostgreSQL: stable CSV columns, and every count
and median equal to one computed here from the tables."""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime

from sqlalchemy import func, select

from custodes.access.principal import Principal
from custodes.config import Settings
from custodes.reports import transparency
from custodes.reports.transparency import COLUMNS
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from custodes.store.schema import Escalation
from custodes.triage.clocks import aware
from tests.reports.world import WEEK, Clock, escalation_world

DECISIONS = [  # (day of March, action, outcome, duration_ms)
    (2, "review_decision", "remove", 30_000),
    (3, "review_decision", "remove", 50_000),
    (3, "review_decision", "approve", 10_000),
    (5, "review_decision", "remove", 40_000),
    (6, "appeal_decision", "overturn", 120_000),
    (12, "review_decision", "remove", 1_000),  # next week: not counted
]


def add_decisions(settings: Settings) -> None:
    with EventStore.open(settings.data_dir) as events:
        for i, (day, action, outcome, duration) in enumerate(DECISIONS):
            events.execute(
                "INSERT INTO events (event_id, ts, actor_id, action, target_type, target_id, "
                "outcome, duration_ms) VALUES (?, ?, 'mod-1', ?, 'content', ?, ?, ?)",
                [f"d-{i}", datetime(2026, 3, day, 12), action, f"c-{i}", outcome, duration],
            )


def median(values: list[float]) -> float | None:
    ordered = sorted(values)
    return ordered[math.ceil(len(ordered) / 2) - 1] if ordered else None


def test_csv_columns_and_counts_equal_sql(
    cases: CaseStore, settings: Settings, people: dict[str, Principal], clock: Clock
) -> None:
    escalation_world(cases, people["tri"], clock)
    add_decisions(settings)
    with EventStore.open(settings.data_dir, read_only=True) as events:
        report = transparency.build(people["aud"], cases, events, WEEK)
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert tuple(rows[0]) == COLUMNS
    assert {(r["period"], r["period_start"], r["period_end"]) for r in rows} == {
        ("2026-W10", "2026-03-02", "2026-03-09")
    }
    got = {(r["section"], r["dimension"], r["value"]): r for r in rows}
    assert len(got) == len(rows)  # one row per (section, dimension, value)
    start, end = WEEK.start_at, WEEK.end_at
    with cases.read() as s:
        received = s.execute(
            select(
                Escalation.source,
                Escalation.category,
                Escalation.received_at,
                Escalation.resolved_at,
            ).where(Escalation.received_at >= start, Escalation.received_at < end)
        ).all()
        resolved = dict(
            s.execute(
                select(Escalation.resolution, func.count())
                .where(Escalation.resolved_at >= start, Escalation.resolved_at < end)
                .group_by(Escalation.resolution)
            ).all()
        )
    orders = [r for r in received if r.source in ("law_enforcement", "regulator")]
    notices = [r for r in received if r not in orders]
    assert int(got[("orders", "total", "all")]["count"]) == len(orders) == 4
    assert int(got[("notices", "total", "all")]["count"]) == len(notices) == 5
    for section, group in (("orders", orders), ("notices", notices)):
        for category in {r.category for r in group}:
            mine = [r for r in group if r.category == category]
            row = got[(section, "category", category)]
            assert int(row["count"]) == len(mine)
            handled = [
                (aware(r.resolved_at) - aware(r.received_at)).total_seconds() / 3600
                for r in mine
                if r.resolved_at is not None and aware(r.resolved_at) < end
            ]
            expected = median(handled)
            assert row["median_handling_hours"] == ("" if expected is None else f"{expected:.4f}")
        for source in {r.source for r in group}:
            count = sum(1 for r in group if r.source == source)
            assert int(got[(section, "source", source)]["count"]) == count
    assert {
        k[2]: int(v["count"]) for k, v in got.items() if k[:2] == ("actions", "resolution")
    } == resolved
    assert {k[2]: int(v["count"]) for k, v in got.items() if k[0] == "decisions"} == {
        "all": 4,
        "remove": 3,
        "approve": 1,
    }
    assert got[("decisions", "outcome", "remove")]["median_handling_hours"] == (
        f"{40_000 / 3_600_000:.4f}"
    )
    assert int(got[("appeals", "outcome", "overturn")]["count"]) == 1


def test_without_an_event_store_there_are_no_decision_rows(
    cases: CaseStore, people: dict[str, Principal]
) -> None:
    report = transparency.build(people["tri"], cases, None, WEEK)
    assert {r.section for r in report.rows} == {"orders", "notices"}
    assert all(r.count == 0 for r in report.rows)
    assert report.to_csv().splitlines()[0] == ",".join(COLUMNS)
