"""One scheme, one alert, across runs.

Window-based findings start where the evidence starts, and an incremental run sees only the
windows that reach its ``since``; so a scheme found again would start at a different time,
get a new id, and sit next to its earlier copy (which the runner keeps, since it starts
before ``since``). Instead, a new alert that overlaps a stored alert of the same detector,
actor, category and pattern takes over that alert's id and start: the runner then replaces
the old copy, and analyst verdicts stay attached.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final

from custodes.detect.alert import Alert
from custodes.store.events import EventStore

# Alerts this close count as one scheme going on.
TOUCH: Final = timedelta(days=1)


def carry_over(store: EventStore, detector: str, alerts: list[Alert]) -> list[Alert]:
    if not alerts:
        return alerts
    stored = store.fetch_all(
        "SELECT alert_id, actor_id, category, pattern, window_start, window_end FROM alerts "
        "WHERE detector = ? ORDER BY window_start, alert_id",
        [detector],
    )
    by_key: dict[tuple[str, str, str], list[tuple[str, datetime, datetime]]] = {}
    for alert_id, actor, category, pattern, start, end in stored:
        by_key.setdefault((actor, category, pattern or ""), []).append((alert_id, start, end))
    taken: set[str] = set()
    out = []
    for alert in alerts:
        for alert_id, start, end in by_key.get((alert.actor_id, alert.category, alert.pattern), []):
            touches = start <= alert.window_end + TOUCH and alert.window_start <= end + TOUCH
            if touches and alert_id not in taken:
                taken.add(alert_id)
                alert = replace(
                    alert, alert_id=alert_id, window_start=min(start, alert.window_start)
                )
                break
        out.append(alert)
    return out
