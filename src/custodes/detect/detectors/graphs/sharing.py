"""Shared credentials: one account in two places at once, and devices that several staff
accounts use.

Sessions are runs of one account's events on one device with no gap over 30 minutes. Two
sessions of the same account on different devices that overlap by at least five minutes are
concurrent use; how much that says depends on where they come from: two countries at once is
near-proof, two networks in one country is strong, the same network (a phone on the home
Wi-Fi next to the laptop) is weak. One device with two addresses at once is a VPN or a
mobile hand-over, not a second person, and is ignored; so is a traveller's new country,
which never overlaps the sessions at home.

The account-device graph adds what concurrency cannot see: a device used by two to four
staff accounts (more is a shared terminal) links the accounts; connected components of
accounts joined through devices name everyone involved. Addresses are weighed by how many
staff normally use them: an office egress shared by a whole site says nothing, a
residential address used by two people from different sites says a little, never enough on
its own to alert.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from custodes.detect.detectors.graphs.components import components
from custodes.detect.detectors.graphs.finding import Finding, local_day
from custodes.detect.detectors.graphs.frame import SPAN_WEEKS, Frame
from custodes.detect.detectors.graphs.stats import squash
from custodes.store.events import EventStore

CATEGORY: Final = "credential_sharing"
SESSION_GAP_MIN: Final = 30
OVERLAP_MIN: Final = 5
FULL_OVERLAP_MIN: Final = 30  # an overlap this long counts in full
WEIGHT_COUNTRY: Final = 2.0  # concurrent sessions from two countries
WEIGHT_NETWORK: Final = 1.0  # from two addresses in one country
WEIGHT_SAME_IP: Final = 0.3  # two devices on one network
WEIGHT_DEVICE: Final = 2.4  # a device of two accounts; shared among more, it says less
# Concurrency inside one country can be a phone on mobile data next to the laptop, every
# day: together such episodes never reach the threshold on their own.
SAME_COUNTRY_CAP: Final = 1.5
WEIGHT_IP: Final = 0.5  # per other account on a little-shared address, across sites
MAX_DEVICE_ACCOUNTS: Final = 4
MAX_IP_ACCOUNTS: Final = 5
THRESHOLD: Final = 2.0  # units: one day in two countries at once, or one device of two
SCALE: Final = 0.6
# Sessions are built from slots this long: no gap inside one can split a session.
_SLOT_US: Final = SESSION_GAP_MIN * 60 * 1_000_000


def sessions_sql(frame: Frame) -> str:
    """Overlapping sessions of one account on two devices, one row per pair.

    No gap inside a half hour of one account on one device exceeds 30 minutes, so sessions
    are found from half-hour slots (first and last event) rather than from every event;
    only the few sessions that overlap another are then read event by event, for the
    addresses and ids the reasons quote (in time order, as a session is read)."""
    return f"""
