"""Where an actor works from: addresses, countries, devices, overlaps and novelty.

Presence rows (actor, local day, UTC hour, ip, country, device, first and last second),
rolled up from the activity slices, are a few per actor-hour; everything here is computed
on those. There are no coordinates, so impossible travel is approximated by two countries less
than two hours apart. Novelty compares against the actor's whole history, not the window,
so an incremental build agrees with a full one.
"""

from __future__ import annotations

from typing import Final

from custodes.detect.features.clock import local_day_of

TRAVEL_S: Final = 2 * 3600


def presence_sql() -> str:
    """Where the actor was, per local day and UTC hour: a roll-up of the slices."""
    return """
CREATE OR REPLACE TEMP TABLE fx_presence AS
SELECT aid, dn, hour, ip, country, device_id,
    min(first_s) AS first_s, max(last_s) AS last_s
FROM fx_slices
GROUP BY aid, dn, hour, ip, country, device_id
"""


def first_seen_sql(sightings: str | None = None) -> str:
    """The local day each actor, each (actor, device) and each (actor, country) was first
    seen, over all stored history. One aggregation of the events (per actor, device and
    country: a few thousand rows; or ``sightings``, a table of them the run shares), then
    GROUPING SETS over that for all three (straight over the events, the three groupings
    cost three times as much)."""
    kind = (
        "CASE WHEN grouping(s.device_id) = 0 THEN 'device' "
        "WHEN grouping(s.country) = 0 THEN 'country' ELSE 'actor' END"
    )
    source = sightings or f"({_SIGHTINGS})"
    return f"""
CREATE OR REPLACE TEMP TABLE fx_first AS
SELECT p.aid, f.kind, f.value,
    {local_day_of("f.first_ts", "coalesce(p.tz, 'UTC')")} AS first_dn
FROM (
    SELECT s.actor_id, {kind} AS kind, coalesce(s.device_id, s.country) AS value,
        min(s.first_ts) AS first_ts
    FROM {source} AS s
    GROUP BY GROUPING SETS ((s.actor_id, s.device_id), (s.actor_id, s.country), (s.actor_id))
) AS f
JOIN fx_people p ON p.actor_id = f.actor_id
"""


# (Spelled out rather than imported from ``detect.sightings``: the Spark engine runs it.)
_SIGHTINGS: Final = """
    SELECT e.actor_id, e.device_id, e.country, min(e.ts) AS first_ts
    FROM events e
    GROUP BY e.actor_id, e.device_id, e.country
"""


def sessions_sql() -> str:
    return f"""
CREATE OR REPLACE TEMP TABLE fx_sessions AS
WITH per_day AS (
    SELECT aid, dn,
        count(DISTINCT ip) AS distinct_ips,
        count(DISTINCT country) AS distinct_countries,
        count(DISTINCT device_id) AS distinct_devices
    FROM fx_presence
    GROUP BY aid, dn
),
per_hour AS (
    SELECT aid, dn, hour,
        min(device_id) < max(device_id) AS devices,
        min(ip) < max(ip) AS ips
    FROM fx_presence
    GROUP BY aid, dn, hour
),
concurrent AS (
    SELECT aid, dn,
        count(*) FILTER (WHERE devices) AS concurrent_device_hours,
        count(*) FILTER (WHERE ips) AS concurrent_ip_hours
    FROM per_hour
    GROUP BY aid, dn
),
country_days AS (
    SELECT DISTINCT aid, dn, country FROM fx_presence WHERE country IS NOT NULL
),
-- Only days with another country that day or the next can hold a switch: most have none.
candidates AS (
    SELECT aid, dn FROM country_days GROUP BY aid, dn HAVING count(*) > 1
    UNION
    SELECT a.aid, a.dn
    FROM country_days a
    JOIN country_days b ON b.aid = a.aid AND b.dn = a.dn + 1
    WHERE a.country <> b.country
),
moved AS (
    SELECT h.aid, h.dn, h.hour, h.country, h.first_s, h.last_s
    FROM fx_presence h
    JOIN candidates c ON c.aid = h.aid AND c.dn = h.dn
    WHERE h.country IS NOT NULL
),
-- Where the other end of a switch can be: a candidate day or the day after one.
near AS (
    SELECT h.aid, h.hour, h.country, h.first_s, h.last_s
    FROM fx_presence h
    JOIN (SELECT aid, dn FROM candidates UNION SELECT aid, dn + 1 FROM candidates) c
        ON c.aid = h.aid AND c.dn = h.dn
    WHERE h.country IS NOT NULL
),
pairs AS (
    SELECT a.aid, a.dn, a.country AS c1, b.country AS c2
    FROM moved a
    JOIN near b ON b.aid = a.aid AND b.hour = a.hour
    WHERE a.country <> b.country
        AND greatest(a.first_s, b.first_s) - least(a.last_s, b.last_s) <= {TRAVEL_S}
    UNION ALL
    SELECT a.aid, a.dn, a.country AS c1, b.country AS c2
    FROM moved a
    JOIN near b ON b.aid = a.aid AND b.hour = a.hour + 1
    WHERE a.country <> b.country
        AND greatest(a.first_s, b.first_s) - least(a.last_s, b.last_s) <= {TRAVEL_S}
    UNION ALL
    SELECT a.aid, a.dn, a.country AS c1, b.country AS c2
    FROM moved a
    JOIN near b ON b.aid = a.aid AND b.hour = a.hour + 2
    WHERE a.country <> b.country
        AND greatest(a.first_s, b.first_s) - least(a.last_s, b.last_s) <= {TRAVEL_S}
),
travel AS (
    SELECT aid, dn,
        count(DISTINCT least(c1, c2) || '>' || greatest(c1, c2)) AS fast_country_switches
    FROM pairs
    GROUP BY aid, dn
),
seen AS (
    SELECT DISTINCT aid, dn, 'device' AS kind, device_id AS value
    FROM fx_presence WHERE device_id IS NOT NULL
    UNION ALL
    SELECT DISTINCT aid, dn, 'country', country
    FROM fx_presence WHERE country IS NOT NULL
),
novelty AS (
    SELECT s.aid, s.dn,
        count(*) FILTER (WHERE s.kind = 'device' AND f.first_dn = s.dn) AS new_devices,
        count(*) FILTER (WHERE s.kind = 'country' AND f.first_dn = s.dn) AS new_countries
    FROM seen s
    JOIN fx_first f ON f.aid = s.aid AND f.kind = s.kind AND f.value = s.value
    GROUP BY s.aid, s.dn
)
SELECT d.aid, d.dn,
    d.distinct_ips, d.distinct_countries, d.distinct_devices,
    coalesce(c.concurrent_device_hours, 0) AS concurrent_device_hours,
    coalesce(c.concurrent_ip_hours, 0) AS concurrent_ip_hours,
    coalesce(t.fast_country_switches, 0) AS fast_country_switches,
    coalesce(n.new_devices, 0) AS new_devices,
    coalesce(n.new_countries, 0) AS new_countries,
    d.dn - fa.first_dn AS days_since_first_seen
FROM per_day d
LEFT JOIN concurrent c ON c.aid = d.aid AND c.dn = d.dn
LEFT JOIN travel t ON t.aid = d.aid AND t.dn = d.dn
LEFT JOIN novelty n ON n.aid = d.aid AND n.dn = d.dn
LEFT JOIN fx_first fa ON fa.aid = d.aid AND fa.kind = 'actor'
"""
