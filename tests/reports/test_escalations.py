"""The escalation report's numbers, on SQLite and PostgreSQL, against the same figures
computed here straight from the tables; and its highlights following the data."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from custodes.access.principal import Principal
from custodes.errors import PermissionDeniedError
from custodes.reports import escalations
from custodes.reports.escalations import EscalationReport, Mitigation
from custodes.reports.highlights import escalation_highlights
from custodes.reports.measures import Count
from custodes.store.cases import CaseStore
from custodes.store.schema import Escalation, EscalationBreach, EscalationKey, EscalationOverride
from custodes.triage.clocks import aware
from custodes.triage.policy import load_policy
from tests.reports.world import BEFORE, WEEK, Clock, escalation_world

START, END = WEEK.start_at, WEEK.end_at


def within(column: Any, lo: datetime = START, hi: datetime = END) -> Any:
    return and_(column >= lo, column < hi)


def median(values: list[float]) -> float | None:
    """Nearest-rank median, as the report defines it (docs/reports.md)."""
    ordered = sorted(values)
    return ordered[math.ceil(0.5 * len(ordered)) - 1] if ordered else None


def hours(a: datetime | None, b: datetime) -> float:
    assert a is not None
    return (aware(a) - aware(b)).total_seconds() / 3600


def build(cases: CaseStore, who: Principal) -> EscalationReport:
    return escalations.build(who, cases, WEEK, load_policy())


def test_volumes_and_handling_times_equal_sql(
    cases: CaseStore, people: dict[str, Principal], clock: Clock
) -> None:
    escalation_world(cases, people["tri"], clock)
    report = build(cases, people["lead"])
    with cases.read() as s:
        by_source = dict(
            s.execute(
                select(Escalation.source, func.count())
                .where(within(Escalation.received_at))
                .group_by(Escalation.source)
            ).all()
        )
        by_band = dict(
            s.execute(
                select(func.coalesce(Escalation.override_band, Escalation.band), func.count())
                .where(within(Escalation.received_at))
                .group_by(func.coalesce(Escalation.override_band, Escalation.band))
            ).all()
        )
        acked = s.execute(
            select(Escalation.acknowledged_at, Escalation.received_at).where(
                within(Escalation.acknowledged_at)
            )
        ).all()
        resolved = s.execute(
            select(Escalation.resolved_at, Escalation.received_at).where(
                within(Escalation.resolved_at)
            )
        ).all()
        late = dict(
            s.execute(
                select(EscalationBreach.clock, func.count())
                .where(within(EscalationBreach.met_at))
                .group_by(EscalationBreach.clock)
            ).all()
        )
        causes = dict(
            s.execute(
                select(EscalationBreach.cause, func.count())
                .where(within(EscalationBreach.met_at))
                .group_by(EscalationBreach.cause)
            ).all()
        )
        before = s.scalar(
            select(func.count())
            .select_from(Escalation)
            .where(within(Escalation.received_at, BEFORE.start_at, BEFORE.end_at))
        )
        overdue = s.scalar(  # nothing moved after the week, so the stored queue clock holds
            select(func.count())
            .select_from(Escalation)
            .where(
                Escalation.received_at < END,
                (Escalation.resolved_at.is_(None)) | (Escalation.resolved_at >= END),
                Escalation.sla_due_at < END,
            )
        )
    assert report.totals.received == sum(by_source.values()) == 9
    assert {c.value: c.count for c in report.by_source} == by_source
    assert {c.value: c.count for c in report.by_band if c.count} == by_band
    assert [c.value for c in report.by_band] == ["P0", "P1", "P2", "P3", "P4"]  # zeros too
    assert sum(report.daily[i][1] for i in range(7)) == 9
    assert report.previous.received == before == 2
    ack = report.clock("acknowledge")
    assert ack is not None and ack.steps == len(acked) == 6
    assert ack.late == late.get("acknowledge", 0) == 1
    assert ack.on_time_share == (len(acked) - 1) / len(acked)
    assert ack.durations.median_hours == median([hours(a, r) for a, r in acked])
    done = report.clock("resolve")
    assert done is not None and done.steps == len(resolved) == report.totals.resolved
    assert done.durations.median_hours == median([hours(a, r) for a, r in resolved])
    assert report.totals.breaches == sum(late.values())
    assert {c.value: c.count for c in report.breaches_by_clock if c.count} == late
    assert {b.cause: b.breaches for b in report.breach_causes} == causes
    assert report.totals.overdue_at_end == overdue and overdue >= 1


def test_overrides_mitigations_and_recurrence_equal_sql(
    cases: CaseStore, people: dict[str, Principal], clock: Clock
) -> None:
    escalation_world(cases, people["tri"], clock)
    report = build(cases, people["admin"])
    later, mine, theirs = aliased(Escalation), aliased(EscalationKey), aliased(EscalationKey)
    with cases.read() as s:
        overrides = s.execute(
            select(EscalationOverride.engine_band, EscalationOverride.band).where(
                within(EscalationOverride.at)
            )
        ).all()
        resolutions = dict(
            s.execute(
                select(Escalation.resolution, func.count())
                .where(within(Escalation.resolved_at))
                .group_by(Escalation.resolution)
            ).all()
        )
        recurred = s.execute(
            select(Escalation.resolution, func.count(func.distinct(Escalation.id)))
            .join(mine, mine.escalation_pk == Escalation.id)
            .join(theirs, and_(theirs.key == mine.key, theirs.escalation_pk != Escalation.id))
            .join(later, later.id == theirs.escalation_pk)
            .where(
                within(Escalation.resolved_at),
                later.received_at > Escalation.resolved_at,
                later.received_at < END,
            )
            .group_by(Escalation.resolution)
        ).all()
        ratings = s.scalar(
            select(func.count()).select_from(Escalation).where(within(Escalation.received_at))
        )
        overridden = s.scalar(
            select(func.count())
            .select_from(Escalation)
            .where(
                within(Escalation.received_at),
                Escalation.override_band.is_not(None),
                Escalation.override_band != Escalation.band,
            )
        )
    order = ["P0", "P1", "P2", "P3", "P4"]
    assert report.overrides.total == len(overrides) == 2
    assert report.overrides.up == sum(1 for e, b in overrides if order.index(b) < order.index(e))
    assert report.overrides.down == sum(1 for e, b in overrides if order.index(b) > order.index(e))
    for engine, band in overrides:
        assert report.overrides.matrix[engine][band] >= 1
    assert {m.resolution: m.resolved for m in report.mitigations} == resolutions
    assert {m.resolution: m.recurred for m in report.mitigations if m.recurred} == dict(recurred)
    # The harm reported on Monday (acct:1, resolved at noon) came back on Wednesday.
    removed = next(m for m in report.mitigations if m.resolution == "content_removed")
    assert (removed.resolved, removed.recurred) == (3, 1)
    assert removed.median_days_to_recurrence is not None
    assert abs(removed.median_days_to_recurrence - (47 / 24)) < 1e-9
    assert report.totals.recurred == 1
    assert report.repeats == 1  # le-3, about acct:1 after it was resolved
    # The engine-vs-analyst report over the escalations received this week.
    assert report.calibration.ratings == ratings
    assert report.calibration.overridden == overridden == 2


def test_nothing_after_the_period_counts_and_a_past_report_does_not_change(
    cases: CaseStore, people: dict[str, Principal], clock: Clock
) -> None:
    w = escalation_world(cases, people["tri"], clock)
    first = build(cases, people["admin"])
    # Next week: the open escalation is acknowledged and more arrive.
    w.ack("ur-1", datetime(2026, 3, 10, 9, tzinfo=UTC))
    w.submit("w11-b", datetime(2026, 3, 11, 9, tzinfo=UTC), "ngo", "acct:1")
    again = build(cases, people["admin"])
    assert again.totals == first.totals
    assert again.by_source == first.by_source
    assert again.mitigations == first.mitigations


def test_the_report_needs_escalation_read(cases: CaseStore, people: dict[str, Principal]) -> None:
    with pytest.raises(PermissionDeniedError):
        build(cases, people["ana"])  # investigators see no escalations


def test_an_empty_store_gives_zeros_and_says_so(
    cases: CaseStore, people: dict[str, Principal]
) -> None:
    report = build(cases, people["aud"])
    assert report.totals.received == 0 and report.previous.received == 0
    assert [h.rule for h in report.highlights] == ["volume_none"]
    assert report.highlights[0].text == "No escalations this week or the one before."


# --- highlights follow the data -------------------------------------------------------------


def _empty(cases: CaseStore, who: Principal) -> EscalationReport:
    return build(cases, who)


def _with(report: EscalationReport, **totals: Any) -> EscalationReport:
    return replace(report, totals=replace(report.totals, **totals))


def rules(report: EscalationReport) -> dict[str, str]:
    return {h.rule: h.text for h in escalation_highlights(report)}


def test_volume_sentences_follow_thresholds(cases: CaseStore, people: dict[str, Principal]) -> None:
    base = _empty(cases, people["aud"])
    prev = replace(base.previous, received=50)

    def volume(now: int) -> dict[str, str]:
        return rules(replace(_with(base, received=now), previous=prev))

    assert volume(70)["volume_rose"] == "Escalations rose by 40% to 70 (50 the week before)."
    assert volume(30)["volume_fell"] == "Escalations fell by 40% to 30 (50 the week before)."
    assert "volume_steady" in volume(55)  # +10 %: under the 20 % threshold
    assert "volume_steady" in rules(
        replace(_with(base, received=6), previous=replace(prev, received=4))
    )  # +50 %, but only 2 more: under the absolute threshold
    assert rules(_with(base, received=3))["volume_new"] == "3 escalations; none the week before."


def test_dominant_source_needs_enough_escalations_and_a_large_share(
    cases: CaseStore, people: dict[str, Principal]
) -> None:
    base = _empty(cases, people["aud"])

    def sources(*counts: tuple[str, int]) -> dict[str, str]:
        total = sum(n for _s, n in counts)
        shares = tuple(Count(s, n, n / total) for s, n in counts)
        return rules(replace(_with(base, received=total), by_source=shares))

    found = sources(("law_enforcement", 9), ("ngo", 6), ("press", 5))
    assert found["dominant_source"] == "Law enforcement sent 45% of escalations (9 of 20)."
    assert "dominant_source" not in sources(("law_enforcement", 7), ("ngo", 7), ("press", 6))
    assert "dominant_source" not in sources(("ngo", 3), ("press", 1))  # only 4 escalations


def test_sla_sentence_names_the_worst_clock(cases: CaseStore, people: dict[str, Principal]) -> None:
    from custodes.reports.escalations import ClockStats
    from custodes.reports.measures import Durations

    base = _empty(cases, people["aud"])
    none = Durations(0, None, None)

    def clocks(*stats: tuple[str, int, int]) -> dict[str, str]:
        made = tuple(ClockStats(c, n, late, (n - late) / n, none) for c, n, late in stats)
        return rules(replace(base, clocks=made))

    poor = clocks(("acknowledge", 20, 1), ("resolve", 10, 3))
    assert poor["sla_poor"] == "Only 70% of “resolve” steps met their SLA clock (7 of 10)."
    good = clocks(("acknowledge", 20, 0), ("resolve", 20, 1))
    assert good["sla_good"].startswith("At least 95% of steps met their SLA clock")
    middling = clocks(("acknowledge", 20, 2))  # 90 %: neither good nor poor
    assert "sla_good" not in middling and "sla_poor" not in middling
    assert not {"sla_good", "sla_poor"} & set(clocks(("acknowledge", 4, 4)))  # too few


def test_override_and_recurrence_sentences(cases: CaseStore, people: dict[str, Principal]) -> None:
    base = _empty(cases, people["aud"])
    ups = replace(base, overrides=replace(base.overrides, total=4, up=3, down=1))
    assert rules(ups)["overrides_up"].startswith("Analysts overrode 4 ratings, 3 of them")
    mixed = replace(base, overrides=replace(base.overrides, total=4, up=2, down=2))
    assert "overrides_mixed" in rules(mixed)
    few = replace(base, overrides=replace(base.overrides, total=2, up=2, down=0))
    assert not any(r.startswith("overrides") for r in rules(few))
    recurring = replace(
        base,
        mitigations=(
            Mitigation("content_removed", 4, 1, 0.25, 2.0),
            Mitigation("no_action", 2, 2, 1.0, 1.0),  # too few resolutions to say
        ),
    )
    found = [h for h in escalation_highlights(recurring) if h.rule == "recurrence"]
    assert [h.text for h in found] == [
        "Harm recurred after 1 of 4 escalations resolved as content removed (25%)."
    ]


def test_the_world_report_says_what_happened(
    cases: CaseStore, people: dict[str, Principal], clock: Clock
) -> None:
    escalation_world(cases, people["tri"], clock)
    found = {h.rule: h.text for h in build(cases, people["admin"]).highlights}
    assert found["volume_rose"] == "Escalations rose by 350% to 9 (2 the week before)."
    assert found["dominant_source"] == "Law enforcement sent 44% of escalations (4 of 9)."
    assert found["recurrence"].startswith("Harm recurred after 1 of 3 escalations resolved as")
    assert "breaches" in found and "overdue" in found
