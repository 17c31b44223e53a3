"""Sequences: ordered steps that are ordinary alone and telling together.

A bulk download is a normal day for a data engineer; a USB copy happens; people resign. A
bulk download *well above the person's own norm*, days after they gave notice, followed by a
copy to a USB stick is the textbook exfiltration. Patterns are small typed data: a tuple of
steps, each a SQL predicate over one candidate row, with how far it may follow (``within``)
or precede (``lead``) the step before it, and a maximum span. Matching runs in DuckDB: each
step's candidates are one filtered scan, and chains are built from an anchor step with ASOF
joins (the nearest step after, or before, within the gap), so the store streams and only
matched chains reach Python.

Volumes are judged against the person's own norm: the day's volume of that kind (records
exported without a ticket, bytes downloaded or copied, private records viewed, admin actions)
divided by a busy day of theirs, the 90th percentile of their previous active days (60 days
back; volumes are heavy-tailed, and a median would make every busy day "5x the norm"); with
fewer than five such days, a busy day of their role over the same 60 days; never below a
floor, so that one small action of a kind someone never does is not "infinitely" unusual.
A chain's evidence is the sum of its steps' weights, each volume step counting one more
weight per tenfold above the norm; so more steps and larger volumes score higher, and a
chain missing a step still scores, lower.

Built-in patterns:

* exfiltration: notice given -> bulk export or download -> removable copy, personal cloud
  upload or personal e-mail (the bulk step anchors: two of the three steps are a finding,
  notice and bulk or bulk and outflow; collecting often starts days before the notice);
* privilege escalation: a role grant to oneself (or by a non-admin outside their team) ->
  admin tools -> audit settings changed, within a day;
* new place, straight to private data: a login from a device or country never seen for the
  person -> private-data views or exports within the hour.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

import pyarrow as pa

from custodes.detect.alert import Alert
from custodes.detect.detector import SCORE_SCHEMA, DetectContext, Findings, register
from custodes.detect.detectors.graphs.continuity import carry_over
from custodes.detect.detectors.graphs.finding import severity
from custodes.detect.features.attributes import PERSONAL_CLOUD_DOMAINS, PERSONAL_EMAIL_DOMAINS
from custodes.detect.features.sqltext import in_list, quote
from custodes.detect.sightings import sightings_sql

DETECTOR: Final = "sequences"
NORM_DAYS: Final = 60
MIN_HISTORY: Final = 5  # active days before one's own norm is trusted
NORM_QUANTILE: Final = 0.9  # volumes are heavy-tailed: the norm is a busy day, not a median
NEW_AFTER_DAYS: Final = 14  # a device or country is "new" only for someone seen this long
SCALE: Final = 0.5
MIN_DAY_SCORE: Final = 0.05
_CANDIDATES: Final = "seq_candidates"


@dataclass(frozen=True)
class Step:
    name: str  # how a person reads it: "bulk export or download"
    where: str  # SQL predicate over a candidate row ``c`` (columns: see candidates_sql)
    within: timedelta = timedelta(0)  # how long after the previous step it may come
    lead: timedelta = timedelta(0)  # how long *before* the previous step it may come
    weight: float = 1.0
    volume: bool = False  # scored by the day's volume against the person's norm


@dataclass(frozen=True)
class Pattern:
    name: str
    category: str  # scenario family
    steps: tuple[Step, ...]
    span: timedelta  # first to last step
    threshold: float  # evidence at which the score is 0.5 (the alert threshold)
    anchor: int = 0  # chains start from every candidate of this step
    min_steps: int = 2


DAY: Final = timedelta(days=1)
# Data leaving: at least a busy day's amount for them (and the class floor) that day.
_OUTFLOW: Final = "c.cls IN ('removable', 'upload', 'email') AND c.ratio >= 1"
_OUTFLOW_NAME: Final = "removable copy, personal cloud upload or personal e-mail"
# Break-glass: a self-grant revoked within this many hours is the procedure working.
BREAK_GLASS_HOURS: Final = 12

PATTERNS: Final[tuple[Pattern, ...]] = (
    Pattern(
        "exfiltration",
        "data_exfiltration",
        (
            Step("gave notice", "c.action = 'notice_given'"),
            Step(
                "bulk export or download",
                "c.cls IN ('export', 'download') AND c.ratio >= 5",
                within=45 * DAY,
                lead=14 * DAY,
                volume=True,
            ),
            Step(_OUTFLOW_NAME, _OUTFLOW, within=7 * DAY, volume=True),
        ),
        span=60 * DAY,
        threshold=2.5,
        anchor=1,
    ),
    Pattern(
        "leaver_outflow",
        "data_exfiltration",
        (
            Step("gave notice", "c.action = 'notice_given'"),
            Step(_OUTFLOW_NAME, _OUTFLOW, within=45 * DAY, lead=14 * DAY, volume=True),
        ),
        span=60 * DAY,
        threshold=2.5,
        anchor=1,
    ),
    Pattern(
        "privilege_escalation",
        "privilege_abuse",
        (
            Step(
                "role grant to themselves or outside their team, not revoked the same shift",
                "c.action = 'role_grant' AND (c.self_grant OR (c.actor_role IS DISTINCT FROM "
                "'admin' AND c.grantee_team IS DISTINCT FROM c.actor_team)) "
                f"AND NOT coalesce(c.revoked_after_h <= {BREAK_GLASS_HOURS}, false)",
            ),
            Step("admin tools used", "c.cls = 'admin'", within=DAY, volume=True),
            Step(
                "audit settings changed",
                "c.action = 'audit_setting_change'",
                within=DAY,
                weight=1.5,
            ),
        ),
        span=DAY,
        threshold=2.3,
    ),
    Pattern(
        "new_place_private_data",
        "credential_sharing",
        (
            Step(
                "login from a device or country never seen for them",
                "c.action = 'login' AND (c.new_device OR c.new_country)",
            ),
            Step(
                "private-data views or exports",
                "c.cls IN ('private', 'export')",
                within=timedelta(hours=1),
                volume=True,
            ),
        ),
        span=timedelta(hours=1),
        threshold=2.5,
    ),
)

# Volume classes: which events, which measure, the floor under the norm, the unit.
_CLASSES: Final[dict[str, tuple[str, str, float, str]]] = {
    # An export a work item justifies (a ticket) is not the kind that leaves.
    "export": (
        "e.action = 'export_data' AND e.ticket_id IS NULL",
        "coalesce(e.records, 0)",
        1_000,
        "unticketed records exported",
    ),
    "download": ("e.action = 'download_file'", "coalesce(e.bytes, 0)", 50e6, "bytes downloaded"),
    "removable": (
        "e.action = 'copy_to_removable'",
        "coalesce(e.bytes, 0)",
        10e6,
        "bytes copied to removable media",
    ),
    "upload": (
        f"e.action = 'upload_external' AND {{domain}} IN {in_list(PERSONAL_CLOUD_DOMAINS)}",
        "coalesce(e.bytes, 0)",
        10e6,
        "bytes uploaded to personal cloud",
    ),
    "email": (
        f"e.action = 'email_send' AND {{domain}} IN {in_list(PERSONAL_EMAIL_DOMAINS)}",
        "coalesce(e.bytes, 0)",
        5e6,
        "bytes e-mailed to personal addresses",
    ),
    "private": ("e.action = 'view_private_data'", "1", 5, "private-data views"),
    "admin": ("e.action = 'admin_action'", "1", 1, "admin actions"),
}
_ACTIONS: Final = (
    "export_data", "download_file", "copy_to_removable", "upload_external", "email_send",
    "view_private_data", "admin_action", "role_grant", "audit_setting_change", "login",
)  # fmt: skip
_DOMAIN: Final = (
    "regexp_replace(lower(coalesce(json_extract_string(e.attrs, '$.recipient_domain'), "
    "json_extract_string(e.attrs, '$.url_domain'))), '^www\\.', '')"
)


def candidates_sql(lo: datetime, hi: datetime, sightings: str | None = None) -> str:
    """Every row a step may match, with the day's volume of its kind against the norm.
    ``sightings``: a table of first sightings over every event before ``hi`` (computed
    from the events when None)."""
    where = {name: spec[0].format(domain="e.domain") for name, spec in _CLASSES.items()}
    cls = _case((w, quote(name)) for name, w in where.items())
    measure = _case((where[name], spec[1]) for name, spec in _CLASSES.items())
    floor = _case((f"cls = {quote(name)}", str(spec[2])) for name, spec in _CLASSES.items())
    history = lo - timedelta(days=NORM_DAYS)
    first_sightings = (
        sightings_sql(f"e.ts < {_ts(hi)}") if sightings is None else f"SELECT * FROM {sightings}"
    )
    return f"""
