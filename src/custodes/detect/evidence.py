"""Evidence for findings: the ids of the events behind an actor-day, shared by detectors.

Alerts must let an analyst check the finding against the log, so each carries the first
events (in time order) of the relevant actions on that local day. One query serves all of a
detector's findings, because per-alert lookups would scan the events once per alert.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

from custodes.store.events import EventStore

EVIDENCE_PER_ALERT: Final = 25


def evidence_for(
    store: EventStore, wanted: list[tuple[str, object, tuple[str, ...]]]
) -> dict[tuple[str, object, tuple[str, ...]], tuple[str, ...]]:
    """The first events behind each hit, found in one query for all hits."""
    wanted = list(dict.fromkeys(wanted))  # a hit wanted twice would list its events twice
    if not wanted:
        return {}
    table = pa.table(
        {
            "actor_id": [w[0] for w in wanted],
            "day": pa.array([w[1] for w in wanted], pa.date32()),
            "actions": [list(w[2]) for w in wanted],
        }
    )
    store.register("evidence_wanted", table)
    # A local day lies within the UTC days before, of and after it: events are matched on
    # (actor, UTC day), not on the actor alone, and read only from the days wanted.
    days = [w[1] for w in wanted]
    lo, hi = min(days), max(days)  # type: ignore[type-var]
    try:
        rows = store.fetch_all(
            f"""
            SELECT w.actor_id, w.day, w.actions,
                   list(e.event_id ORDER BY e.ts)[1:{EVIDENCE_PER_ALERT}]
            FROM (
                SELECT *, unnest([day - 1, day, day + 1]) AS utc_day FROM evidence_wanted
            ) AS w
            LEFT JOIN people p ON p.actor_id = w.actor_id
            JOIN events e ON e.actor_id = w.actor_id AND CAST(e.ts AS DATE) = w.utc_day
                AND list_contains(w.actions, e.action)
                AND CAST(timezone(coalesce(p.timezone, 'UTC'), CAST(e.ts AS TIMESTAMPTZ)) AS DATE)
                    = w.day
            WHERE e.ts >= CAST(? AS TIMESTAMP) - INTERVAL 1 DAY
                AND e.ts < CAST(? AS TIMESTAMP) + INTERVAL 2 DAY
            GROUP BY w.actor_id, w.day, w.actions
            """,
            [lo, hi],
        )
    finally:
        store.unregister("evidence_wanted")
    return {(r[0], r[1], tuple(r[2])): tuple(r[3]) for r in rows}