WITH slots AS (
    SELECT e.actor_id, e.device_id, epoch_us(e.ts) // {_SLOT_US} AS k,
        min(e.ts) AS lo, max(e.ts) AS hi
    FROM events e
    WHERE e.device_id IS NOT NULL AND {frame.events_in_range()}
    GROUP BY ALL
),
edges AS (
    SELECT *,
        coalesce(lo - lag(hi) OVER w > INTERVAL {SESSION_GAP_MIN} MINUTE, true) AS opens,
        coalesce(lead(lo) OVER w - hi > INTERVAL {SESSION_GAP_MIN} MINUTE, true) AS closes
    FROM slots
    WINDOW w AS (PARTITION BY actor_id, device_id ORDER BY k)
),
-- A session runs from a slot that opens one to the first slot from there that closes one.
spans AS MATERIALIZED (
    SELECT o.actor_id, o.device_id, o.lo AS s, c.hi AS t
    FROM (SELECT actor_id, device_id, k, lo FROM edges WHERE opens) AS o
    ASOF JOIN (SELECT actor_id, device_id, k, hi FROM edges WHERE closes) AS c
        ON c.actor_id = o.actor_id AND c.device_id = o.device_id AND c.k >= o.k
    WHERE c.hi - o.lo >= INTERVAL {OVERLAP_MIN} MINUTE
),
-- Two sessions that overlap share the UTC day on which the overlap starts: pairs are
-- looked for day by day, not across all of an account's sessions.
days AS (
    SELECT *, CAST(s AS DATE) + CAST(unnest(range(datediff('day', s, t) + 1)) AS INTEGER) AS d
    FROM spans
),
pairs AS MATERIALIZED (
    SELECT a.actor_id, a.device_id AS device_a, b.device_id AS device_b,
        a.s AS s_a, a.t AS t_a, b.s AS s_b, b.t AS t_b
    FROM days a
    JOIN days b ON a.actor_id = b.actor_id AND a.d = b.d AND a.device_id < b.device_id
        AND a.s < b.t AND b.s < a.t
    WHERE a.d = CAST(greatest(a.s, b.s) AS DATE)
        AND least(a.t, b.t) - greatest(a.s, b.s) >= INTERVAL {OVERLAP_MIN} MINUTE
),
involved AS (
    SELECT actor_id, device_a AS device_id, s_a AS s, t_a AS t FROM pairs
    UNION
    SELECT actor_id, device_b, s_b, t_b FROM pairs
),
sessions AS (
    SELECT i.actor_id, i.device_id, i.s,
        arg_min(e.event_id, e.ts ORDER BY e.ts, e.event_id) AS first_id,
        arg_max(e.event_id, e.ts ORDER BY e.ts, e.event_id) AS last_id,
        mode(e.ip ORDER BY e.ts, e.event_id) AS ip,
        mode(e.country ORDER BY e.ts, e.event_id) AS country
    FROM involved i
    JOIN events e ON e.actor_id = i.actor_id AND e.device_id = i.device_id
        AND e.ts >= i.s AND e.ts <= i.t
    WHERE e.ts >= (SELECT min(s) FROM involved) AND e.ts <= (SELECT max(t) FROM involved)
    GROUP BY ALL
)
SELECT p.actor_id, p.device_a, p.device_b,
    greatest(p.s_a, p.s_b) AS overlap_start, least(p.t_a, p.t_b) AS overlap_end,
    a.ip AS ip_a, b.ip AS ip_b, a.country AS country_a, b.country AS country_b,
    [a.first_id, a.last_id, b.first_id, b.last_id] AS ids,
    {frame.bucket("greatest(p.s_a, p.s_b)")} AS b,
    {local_day("greatest(p.s_a, p.s_b)", "pp.timezone")} AS day
FROM pairs p
JOIN sessions a ON a.actor_id = p.actor_id AND a.device_id = p.device_a AND a.s = p.s_a
JOIN sessions b ON b.actor_id = p.actor_id AND b.device_id = p.device_b AND b.s = p.s_b
LEFT JOIN people pp ON pp.actor_id = p.actor_id
ORDER BY p.actor_id, overlap_start
"""


def co_use_sql(frame: Frame, column: str, max_accounts: int) -> str:
    """Devices or addresses used by 2..max_accounts staff accounts, per window: one row per
    (thing, window, account) with the account's events on it and the site of each user."""
    return f"""
WITH u AS (
    SELECT e.{column} AS thing, e.actor_id, {frame.bucket()} AS b, count(*) AS n
    FROM events e
    WHERE e.{column} IS NOT NULL AND {frame.events_in_range()}
    GROUP BY ALL
),
uw AS ({frame.spread("SELECT * FROM u", "s.thing, s.actor_id", "CAST(sum(s.n) AS BIGINT) AS n")}),
deg AS (
    SELECT thing, w, count(*) AS accounts FROM uw GROUP BY ALL
    HAVING count(*) BETWEEN 2 AND {max_accounts}
)
SELECT uw.thing, uw.w, uw.actor_id, uw.n, deg.accounts, p.site
FROM uw JOIN deg USING (thing, w)
LEFT JOIN people p ON p.actor_id = uw.actor_id
ORDER BY uw.w, uw.thing, uw.actor_id
"""


@dataclass
class Account:
    """What one account did in one window."""

    units: float = 0.0
    episodes: list[dict[str, Any]] = field(default_factory=list)
    devices: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # -> (other, n)
    ring: list[str] = field(default_factory=list)  # accounts linked through devices
    addresses: dict[str, list[str]] = field(default_factory=dict)
    event_ids: list[str] = field(default_factory=list)
    days: set[date] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None


