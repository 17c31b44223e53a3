"""The integrity report's numbers, on SQLite and PostgreSQL, against figures computed here
from the tables (DuckDB and the case store); need-to-know on case counts; risk as
``custodes risk`` computes it; its highlights."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import func, select

from custodes.access.principal import Principal
from custodes.config import Settings
from custodes.detect.results import contexts, load_alerts
from custodes.errors import PermissionDeniedError
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.reports import integrity
from custodes.reports.highlights import integrity_highlights
from custodes.reports.integrity import IntegrityReport, Precision
from custodes.risk import RiskConfig, score_actors
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from custodes.store.schema import Case
from tests.reports.world import WEEK, Clock, integrity_world
from tests.web.world import ACTORS

NAIVE_START, NAIVE_END = datetime(2026, 3, 2), datetime(2026, 3, 9)


def build(
    cases: CaseStore, settings: Settings, who: Principal, events: EventStore | None
) -> IntegrityReport:
    return integrity.build(who, cases, events, WEEK, Pseudonyms.load(cases, settings))


def test_alerts_cases_and_precision_equal_sql(
    cases: CaseStore, settings: Settings, people: dict[str, Principal], clock: Clock
) -> None:
    integrity_world(cases, settings, people, clock)
    with EventStore.open(settings.data_dir, read_only=True) as events:
        report = build(cases, settings, people["admin"], events)
        families = dict(
            events.fetch_all(
                "SELECT category, count(DISTINCT alert_id) FROM alerts "
                "WHERE window_start >= ? AND window_start < ? GROUP BY category",
                [NAIVE_START, NAIVE_END],
            )
        )
        staff = events.fetch_value(
            "SELECT count(DISTINCT actor_id) FROM alerts WHERE window_start >= ? "
            "AND window_start < ?",
            [NAIVE_START, NAIVE_END],
        )
        verdicts = dict(
            events.fetch_all(
                "SELECT verdict, count(*) FROM alert_verdicts WHERE decided_at >= ? "
                "AND decided_at < ? GROUP BY verdict",
                [NAIVE_START, NAIVE_END],
            )
        )
    with cases.read() as s:
        opened = s.scalar(
            select(func.count())
            .select_from(Case)
            .where(Case.created_at >= WEEK.start_at, Case.created_at < WEEK.end_at)
        )
        closed = dict(
            s.execute(
                select(Case.outcome, func.count())
                .where(Case.closed_at >= WEEK.start_at, Case.closed_at < WEEK.end_at)
                .group_by(Case.outcome)
            ).all()
        )
    assert {f.family: f.alerts for f in report.alerts_by_family} == families
    assert report.totals.alerts == sum(families.values()) == 6
    assert report.totals.staff_alerted == staff == 3
    assert report.previous.alerts == 1  # walter's alert of week 9
    assert report.totals.cases_opened == opened == 2
    assert {c.value: c.count for c in report.outcomes if c.count} == closed
    assert report.totals.substantiated == closed.get("substantiated", 0) == 1
    assert report.totals.open_at_end == 1
    assert report.time_to_close.count == 1 and report.time_to_close.median_hours == 18.0
    # Two verdicts by hand (one false, one true), and the closed case's two alerts, true
    # positives, not yet synced to the event store: counted from the case store.
    assert verdicts == {"false_positive": 1, "true_positive": 1}
    assert report.precision_total == Precision("all", 3, 1)
    assert report.totals.precision == 0.75


def test_risk_drivers_are_custodes_risk_as_of_the_period_end(
    cases: CaseStore, settings: Settings, people: dict[str, Principal], clock: Clock
) -> None:
    integrity_world(cases, settings, people, clock)
    with EventStore.open(settings.data_dir, read_only=True) as events:
        report = build(cases, settings, people["lead"], events)
        ranked = score_actors(load_alerts(events), contexts(events), NAIVE_END, RiskConfig())
    pseudonyms = Pseudonyms.load(cases, settings)
    assert [s.pseudonym for s in report.top_staff] == [pseudonyms.of(r.actor_id) for r in ranked]
    assert [s.score for s in report.top_staff] == [round(r.risk_score, 1) for r in ranked]
    per_family: dict[str, float] = defaultdict(float)
    for r in ranked:
        for c in r.contributions:
            if c.kind == "alert" and c.category:
                per_family[c.category] += c.value
    assert {d.name: d.points for d in report.drivers} == {
        k: round(v, 2) for k, v in per_family.items()
    }
    assert report.drivers[0].name == "unjustified_access"
    assert report.scored_staff == len(ranked) == 3
    assert sum(c.count for c in report.levels) == 3


def test_case_counts_follow_need_to_know(
    cases: CaseStore, settings: Settings, people: dict[str, Principal], clock: Clock
) -> None:
    integrity_world(cases, settings, people, clock)
    with EventStore.open(settings.data_dir, read_only=True) as events:
        ivo = build(cases, settings, people["ivo"], events)  # on no case
        ana = build(cases, settings, people["ana"], events)  # opened the one from alerts
    assert (ivo.totals.cases_opened, ivo.totals.cases_closed) == (0, 0)
    assert (ana.totals.cases_opened, ana.totals.cases_closed) == (1, 1)
    assert ivo.totals.alerts == ana.totals.alerts == 6  # alerts: alert.read sees all


def test_without_an_event_store_the_case_figures_stand(
    cases: CaseStore, settings: Settings, people: dict[str, Principal], clock: Clock
) -> None:
    report = build(cases, settings, people["admin"], None)
    assert not report.has_events and report.totals.alerts == 0 and report.top_staff == ()
    with pytest.raises(PermissionDeniedError):
        build(cases, settings, people["tri"], None)  # triage analysts read no alerts


def test_highlights_follow_precision_and_risk(
    cases: CaseStore, settings: Settings, people: dict[str, Principal], clock: Clock
) -> None:
    integrity_world(cases, settings, people, clock)
    with EventStore.open(settings.data_dir, read_only=True) as events:
        report = build(cases, settings, people["admin"], events)
    found = {h.rule: h.text for h in report.highlights}
    assert found["alerts_rose"] == "Alerts rose by 500% to 6 (1 the week before)."
    assert found["dominant_family"].startswith("Unjustified access accounted for 83%")
    assert found["cases"] == (
        "2 cases opened and 1 case closed, 1 substantiated; 1 open at the end of the week."
    )
    assert "precision" not in found  # 4 verdicts: too few to say
    noisy = replace(
        report,
        precision=(Precision("unjustified_access", 1, 7), Precision("data_exfiltration", 1, 1)),
        precision_total=Precision("all", 2, 8),
    )
    low = {h.rule: h.text for h in integrity_highlights(noisy)}
    assert low["precision_low"] == (
        "Analysts judged 2 of 10 alerts true positives (precision 20%); most false positives "
        "were unjustified access (7)."
    )
    good = replace(report, precision_total=Precision("all", 8, 2))
    assert "precision_high" in {h.rule for h in integrity_highlights(good)}


def test_no_real_identity_in_the_numbers(
    cases: CaseStore, settings: Settings, people: dict[str, Principal], clock: Clock
) -> None:
    integrity_world(cases, settings, people, clock)
    with EventStore.open(settings.data_dir, read_only=True) as events:
        report = build(cases, settings, people["admin"], events)
    text = repr(report)
    for actor in ACTORS:
        assert actor not in text