CREATE OR REPLACE TEMP TABLE {_CANDIDATES} AS
WITH read AS (
    SELECT e.event_id, e.ts, e.actor_id, e.action, e.outcome, e.target_id, e.ip, e.country,
        e.device_id, e.ticket_id, e.records, e.bytes, e.attrs, {_DOMAIN} AS domain
    FROM events e
    WHERE e.action IN {in_list(_ACTIONS)} AND e.ts >= {_ts(history)} AND e.ts < {_ts(hi)}
),
-- (The domain is parsed once, in ``read``, and only looked up here.)
ev AS (
    SELECT e.*, {cls} AS cls, {measure} AS measure,
        json_extract_string(e.attrs, '$.grantee_id') AS grantee_id
    FROM read e
),
daily AS (
    SELECT ev.actor_id, coalesce(p.role, '?') AS role, ev.cls, CAST(ev.ts AS DATE) AS d,
        CAST(sum(ev.measure) AS DOUBLE) AS volume
    FROM ev LEFT JOIN people p ON p.actor_id = ev.actor_id
    WHERE ev.cls IS NOT NULL
    GROUP BY ALL
),
-- Busy days before this one: the person's own, and their role's (others then, not today).
normed AS (
    SELECT actor_id, cls, d, volume,
        count(*) OVER own AS n_hist,
        quantile_cont(volume, {NORM_QUANTILE}) OVER own AS own_norm,
        quantile_cont(volume, {NORM_QUANTILE}) OVER peers AS peer_norm
    FROM daily
    WINDOW
        own AS (PARTITION BY actor_id, cls ORDER BY d
            RANGE BETWEEN INTERVAL {NORM_DAYS} DAYS PRECEDING AND INTERVAL 1 DAY PRECEDING),
        peers AS (PARTITION BY role, cls ORDER BY d
            RANGE BETWEEN INTERVAL {NORM_DAYS} DAYS PRECEDING AND INTERVAL 1 DAY PRECEDING)
),
chosen AS (
    SELECT actor_id, cls, d, volume,
        CASE WHEN n_hist >= {MIN_HISTORY} THEN own_norm ELSE coalesce(peer_norm, 0) END AS base,
        CASE WHEN n_hist >= {MIN_HISTORY} THEN 'own' ELSE 'role' END AS source
    FROM normed
),
norms AS (
    SELECT actor_id, cls, d, volume,
        CASE WHEN {floor} >= base THEN 'floor' ELSE source END AS norm_source,
        greatest({floor}, base) AS norm
    FROM chosen
),
revokes AS (
    SELECT e.ts, e.target_id, json_extract_string(e.attrs, '$.grantee_id') AS grantee_id
    FROM events e
    WHERE e.action = 'role_revoke' AND e.ts >= {_ts(lo)}
),
grants AS (
    SELECT g.event_id, date_diff('second', g.ts, r.ts) / 3600.0 AS revoked_after_h
    FROM (SELECT event_id, ts, target_id, grantee_id FROM ev WHERE action = 'role_grant') AS g
    ASOF JOIN revokes r
        ON r.grantee_id = g.grantee_id AND r.target_id = g.target_id AND r.ts >= g.ts
),
-- First sightings over all history, one aggregation of the events (per actor, device and
-- country: a few thousand rows; shared with the features when the run computed it), then
-- (actor, device), (actor, country), actor.
sightings AS ({first_sightings}),
seen AS (
    SELECT actor_id,
        CASE WHEN grouping(device_id) = 0 THEN 'device'
             WHEN grouping(country) = 0 THEN 'country' ELSE 'actor' END AS kind,
        coalesce(device_id, country) AS value, min(first_ts) AS first_ts
    FROM sightings
    GROUP BY GROUPING SETS ((actor_id, device_id), (actor_id, country), (actor_id))
)
SELECT ev.event_id, ev.ts, ev.actor_id, ev.action, ev.outcome, ev.target_id, ev.ip,
    ev.country, ev.device_id, ev.cls, ev.domain, ev.grantee_id,
    n.volume AS day_volume, n.norm, n.norm_source, n.volume / n.norm AS ratio,
    coalesce(ev.grantee_id = ev.actor_id, false) AS self_grant, gr.revoked_after_h,
    p.role AS actor_role, p.team AS actor_team, g.team AS grantee_team,
    coalesce(ev.action = 'login' AND sd.first_ts >= ev.ts - INTERVAL 1 HOUR
        AND sf.first_ts <= ev.ts - INTERVAL {NEW_AFTER_DAYS} DAYS, false) AS new_device,
    coalesce(ev.action = 'login' AND sc.first_ts >= ev.ts - INTERVAL 1 HOUR
        AND sf.first_ts <= ev.ts - INTERVAL {NEW_AFTER_DAYS} DAYS, false) AS new_country
