"""First sightings: when each actor was first seen with each device and country.

Features (new devices and countries, days since first seen) and sequences (a login from a
device or country never seen for the person) both need them over all stored history, the
one thing an incremental run must read every event for. A run computes them once, into a
temporary table both read (``TABLE``: one row per actor, device and country, with the
first time; a few thousand rows), instead of each aggregating the events again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from custodes.store.events import EventStore

TABLE: Final = "detect_sightings"


def sightings_sql(where: str = "TRUE") -> str:
    """The sightings of the events matching ``where`` (over ``events e``)."""
    return f"""
SELECT e.actor_id, e.device_id, e.country, min(e.ts) AS first_ts
FROM events e
WHERE {where}
GROUP BY e.actor_id, e.device_id, e.country
"""


@contextmanager
def shared_sightings(store: EventStore) -> Iterator[str]:
    """``TABLE`` over every stored event, for the block; yields its name."""
    store.execute(f"CREATE OR REPLACE TEMP TABLE {TABLE} AS {sightings_sql()}")
    try:
        yield TABLE
    finally:
        store.execute(f"DROP TABLE IF EXISTS {TABLE}")
