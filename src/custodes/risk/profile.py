"""One staff member's risk, explained over time and against their peers.

What an analyst asks on opening a person: how did the score get here, what is it made of,
and is this person unusual for their job? So, for one actor:

- **History**: the score at the end of each of the last ``HISTORY_DAYS`` days, with its exact
  decomposition grouped by scenario family (alerts) and by modifier name (context), so each
  day's parts add up to its score. Each day is ``score_actors`` as of that moment, over the
  active alerts and the directory context, so the last point is exactly what ``custodes
  risk`` and the dashboard say.
- **Peers**: the people of the same role and site (the peer group the baselines detector
  compares with), their scores as of now (0 without active alerts), the person's rank
  among them, and activity per action family (events per active day over the last
  ``ACTIVITY_DAYS`` days) against the peers' median.

Actor ids stay in these results; pseudonymising is the caller's job (``risk.staff``).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

from custodes.clock import utc_now
from custodes.detect.alert import Alert
from custodes.detect.results import contexts, last_event_time, load_alerts
from custodes.model.vocabulary import ACTION_FAMILIES, family_of
from custodes.risk.scoring import ActorContext, ActorRisk, RiskConfig, score_actors
from custodes.store.events import EventStore

HISTORY_DAYS: Final = 60
ACTIVITY_DAYS: Final = 28
FAMILY_ORDER: Final = (*ACTION_FAMILIES, "custom")


@dataclass(frozen=True)
class DayRisk:
    day: date
    score: float
    parts: tuple[tuple[str, float], ...]  # (scenario family or modifier, points): sum = score


@dataclass(frozen=True)
class FamilyActivity:
    family: str
    own: float  # the person's events per active day
    peers: float | None  # the peers' median of the same; None without peers


@dataclass(frozen=True)
class Peers:
    role: str | None
    site: str | None
    size: int  # peers, the person not counted
    scores: tuple[float, ...]  # each peer's score now (0 without active alerts), highest first
    rank: int  # the person's place among peers and person, 1 = riskiest
    activity: tuple[FamilyActivity, ...]
    activity_start: datetime
    activity_end: datetime

    @property
    def median(self) -> float | None:
        return statistics.median(self.scores) if self.scores else None

    @property
    def p90(self) -> float | None:
        if not self.scores:
            return None
        ordered = sorted(self.scores)
        return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


@dataclass(frozen=True)
class StaffProfile:
    actor_id: str
    role: str | None
    site: str | None
    team: str | None
    as_of: datetime
    risk: ActorRisk | None  # None: no active alerts, so no score
    history: tuple[DayRisk, ...]
    peers: Peers


def staff_profile(
    events: EventStore, actor_id: str, config: RiskConfig | None = None
) -> StaffProfile:
    config = config or RiskConfig()
    as_of = last_event_time(events) or utc_now()
    person = events.fetch_one("SELECT role, site, team FROM people WHERE actor_id = ?", [actor_id])
    role, site, team = (None, None, None) if person is None else person
    peer_ids = (
        [
            str(r[0])
            for r in events.fetch_all(
                "SELECT actor_id FROM people WHERE role = ? AND site = ? AND actor_id <> ? "
                "ORDER BY actor_id",
                [role, site, actor_id],
            )
        ]
        if role is not None and site is not None
        else []
    )
    group = {actor_id, *peer_ids}
    alerts = load_alerts(events, actors=sorted(group))
    context = contexts(events)
    ranked = {r.actor_id: r for r in score_actors(alerts, context, as_of, config)}
    own_alerts = [a for a in alerts if a.actor_id == actor_id]
    risk = ranked.get(actor_id)
    own_score = risk.risk_score if risk else 0.0
    scores = sorted((ranked[p].risk_score if p in ranked else 0.0 for p in peer_ids), reverse=True)
    start = as_of - timedelta(days=ACTIVITY_DAYS)
    return StaffProfile(
        actor_id=actor_id,
        role=role,
        site=site,
        team=team,
        as_of=as_of,
        risk=risk,
        history=history(
            own_alerts, context.get(actor_id, ActorContext()), as_of, config, _days(events, as_of)
        ),
        peers=Peers(
            role=role,
            site=site,
            size=len(peer_ids),
            scores=tuple(scores),
            rank=1 + sum(1 for s in scores if s > own_score),
            activity=_activity(events, actor_id, peer_ids, start, as_of),
            activity_start=start,
            activity_end=as_of,
        ),
    )


def history(
    alerts: Sequence[Alert],
    context: ActorContext,
    as_of: datetime,
    config: RiskConfig,
    days: int = HISTORY_DAYS,
) -> tuple[DayRisk, ...]:
    """The score at the end of each of the ``days`` days up to ``as_of`` (the last point
    at ``as_of`` itself), with its parts; empty without alerts."""
    if not alerts:
        return ()
    out = []
    last = as_of.date()
    for back in range(days - 1, -1, -1):
        day = last - timedelta(days=back)
        moment = min(datetime.combine(day, time.max), as_of)
        scored = score_actors(alerts, {alerts[0].actor_id: context}, moment, config)
        if not scored:
            out.append(DayRisk(day, 0.0, ()))
            continue
        parts = scored_parts(scored[0])
        out.append(
            DayRisk(
                day,
                scored[0].risk_score,
                tuple((name, value) for name, value in sorted(parts.items()) if value > 0),
            )
        )
    return tuple(out)


def _activity(
    events: EventStore,
    actor_id: str,
    peer_ids: Sequence[str],
    start: datetime,
    end: datetime,
) -> tuple[FamilyActivity, ...]:
    """Events per active day, per family: the person's, and the median over their peers
    (peers with no event of a family count as 0 for it, if they were active at all).
    One scan, grouped by actor, action and day, then twice over that small result: events
    per action and active days per actor (a family CASE, or a distinct count over the scan,
    costs twice as much); families are summed here."""
    actors = [actor_id, *peer_ids]
    marks = ", ".join("?" for _ in actors)
    rows = events.fetch_all(
        f"""
        WITH d AS MATERIALIZED (
            SELECT actor_id, action, CAST(ts AS DATE) AS day, count(*) AS n
            FROM events WHERE actor_id IN ({marks}) AND ts > ? AND ts <= ?
            GROUP BY ALL
        )
        SELECT actor_id, action, sum(n)::BIGINT, NULL FROM d GROUP BY ALL
        UNION ALL
        SELECT actor_id, NULL, NULL, count(DISTINCT day) FROM d GROUP BY ALL
        """,
        [*actors, start, end],
    )
    active_days = {str(a): int(d) for a, action, _n, d in rows if action is None}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for a, action, n, _d in rows:
        if action is not None:
            counts[str(a)][family_of(str(action))] += int(n)
    return tuple(
        FamilyActivity(
            family=f,
            own=_rate(counts[actor_id].get(f, 0), active_days.get(actor_id, 0)),
            peers=_median(
                _rate(counts[p].get(f, 0), active_days[p]) for p in peer_ids if active_days.get(p)
            ),
        )
        for f in FAMILY_ORDER
        if any(f in c for c in counts.values())
    )


def _days(events: EventStore, as_of: datetime) -> int:
    """``HISTORY_DAYS``, or fewer when the data begins later (no flat line before it)."""
    first = events.fetch_value("SELECT min(ts) FROM events")
    if not isinstance(first, datetime):
        return HISTORY_DAYS
    return max(1, min(HISTORY_DAYS, (as_of.date() - first.date()).days + 1))


def _rate(n: int, days: int) -> float:
    return n / days if days else 0.0


def _median(values: Iterable[float]) -> float | None:
    found = list(values)
    return statistics.median(found) if found else None


def scored_parts(risk: ActorRisk) -> Mapping[str, float]:
    """A score's parts by scenario family (alerts) and modifier name (context)."""
    parts: dict[str, float] = defaultdict(float)
    for c in risk.contributions:
        parts[c.category if c.kind == "alert" and c.category else c.name] += c.value
    return dict(parts)