FROM ev
LEFT JOIN norms n ON n.actor_id = ev.actor_id AND n.cls = ev.cls AND n.d = CAST(ev.ts AS DATE)
LEFT JOIN people p ON p.actor_id = ev.actor_id
LEFT JOIN people g ON g.actor_id = ev.grantee_id
LEFT JOIN grants gr ON gr.event_id = ev.event_id
LEFT JOIN seen sd ON ev.action = 'login' AND sd.actor_id = ev.actor_id AND sd.kind = 'device'
    AND sd.value = ev.device_id
LEFT JOIN seen sc ON ev.action = 'login' AND sc.actor_id = ev.actor_id AND sc.kind = 'country'
    AND sc.value = ev.country
LEFT JOIN seen sf ON ev.action = 'login' AND sf.actor_id = ev.actor_id AND sf.kind = 'actor'
WHERE ev.ts >= {_ts(lo)}
UNION ALL BY NAME
SELECT 'notice:' || p.actor_id AS event_id, CAST(p.notice_date AS TIMESTAMP) AS ts,
    p.actor_id, 'notice_given' AS action
FROM people p
WHERE p.notice_date IS NOT NULL AND CAST(p.notice_date AS TIMESTAMP) < {_ts(hi)}
"""


_STEP_COLUMNS: Final = ("event_id", "ts", "action", "cls", "domain", "day_volume", "norm",
                        "norm_source", "ratio")  # fmt: skip


def chains_sql(pattern: Pattern, since: datetime | None) -> str:
    """Chains from every anchor candidate: later steps by forward ASOF joins (the nearest
    after the previous step), earlier ones by backward ASOF joins (the nearest before)."""
    steps = pattern.steps
    a = pattern.anchor
    ctes = [
        f"s{i} AS (SELECT c.actor_id, {', '.join(f'c.{x}' for x in _STEP_COLUMNS)} "
        f"FROM {_CANDIDATES} c WHERE {step.where})"
        for i, step in enumerate(steps)
    ]
    cols = ", ".join(f"s{a}.{x} AS {x}{a}" for x in _STEP_COLUMNS)
    ctes.append(f"m{a} AS (SELECT s{a}.actor_id, {cols} FROM s{a})")
    order = list(range(a + 1, len(steps))) + list(range(a - 1, -1, -1))
    prev = f"m{a}"
    for i in order:
        forward = i > a
        near = i - 1 if forward else i + 1  # the step it is judged against
        gap = steps[i] if forward else steps[i + 1]
        bound = (
            f"ts{near} - {_interval(gap.lead)}" if forward else f"ts{near} + {_interval(gap.lead)}"
        )
        op = ">=" if forward else "<="
        ok = (
            f"s{i}.ts <= m.ts{near} + {_interval(gap.within)}"
            if forward
            else f"s{i}.ts >= m.ts{near} - {_interval(gap.within)}"
        )
        first = " AND ".join(
            [f"s{i}.ts >= m.ts{a} - {_interval(pattern.span)}",
             f"s{i}.ts <= m.ts{a} + {_interval(pattern.span)}"]
        )  # fmt: skip
        picked = ", ".join(
            f"CASE WHEN {ok} AND {first} THEN s{i}.{x} END AS {x}{i}" for x in _STEP_COLUMNS
        )
        ctes.append(
            f"b{i} AS (SELECT *, {bound} AS bound{i} FROM {prev})",
        )
        ctes.append(
            f"m{i} AS (SELECT m.*, {picked} FROM b{i} AS m ASOF LEFT JOIN s{i} "
            f"ON m.actor_id = s{i}.actor_id AND s{i}.ts {op} m.bound{i})"
        )
        prev = f"m{i}"
    matched = " + ".join(f"CAST(ts{i} IS NOT NULL AS INTEGER)" for i in range(len(steps)))
    firsts = ", ".join(f"ts{i}" for i in range(len(steps)))
    keep = f"n_steps >= {pattern.min_steps}"
    if since is not None:
        keep += f" AND greatest({firsts}) >= {_ts(since)}"
    days = ", ".join(
        f"CAST(timezone(coalesce(p.timezone, 'UTC'), CAST(ts{i} AS TIMESTAMPTZ)) AS DATE) AS day{i}"
        for i in range(len(steps))
    )
    return f"""