def episode_weight(r: dict[str, Any]) -> tuple[float, bool]:
    """(weight, whether the two sessions are in two countries)."""
    far = _two(r, "country")
    if far:
        weight = WEIGHT_COUNTRY
    elif _two(r, "ip"):
        weight = WEIGHT_NETWORK
    else:
        weight = WEIGHT_SAME_IP
    minutes = (r["overlap_end"] - r["overlap_start"]).total_seconds() / 60
    return weight * min(1.0, minutes / FULL_OVERLAP_MIN), far


def findings(store: EventStore, frame: Frame) -> list[Finding]:
    accounts: dict[tuple[str, int], Account] = defaultdict(Account)
    concurrent_staff: dict[int, set[str]] = defaultdict(set)
    for r in store.fetch_arrow(sessions_sql(frame)).to_pylist():
        for w in range(max(0, r["b"] - SPAN_WEEKS + 1), min(r["b"], frame.windows - 1) + 1):
            acc = accounts[(r["actor_id"], w)]
            acc.episodes.append(r)
            acc.event_ids.extend(r["ids"])
            acc.days.add(r["day"])
            acc.first = _min(acc.first, r["overlap_start"])
            acc.last = _max(acc.last, r["overlap_end"])
            concurrent_staff[w].add(r["actor_id"])
    for acc in accounts.values():
        # One pair of devices counts once a day, at its strongest.
        best: dict[tuple[object, str, str, bool], float] = {}
        for r in acc.episodes:
            weight, far = episode_weight(r)
            key = (r["day"], r["device_a"], r["device_b"], far)
            best[key] = max(best.get(key, 0.0), weight)
        far_units = sum(v for k, v in best.items() if k[3])
        near_units = sum(v for k, v in best.items() if not k[3])
        acc.units += far_units + min(near_units, SAME_COUNTRY_CAP)
    _devices(store, frame, accounts)
    _addresses(store, frame, accounts)
    staff = _staff(store, frame)
    out = []
    for (actor, window), acc in sorted(accounts.items()):
        if acc.units <= 0:
            continue
        out.append(_finding(actor, window, acc, len(concurrent_staff[window]), staff))
    return out


def _devices(store: EventStore, frame: Frame, accounts: dict[tuple[str, int], Account]) -> None:
    rows = store.fetch_arrow(co_use_sql(frame, "device_id", MAX_DEVICE_ACCOUNTS)).to_pylist()
    users: dict[tuple[str, int], list[tuple[str, int]]] = defaultdict(list)
    for r in rows:
        users[(r["thing"], r["w"])].append((r["actor_id"], int(r["n"])))
    by_window: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for (device, window), who in users.items():
        for actor, _ in who:
            by_window[window].append(("a:" + actor, "d:" + device))
    for (device, window), who in sorted(users.items()):
        for actor, _ in who:
            acc = accounts[(actor, window)]
            others = [(o, n) for o, n in who if o != actor]
            acc.devices[device] = others
            acc.units += WEIGHT_DEVICE / len(others)
    # Accounts linked through shared devices, transitively: one ring, named in full.
    for window, edges in by_window.items():
        for component in components(edges):
            ring = sorted(n[2:] for n in component if n.startswith("a:"))
            for actor in ring:
                accounts[(actor, window)].ring = [o for o in ring if o != actor]


def _addresses(store: EventStore, frame: Frame, accounts: dict[tuple[str, int], Account]) -> None:
    rows = store.fetch_arrow(co_use_sql(frame, "ip", MAX_IP_ACCOUNTS)).to_pylist()
    users: dict[tuple[str, int], list[tuple[str, str | None]]] = defaultdict(list)
    for r in rows:
        users[(r["thing"], r["w"])].append((r["actor_id"], r["site"]))
    for (ip, window), who in sorted(users.items()):
        sites = {s for _, s in who}
        if len(sites) == 1 and None not in sites:
            continue  # one site's people: an office or a shared flat, not a stranger
        for actor, _ in who:
            others = [o for o, _ in who if o != actor]
            acc = accounts[(actor, window)]
            acc.addresses[ip] = others
            acc.units += WEIGHT_IP * len(others) / (len(who) - 1)


def _staff(store: EventStore, frame: Frame) -> int:
    value = store.fetch_value(
        f"SELECT count(DISTINCT e.actor_id) FROM events e "
        f"WHERE e.action = 'login' AND {frame.events_in_range()}"
    )
    return int(value or 0)


