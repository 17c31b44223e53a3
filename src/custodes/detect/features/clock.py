"""Local time: every feature is about an actor's own calendar day, shift and weekend.

Converting 30M timestamps with a time-zone library costs seconds per pass, so the zone
rules are applied once to a small table of UTC offsets per zone and quarter hour (DST
transitions fall on quarter hours everywhere), and events join it on an integer key.
From then on local time is integer arithmetic on seconds: the local day number, the minute
of the day and the weekday are all divisions, which every SQL engine does the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

QUARTER: Final = 900  # seconds per offset bucket
ZONE_KEY: Final = 100_000_000  # zone id multiplier: quarter numbers stay below it until 4821
DAY_S: Final = 86_400
EPOCH: Final = dt.date(1970, 1, 1)
# Events just before or after a shift (early log-in, a few minutes of overtime) are work.
GRACE_MIN: Final = 60
# Zone offsets lie within -12 h..+14 h, so a local day starts at most one UTC day earlier.
_MAX_LEAD: Final = dt.timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """The local days a build recomputes: all of them, or those from ``since`` on."""

    since: dt.date | None = None

    @property
    def day_number(self) -> int | None:
        return None if self.since is None else (self.since - EPOCH).days

    def ts_floor(self, ts: str = "e.ts", lead: dt.timedelta = _MAX_LEAD) -> str:
        """A UTC pre-filter on raw timestamps that keeps every event of the window's days
        (``lead``: and of this long before them)."""
        if self.since is None:
            return "TRUE"
        first = dt.datetime.combine(self.since - lead, dt.time())
        return f"{ts} >= TIMESTAMP '{first.isoformat(sep=' ')}'"

    def days(self, column: str = "dn") -> str:
        """The filter on local day numbers."""
        n = self.day_number
        return "TRUE" if n is None else f"{column} >= {n}"


def epoch_s(ts: str) -> str:
    """Whole seconds since 1970 (DuckDB's epoch(); Spark: unix_timestamp)."""
    return f"CAST(floor(epoch({ts})) AS BIGINT)"


def people_sql() -> str:
    """One row per actor (in the directory or in the events) with a small integer id
    (grouping and sorting on it is cheaper than on text) and what local time needs: zone,
    shift in minutes, dates as day numbers. A shift whose end is not after its start
    crosses midnight; equal ends mean a 24-hour shift."""
    start = _minutes("shift_start")
    end = _minutes("shift_end")
    return f"""
CREATE OR REPLACE TEMP TABLE fx_people AS
WITH zones AS (
    SELECT tz, dense_rank() OVER (ORDER BY tz) AS tz_id
    FROM (SELECT DISTINCT timezone AS tz FROM people WHERE timezone <> 'UTC') AS z
),
actors AS (SELECT actor_id FROM people UNION SELECT DISTINCT actor_id FROM events)
SELECT
    a.actor_id,
    row_number() OVER (ORDER BY a.actor_id) AS aid,
    coalesce(z.tz, 'UTC') AS tz,
    coalesce(z.tz_id, 0) AS tz_id,
    {start} AS shift_start_min,
    CASE WHEN {start} IS NULL OR {end} IS NULL THEN NULL
         WHEN {start} = {end} THEN 1440
         ELSE (({end} - {start}) % 1440 + 1440) % 1440 END AS shift_len_min,
    date_diff('day', DATE '1970-01-01', notice_date) AS notice_dn,
    date_diff('day', DATE '1970-01-01', end_date) AS end_dn
FROM actors a
LEFT JOIN people p ON p.actor_id = a.actor_id
LEFT JOIN zones z ON z.tz = p.timezone
"""


def _minutes(column: str) -> str:
    """'HH:MM' → minutes after midnight (ingest has checked the format)."""
    return (
        f"(CAST(substr({column}, 1, 2) AS INTEGER) * 60 + CAST(substr({column}, 4, 2) AS INTEGER))"
    )


def offsets_sql(window: Window) -> str:
    """UTC offset in seconds per zone and quarter hour, over the window's time span, keyed
    by one integer (zone id x 10^8 + quarter number) so the per-event join is cheap.

    DuckDB-specific: generate_series/unnest (Spark: sequence/explode) and timezone(zone,
    timestamptz) from the ICU extension (Spark: from_utc_timestamp). The table is small:
    zones in use x 96 per day.
    """
    lo = (
        "min(ts)"
        if window.since is None
        else f"greatest(min(ts), TIMESTAMP '{(window.since - _MAX_LEAD).isoformat()} 00:00:00')"
    )
    return f"""
CREATE OR REPLACE TEMP TABLE fx_offsets AS
WITH span AS (
    SELECT date_trunc('day', {lo}) - INTERVAL 1 DAY AS lo,
           date_trunc('day', max(ts)) + INTERVAL 2 DAY AS hi
    FROM events
),
zones AS (SELECT DISTINCT tz, tz_id FROM fx_people UNION SELECT 'UTC', 0),
grid AS (
    SELECT z.tz, z.tz_id, unnest(generate_series(s.lo, s.hi, INTERVAL {QUARTER} SECOND)) AS t0
    FROM zones z CROSS JOIN span s
    WHERE s.lo IS NOT NULL
)
SELECT
    tz_id * {ZONE_KEY} + {epoch_s("t0")} // {QUARTER} AS k,
    {epoch_s("timezone(tz, CAST(t0 AS TIMESTAMPTZ))")} - {epoch_s("t0")} AS off_s
FROM grid
"""


def localized(
    columns: str,
    where: str,
    window: Window,
    *,
    source: str = "events e",
    actor: str = "e.actor_id",
    ts: str = "e.ts",
) -> str:
    """A SELECT over ``source`` with local-time columns added for ``actor`` at ``ts``.

    Adds ``aid`` (the actor's integer id), ``ls`` (local seconds since 1970), ``dn`` (local
    day number), ``minute`` (of the local day) and the person's shift, keeping only the
    window's local days.
    """
    ls = f"({epoch_s(ts)} + coalesce(o.off_s, 0))"
    inner = f"""
SELECT {columns}, p.aid, {ls} AS ls, p.shift_start_min, p.shift_len_min
FROM {source}
JOIN fx_people p ON p.actor_id = {actor}
LEFT JOIN fx_offsets o
    ON o.k = coalesce(p.tz_id, 0) * {ZONE_KEY} + {epoch_s(ts)} // {QUARTER}
WHERE ({where}) AND {window.ts_floor(ts)}
"""
    return f"""
SELECT * FROM (
    SELECT t.*,
        CAST(floor(ls / {DAY_S}) AS BIGINT) AS dn,
        CAST(floor((ls % {DAY_S} + {DAY_S}) % {DAY_S} / 60) AS BIGINT) AS minute
    FROM ({inner}) AS t
) AS l
WHERE {window.days()}
"""


def in_shift(minute: str = "minute") -> str:
    """True when the local minute lies in the shift widened by the grace; NULL without a
    shift. Minutes are counted from the widened start modulo a day, so shifts that cross
    midnight need no special case."""
    since_start = f"((({minute} - (shift_start_min - {GRACE_MIN})) % 1440 + 1440) % 1440)"
    return f"({since_start} < shift_len_min + {2 * GRACE_MIN})"


def local_day_of(ts: str, tz: str) -> str:
    """Local day number of a few timestamps (first-seen rows), straight from the zone rules
    (DuckDB/ICU timezone(); Spark: from_utc_timestamp)."""
    local = f"timezone({tz}, CAST({ts} AS TIMESTAMPTZ))"
    return f"date_diff('day', DATE '1970-01-01', CAST({local} AS DATE))"


def day_from_number(dn: str) -> str:
    return f"CAST(DATE '1970-01-01' + CAST({dn} AS INTEGER) AS DATE)"