WITH {", ".join(ctes)},
chains AS (SELECT *, {matched} AS n_steps FROM {prev})
SELECT chains.*, {days}
FROM chains LEFT JOIN people p ON p.actor_id = chains.actor_id
WHERE {keep}
ORDER BY chains.actor_id, ts{a}, event_id{a}
"""


@dataclass
class Chain:
    pattern: Pattern
    actor_id: str
    steps: list[dict[str, Any] | None]  # per pattern step: the matched row, or None
    evidence: float
    score: float

    @property
    def matched(self) -> list[tuple[Step, dict[str, Any]]]:
        return [(s, r) for s, r in zip(self.pattern.steps, self.steps, strict=True) if r]

    @property
    def first(self) -> datetime:
        return min(self._times())

    @property
    def last(self) -> datetime:
        return max(self._times())

    def _times(self) -> list[datetime]:
        return [r["ts"] for _, r in self.matched]


def _chain(pattern: Pattern, row: dict[str, Any]) -> Chain:
    steps: list[dict[str, Any] | None] = []
    for i in range(len(pattern.steps)):
        if row[f"ts{i}"] is None:
            steps.append(None)
        else:
            found = {x: row[f"{x}{i}"] for x in _STEP_COLUMNS}
            found["day"] = row[f"day{i}"]
            steps.append(found)
    evidence = 0.0
    for step, r in zip(pattern.steps, steps, strict=True):
        if r is None:
            continue
        bonus = math.log10(max(1.0, r["ratio"] or 1.0)) if step.volume else 0.0
        evidence += step.weight * (1.0 + bonus)
    score = 1.0 / (1.0 + math.exp(-(evidence - pattern.threshold) / SCALE))
    return Chain(pattern, row["actor_id"], steps, evidence, score)


def episodes(chains: list[Chain]) -> list[Chain]:
    """One chain per episode: chains of one actor and family whose spans overlap are one
    episode (each bulk day anchors a chain, and the same notice starts them all); the
    strongest stands for it."""
    out: list[Chain] = []
    groups: dict[tuple[str, str], list[Chain]] = defaultdict(list)
    for c in chains:
        groups[(c.actor_id, c.pattern.category)].append(c)
    for key in sorted(groups):
        group: list[Chain] = []
        end: datetime | None = None
        for c in sorted(groups[key], key=lambda c: (c.first, c.last, c.pattern.name)):
            if group and end is not None and c.first > end:
                out.append(_strongest(group))
                group, end = [], None
            group.append(c)
            end = c.last if end is None else max(end, c.last)
        out.append(_strongest(group))
    return out


def _strongest(group: list[Chain]) -> Chain:
    return max(group, key=lambda c: (c.evidence, -c.first.timestamp()))


@register(DETECTOR)
class Sequences:
    name = DETECTOR

    def __init__(self, patterns: tuple[Pattern, ...] | None = None) -> None:
        self.patterns = PATTERNS if patterns is None else patterns

    def run(self, context: DetectContext) -> Findings:
        store = context.store
        hi = context.as_of + timedelta(seconds=1)
        first = store.fetch_value("SELECT min(ts) FROM events")
        if not isinstance(first, datetime):
            return Findings()
        span = max((p.span + p.steps[p.anchor].lead for p in self.patterns), default=DAY)
        since = (
            None if context.since is None else datetime.combine(context.since, datetime.min.time())
        )
        lo = first if since is None else max(first, since - span - DAY)
        store.execute(candidates_sql(lo, hi, context.sightings))
        try:
            chains: list[Chain] = []
            for pattern in self.patterns:
                rows = store.fetch_arrow(chains_sql(pattern, since)).to_pylist()
                chains += [_chain(pattern, r) for r in rows]
        finally:
            store.execute(f"DROP TABLE IF EXISTS {_CANDIDATES}")
        alerts = carry_over(
            store, DETECTOR, [_alert(c) for c in episodes(chains) if c.score >= 0.5]
        )
        return Findings(alerts, _scores(chains, context.since))


def _scores(chains: list[Chain], since: date | None) -> pa.Table:
    best: dict[tuple[str, date], float] = {}
    for c in chains:
        if c.score < MIN_DAY_SCORE:
            continue
        for _, r in c.matched:
            day = r["day"]
            if r["action"] == "notice_given" or (since is not None and day < since):
                continue
            key = (c.actor_id, day)
            best[key] = max(best.get(key, 0.0), c.score)
    keys = sorted(best)
    return pa.table(
        {
            "actor_id": pa.array([k[0] for k in keys], pa.string()),
            "day": pa.array([k[1] for k in keys], pa.date32()),
            "score": pa.array([best[k] for k in keys], pa.float64()),
        },
        schema=SCORE_SCHEMA,
    )


def _alert(chain: Chain) -> Alert:
    matched = sorted(chain.matched, key=lambda x: (x[1]["ts"], chain.pattern.steps.index(x[0])))
    names = " -> ".join(s.name for s, _ in matched)
    hours = (chain.last - chain.first).total_seconds() / 3600
    took = f"{hours / 24:.0f} days" if hours >= 48 else f"{hours:.1f} hours"
    lead = (
        f"{chain.pattern.name.replace('_', ' ')}: {names} within {took} "
        f"({len(matched)} of {len(chain.pattern.steps)} steps; evidence {chain.evidence:.1f})"
    )
    reasons = [lead, *(_step_text(s, r) for s, r in matched)]
    anchor = chain.steps[chain.pattern.anchor]
    assert anchor is not None
    key = "|".join((DETECTOR, chain.actor_id, chain.pattern.name, str(anchor["event_id"])))
    return Alert(
        actor_id=chain.actor_id,
        detector=DETECTOR,
        category=chain.pattern.category,
        severity=severity(chain.score),
        score=chain.score,
        window_start=chain.first,
        window_end=chain.last + timedelta(seconds=1),
        reasons=tuple(reasons),
        evidence_event_ids=tuple(
            r["event_id"] for _, r in matched if r["action"] != "notice_given"
        ),
        alert_id="a-" + hashlib.sha256(key.encode()).hexdigest()[:16],
        pattern=f"{DETECTOR}:{chain.pattern.name}",
    )


def _step_text(step: Step, r: dict[str, Any]) -> str:
    if r["action"] == "notice_given":
        return f"{r['ts']:%Y-%m-%d}: gave notice"
    text = f"{r['ts']:%Y-%m-%d %H:%M} UTC: {r['action']}"
    if r["domain"]:
        text += f" to {r['domain']}"
    if step.volume and r["cls"]:
        unit = _CLASSES[r["cls"]][3]
        usual = {
            "own": f"their busy days: {_num(r['norm'])}",
            "role": f"busy days in their role: {_num(r['norm'])}",
        }.get(r["norm_source"], f"usually under {_num(r['norm'])}")
        text += f", {_num(r['day_volume'])} {unit} that day ({r['ratio']:.0f}x the norm; {usual})"
    return text


def _num(x: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:.3g}{suffix}"
    return f"{x:.3g}"


def _case(branches: Iterable[tuple[str, str]]) -> str:
    return "CASE " + " ".join(f"WHEN {w} THEN {v}" for w, v in branches) + " END"


def _interval(delta: timedelta) -> str:
    return f"INTERVAL {int(delta.total_seconds())} SECOND"


def _ts(value: datetime) -> str:
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
