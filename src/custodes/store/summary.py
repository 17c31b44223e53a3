"""Read-only summaries of the event store for people (demo, status pages)."""

from __future__ import annotations

from typing import Any

from custodes.model.vocabulary import ACTION_FAMILIES
from custodes.store.events import EventStore


def _family_case() -> str:
    branches = " ".join(
        f"WHEN action IN ({', '.join(repr(a) for a in actions)}) THEN '{family}'"
        for family, actions in ACTION_FAMILIES.items()
    )
    return f"CASE {branches} ELSE 'custom' END"


def store_summary(store: EventStore) -> dict[str, Any]:
    """Counts, time span, staff mix, event mix and ground-truth scenarios."""
    first, last = store.fetch_one("SELECT min(ts), max(ts) FROM events") or (None, None)
    staff = store.fetch_all(
        "SELECT coalesce(role, '?'), coalesce(site, '?'), count(*) FROM people "
        "GROUP BY ALL ORDER BY 3 DESC, 1, 2"
    )
    families = store.fetch_all(
        f"SELECT {_family_case()} AS family, count(*), count(DISTINCT actor_id) FROM events "
        "GROUP BY 1 ORDER BY 2 DESC"
    )
    scenarios = store.fetch_all(
        "SELECT scenario, count(DISTINCT actor_id) FROM labels GROUP BY 1 ORDER BY 1"
    )
    return {
        "tables": store.counts(),
        "time_span": {
            "first": first.isoformat() if first else None,
            "last": last.isoformat() if last else None,
        },
        "staff": [{"role": r, "site": s, "staff": n} for r, s, n in staff],
        "families": [{"family": f, "events": n, "actors": a} for f, n, a in families],
        "scenarios": [{"scenario": s, "insiders": n} for s, n in scenarios],
    }
