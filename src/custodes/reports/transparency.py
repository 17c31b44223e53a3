"""The transparency export: aggregate counts of the kind the EU Digital Services Act asks
platforms to publish (Art. 15 and 24) — notices and orders received, by category and
source, actions taken, own-initiative moderation decisions and appeals, each with a
median handling time — as one CSV of stable columns, for a spreadsheet or a publisher.

Sections (column ``section``), each counted in the period it happened in:

* ``orders`` — escalations received from authorities (``law_enforcement``, ``regulator``);
* ``notices`` — every other escalation received (trusted flaggers, NGOs, users...);

  both by ``category`` and ``source`` and in ``total``; their median handling time is from
  receipt to resolution over those of them resolved by the period's end;
* ``actions`` — escalations resolved in the period, by ``resolution`` (the mitigation),
  median time from receipt to resolution;
* ``decisions`` — moderators' ``review_decision`` events in the period, by ``outcome``
  (approve, remove, restrict...), median review time (``duration_ms``);
* ``appeals`` — ``appeal_decision`` events, by ``outcome`` (uphold, overturn).

Only counts and medians leave: no escalation, person or piece of content is named, which
is what makes the file publishable.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.cases.events import naive_utc
from custodes.reports.measures import hours, percentile
from custodes.reports.period import Period
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from custodes.store.schema import Escalation
from custodes.triage.clocks import aware

COLUMNS: Final = (
    "period",
    "period_start",
    "period_end",
    "section",
    "dimension",
    "value",
    "count",
    "median_handling_hours",
)
AUTHORITIES: Final = frozenset({"law_enforcement", "regulator"})
ALL: Final = "all"


@dataclass(frozen=True)
class TransparencyRow:
    section: str
    dimension: str  # total, category, source, resolution or outcome
    value: str
    count: int
    median_handling_hours: float | None


@dataclass(frozen=True)
class TransparencyReport:
    period: Period
    rows: tuple[TransparencyRow, ...]

    def row(self, section: str, dimension: str, value: str) -> TransparencyRow | None:
        return next(
            (
                r
                for r in self.rows
                if (r.section, r.dimension, r.value) == (section, dimension, value)
            ),
            None,
        )

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        for r in self.rows:
            writer.writerow(
                [
                    self.period.label,
                    self.period.start.isoformat(),
                    self.period.end.isoformat(),
                    r.section,
                    r.dimension,
                    r.value,
                    r.count,
                    "" if r.median_handling_hours is None else f"{r.median_handling_hours:.4f}",
                ]
            )
        return buffer.getvalue()


def build(
    principal: Principal, store: CaseStore, events: EventStore | None, period: Period
) -> TransparencyReport:
    """Counts for ``period`` (needs ``escalation.read``); decisions and appeals come from
    the event store when there is one."""
    principal.require(Permission.escalation_read)
    start, end = period.start_at, period.end_at
    with store.read() as session:
        received = session.execute(
            select(
                Escalation.source,
                Escalation.category,
                Escalation.received_at,
                Escalation.resolved_at,
            ).where(Escalation.received_at >= start, Escalation.received_at < end)
        ).all()
        resolved = session.execute(
            select(Escalation.resolution, Escalation.received_at, Escalation.resolved_at).where(
                Escalation.resolved_at >= start, Escalation.resolved_at < end
            )
        ).all()
    rows: list[TransparencyRow] = []
    for section in ("orders", "notices"):
        mine = [
            (source, category, _handled(at, done, end))
            for source, category, at, done in received
            if (source in AUTHORITIES) == (section == "orders")
        ]
        rows.append(_row(section, "total", ALL, [h for *_, h in mine]))
        rows += _grouped(section, "category", ((c, h) for _s, c, h in mine))
        rows += _grouped(section, "source", ((s, h) for s, _c, h in mine))
    rows += _grouped(
        "actions",
        "resolution",
        ((str(r or "unknown"), _handled(at, done, end)) for r, at, done in resolved),
    )
    if events is not None:
        for section, action in (("decisions", "review_decision"), ("appeals", "appeal_decision")):
            found = events.fetch_all(
                "SELECT coalesce(outcome, 'unknown'), count(*), "
                "quantile_disc(duration_ms, 0.5) FROM events "
                "WHERE action = ? AND ts >= ? AND ts < ? GROUP BY 1 ORDER BY 2 DESC, 1",
                [action, naive_utc(start), naive_utc(end)],
            )
            rows.append(
                TransparencyRow(section, "total", ALL, sum(int(n) for _o, n, _m in found), None)
            )
            rows += [
                TransparencyRow(
                    section,
                    "outcome",
                    str(outcome),
                    int(n),
                    None if median is None else round(float(median) / 3_600_000, 4),
                )
                for outcome, n, median in found
            ]
    return TransparencyReport(period, tuple(rows))


def _handled(received: datetime, resolved: datetime | None, end: datetime) -> float | None:
    """Hours from receipt to resolution, if resolved before the period's end."""
    if resolved is None or aware(resolved) >= end:
        return None
    return hours((aware(resolved) - aware(received)).total_seconds())


def _row(section: str, dimension: str, value: str, handled: list[float | None]) -> TransparencyRow:
    done = sorted(h for h in handled if h is not None)
    median = percentile(done, 0.5)
    return TransparencyRow(
        section, dimension, value, len(handled), None if median is None else round(median, 4)
    )


def _grouped(
    section: str, dimension: str, items: Iterable[tuple[str, float | None]]
) -> list[TransparencyRow]:
    groups: dict[str, list[float | None]] = defaultdict(list)
    for value, handled in items:
        groups[value].append(handled)
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [_row(section, dimension, value, handled) for value, handled in ranked]
