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
    try:
        rows = store.fetch_all(
            f"""
            SELECT w.actor_id, w.day, w.actions,
                   list(e.event_id ORDER BY e.ts)[1:{EVIDENCE_PER_ALERT}]
            FROM evidence_wanted w
            LEFT JOIN people p ON p.actor_id = w.actor_id
            JOIN events e ON e.actor_id = w.actor_id
                AND list_contains(w.actions, e.action)
                AND e.ts >= CAST(w.day AS TIMESTAMP) - INTERVAL 1 DAY
                AND e.ts < CAST(w.day AS TIMESTAMP) + INTERVAL 2 DAY
                AND CAST(timezone(coalesce(p.timezone, 'UTC'), CAST(e.ts AS TIMESTAMPTZ)) AS DATE)
                    = w.day
            GROUP BY ALL
            """
        )
    finally:
        store.unregister("evidence_wanted")
    return {(r[0], r[1], tuple(r[2])): tuple(r[3]) for r in rows}