def _finding(actor: str, window: int, acc: Account, with_overlap: int, staff: int) -> Finding:
    reasons = []
    if acc.episodes:
        days = len({r["day"] for r in acc.episodes})
        countries = sorted(
            {f"{r['country_a']}+{r['country_b']}" for r in acc.episodes if _two(r, "country")}
        )
        where = f" (at once from {', '.join(countries)})" if countries else ""
        first = acc.episodes[0]
        reasons.append(
            f"concurrent sessions on two devices on {days} day{'s' if days > 1 else ''}{where}: "
            f"e.g. {first['device_a']} ({first['ip_a']}, {first['country_a']}) and "
            f"{first['device_b']} ({first['ip_b']}, {first['country_b']}) from "
            f"{first['overlap_start']:%Y-%m-%d %H:%M} to {first['overlap_end']:%H:%M} UTC "
            f"({with_overlap - 1} of {max(staff - 1, 0)} other staff who logged in had any)"
        )
    for device, others in sorted(acc.devices.items()):
        names = ", ".join(f"{o} ({n} events)" for o, n in others)
        reasons.append(f"device {device} is also used by {names}")
    if len(acc.ring) > len({o for others in acc.devices.values() for o, _ in others}):
        reasons.append(f"accounts linked through shared devices: {', '.join(acc.ring)}")
    for ip, users in sorted(acc.addresses.items()):
        reasons.append(
            f"address {ip} is used by only {len(users) + 1} staff accounts, from different "
            f"sites: also {', '.join(users)}"
        )
    score = squash(acc.units, THRESHOLD, SCALE)
    lead = f"their account looks used by more than one person: evidence {acc.units:.1f}"
    finding = Finding(
        actor_id=actor,
        category=CATEGORY,
        pattern="shared_credentials",
        window=window,
        evidence=acc.units,
        score=score,
        reasons=[lead, *reasons],
        edges=[(d, "device") for d in sorted(acc.devices)]
        + [(ip, "ip") for ip in sorted(acc.addresses)],
        event_ids=sorted(set(acc.event_ids)),
        first=acc.first,
        last=acc.last,
        days=set(acc.days),
    )
    return finding


def _two(r: dict[str, Any], column: str) -> bool:
    a, b = r[f"{column}_a"], r[f"{column}_b"]
    return bool(a and b and a != b)


def _min(a: datetime | None, b: datetime) -> datetime:
    return b if a is None else min(a, b)


def _max(a: datetime | None, b: datetime) -> datetime:
    return b if a is None else max(a, b)


def lookup_sql() -> str:
    """The account's events on a shared device or address, on the days (UTC) when another
    account used it too: the days the sharing was going on."""
    return f"""
WITH mine AS (
    SELECT w.fid, w.lo, w.hi, w.kind, w.counterpart, e.actor_id, e.event_id, e.ts
    FROM graphs_wanted w
    JOIN events e ON e.actor_id = w.actor_id AND e.device_id = w.counterpart
    WHERE w.kind = 'device' AND e.ts >= w.lo AND e.ts < w.hi
    UNION ALL
    SELECT w.fid, w.lo, w.hi, w.kind, w.counterpart, e.actor_id, e.event_id, e.ts
    FROM graphs_wanted w
    JOIN events e ON e.actor_id = w.actor_id AND e.ip = w.counterpart
    WHERE w.kind = 'ip' AND e.ts >= w.lo AND e.ts < w.hi
),
wanted AS (SELECT DISTINCT fid, lo, hi, kind, counterpart, actor_id FROM mine),
theirs AS (
    SELECT DISTINCT m.fid, CAST(o.ts AS DATE) AS utc_day
    FROM wanted m JOIN events o ON o.device_id = m.counterpart
    WHERE m.kind = 'device' AND o.ts >= m.lo AND o.ts < m.hi AND o.actor_id <> m.actor_id
    UNION
    SELECT DISTINCT m.fid, CAST(o.ts AS DATE) AS utc_day
    FROM wanted m JOIN events o ON o.ip = m.counterpart
    WHERE m.kind = 'ip' AND o.ts >= m.lo AND o.ts < m.hi AND o.actor_id <> m.actor_id
)
SELECT mine.fid, mine.event_id, mine.ts, {local_day("mine.ts")} AS day
FROM mine
JOIN theirs ON theirs.fid = mine.fid AND theirs.utc_day = CAST(mine.ts AS DATE)
LEFT JOIN people p ON p.actor_id = mine.actor_id
"""
