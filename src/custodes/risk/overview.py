"""The integrity picture at a glance: risk over the staff, open alerts, alerts over time.

One read of the event store gives everything a dashboard shows about integrity, so a page
opens the store once, briefly, and never recomputes detection. Scores are the same as
``custodes risk`` gives (active alerts, directory context, as of the latest event), so the
dashboard and the CLI never disagree about who is riskiest.

"Open" alerts are active ones (not muted by feedback) that no analyst has judged yet: the
work still waiting, which is what a lead wants to see by category. Trends count alerts by
the week their window starts, over the last ``TREND_WEEKS`` weeks before ``as_of``.

Actor ids stay in these results; masking them is the caller's job (pseudonyms depend on
who is looking and what they have unmasked).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from custodes.clock import utc_now
from custodes.detect.results import contexts, last_event_time, load_alerts
from custodes.risk.scoring import ActorRisk, Level, RiskConfig, score_actors
from custodes.store.events import EventStore

TREND_WEEKS: Final = 26


@dataclass(frozen=True)
class CategoryCount:
    category: str
    severity: str
    alerts: int


@dataclass(frozen=True)
class WeekCount:
    week: date  # the Monday the week starts on
    category: str
    alerts: int


@dataclass(frozen=True)
class IntegrityOverview:
    as_of: datetime
    staff: int  # people in the directory, scored or not
    ranked: tuple[ActorRisk, ...]  # every actor with an active alert, riskiest first
    open_alerts: tuple[CategoryCount, ...]  # by category, then severity
    weekly_alerts: tuple[WeekCount, ...]  # by week, then category

    @property
    def levels(self) -> dict[Level, int]:
        """Scored staff per level, every level present (zero when none)."""
        counts = Counter(r.level for r in self.ranked)
        return {level: counts.get(level, 0) for level in Level}

    @property
    def open_total(self) -> int:
        return sum(c.alerts for c in self.open_alerts)


def integrity_overview(
    events: EventStore | None, config: RiskConfig | None = None
) -> IntegrityOverview:
    """Everything the integrity dashboard shows; an empty overview when there is no store
    yet (nothing ingested)."""
    if events is None:
        return IntegrityOverview(utc_now(), 0, (), (), ())
    as_of = last_event_time(events) or utc_now()
    ranked = score_actors(load_alerts(events), contexts(events), as_of, config or RiskConfig())
    staff = int(events.fetch_value("SELECT count(*) FROM people") or 0)
    open_rows = events.fetch_all(
        """
        SELECT category, severity, count(*) FROM alerts a
        WHERE suppressed IS NULL
          AND NOT EXISTS (SELECT 1 FROM alert_verdicts v WHERE v.alert_id = a.alert_id)
        GROUP BY category, severity
        ORDER BY category, severity
        """
    )
    since = as_of - timedelta(weeks=TREND_WEEKS)
    weekly_rows = events.fetch_all(
        """
        SELECT CAST(date_trunc('week', window_start) AS DATE) AS week, category, count(*)
        FROM alerts
        WHERE suppressed IS NULL AND window_start > ? AND window_start <= ?
        GROUP BY week, category
        ORDER BY week, category
        """,
        [since, as_of],
    )
    return IntegrityOverview(
        as_of=as_of,
        staff=staff,
        ranked=tuple(ranked),
        open_alerts=tuple(CategoryCount(str(c), str(s), int(n)) for c, s, n in open_rows),
        weekly_alerts=tuple(WeekCount(w, str(c), int(n)) for w, c, n in weekly_rows),
    )
