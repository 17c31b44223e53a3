"""Baselines: how unusual is today, for this person and for their peers?

For each signal (a feature with the scenario family it points to), an actor-day gets two
robust z-scores — against the actor's own previous 28 active days, and against the same
day's peers of the same role and site — from medians and interquartile ranges, which a few
extreme days cannot drag. The effective z is the *smaller* of the two when both exist: a
whole team's legitimate crisis-day burst is normal for the peers, a person's usual heavy
workload is normal for them, and only what is unusual both ways is flagged. Peers alone
judge only a genuine new hire (hired within the history window): at the start of the data
everybody lacks history, and a habitually heavy worker is not suspicious for being heavy.
Guards keep thin evidence quiet: at least 7 days of history, at least 5 peers, a minimum
raw value, and a scale floor so that a count going 0 → 1 is not infinitely surprising.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Final

from custodes.detect.alert import Alert, Severity
from custodes.detect.detector import SCORE_SCHEMA, DetectContext, Findings, register
from custodes.detect.evidence import EVIDENCE_PER_ALERT, evidence_for
from custodes.detect.features.sqltext import quote
from custodes.store.events import EventStore


@dataclass(frozen=True)
class Signal:
    feature: str
    category: str
    what: str  # how a person reads the feature: "private-data views with no ticket"
    actions: tuple[str, ...]  # where the evidence is
    min_value: float = 1.0  # below this raw value, never alert
    min_scale: float = 1.0  # scale floor: 1 for counts, ~0.05 for shares
    low_is_bad: bool = False  # e.g. decision speed: too fast is the anomaly
    log: bool = False  # heavy-tailed volumes (bytes, records) are compared as ln(1 + x)


_LOOK = ("view_profile", "view_private_data", "search_accounts")
_DECIDE = ("review_decision",)
_MOVE = ("export_data", "download_file", "copy_to_removable", "email_send", "upload_external")
_SESSION = ("login", "logout", "login_failed", "mfa_failed")

# Each scenario family's tell-tale features (detect/features/catalog.py says what each is).
SIGNALS: tuple[Signal, ...] = (
    Signal(
        "private_views_unticketed",
        "unjustified_access",
        "private-data views with no ticket",
        ("view_private_data",),
    ),
    Signal(
        "private_views_unticketed_sensitive",
        "unjustified_access",
        "unticketed private views of high-profile or conflicted accounts",
        ("view_private_data",),
    ),
    Signal(
        "lookups_conflict",
        "unjustified_access",
        "look-ups of accounts with a declared conflict",
        _LOOK,
    ),
    Signal(
        "lookups_high_profile", "unjustified_access", "look-ups of high-profile accounts", _LOOK
    ),
    Signal(
        "favourable_top_owner_share",
        "paid_reversal",
        "share of favourable decisions going to one creator",
        (*_DECIDE, "appeal_decision"),
        min_value=0.3,
        min_scale=0.1,
    ),
    Signal(
        "favourable_against_suggestion_share",
        "paid_reversal",
        "share of approvals against the classifier",
        _DECIDE,
        min_value=0.2,
        min_scale=0.05,
    ),
    Signal("appeal_overturns_made", "paid_reversal", "appeals overturned", ("appeal_decision",)),
    Signal(
        "appeal_overturn_rate",
        "malicious_enforcement",
        "share of their decisions overturned on appeal",
        _DECIDE,
        min_value=0.5,
        min_scale=0.1,
    ),
    Signal(
        "qa_disagree_share_received",
        "malicious_enforcement",
        "share of their decisions QA disagreed with",
        _DECIDE,
        min_value=0.35,
        min_scale=0.05,
    ),
    Signal(
        "decision_ms_p50",
        "productivity_gaming",
        "median decision time (ms)",
        _DECIDE,
        min_value=0.0,
        min_scale=0.05,
        low_is_bad=True,
        log=True,
    ),
    Signal(
        "decision_gap_cv",
        "productivity_gaming",
        "regularity of gaps between decisions",
        _DECIDE,
        min_value=0.0,
        min_scale=0.05,
        low_is_bad=True,
    ),
    Signal(
        "decision_fast_share",
        "productivity_gaming",
        "share of decisions under 5 s",
        _DECIDE,
        min_value=0.1,
        min_scale=0.05,
    ),
    Signal(
        "decision_top_label_share",
        "productivity_gaming",
        "share of decisions with one label",
        _DECIDE,
        min_value=0.5,
        min_scale=0.05,
    ),
    Signal(
        "decision_suggestion_agree_share",
        "productivity_gaming",
        "share of decisions copying the classifier",
        _DECIDE,
        min_value=0.5,
        min_scale=0.03,
    ),
    Signal(
        "qa_top_moderator_agree_share",
        "qa_collusion",
        "share of QA reviews passing one moderator",
        ("qa_review",),
        min_value=0.2,
        min_scale=0.05,
    ),
    # Volumes: below a floor that matters (a few kB to one's own webmail, an everyday
    # download) a spike is not worth an analyst's time however rare it is for the person.
    Signal(
        "export_records",
        "data_exfiltration",
        "records exported",
        ("export_data",),
        min_value=20_000,
        log=True,
    ),
    Signal("exports_unticketed", "data_exfiltration", "exports with no ticket", ("export_data",)),
    Signal(
        "download_bytes",
        "data_exfiltration",
        "bytes downloaded",
        ("download_file",),
        min_value=50e6,
        log=True,
    ),
    Signal(
        "removable_bytes",
        "data_exfiltration",
        "bytes copied to removable media",
        ("copy_to_removable",),
        log=True,
    ),
    Signal(
        "email_personal_bytes",
        "data_exfiltration",
        "bytes e-mailed to personal webmail",
        ("email_send",),
        min_value=1e6,
        log=True,
    ),
    Signal(
        "upload_bytes",
        "data_exfiltration",
        "bytes uploaded outside",
        ("upload_external",),
        min_value=10e6,
        log=True,
    ),
    Signal("self_grants", "privilege_abuse", "roles granted to themselves", ("role_grant",)),
    Signal("role_grants", "privilege_abuse", "roles granted", ("role_grant",)),
    Signal("admin_action_failures", "privilege_abuse", "denied admin actions", ("admin_action",)),
    Signal(
        "audit_setting_changes",
        "privilege_abuse",
        "audit-setting changes",
        ("audit_setting_change",),
    ),
    Signal("after_end", "privilege_abuse", "activity after their end date", _MOVE + _SESSION),
    Signal(
        "concurrent_device_hours", "credential_sharing", "hours with two devices at once", _SESSION
    ),
    Signal(
        "concurrent_ip_hours", "credential_sharing", "hours with two IP addresses at once", _SESSION
    ),
    Signal(
        "fast_country_switches", "credential_sharing", "country switches under 2 hours", _SESSION
    ),
    Signal("new_devices", "credential_sharing", "devices never seen before", _SESSION),
    Signal("new_countries", "credential_sharing", "countries never seen before", _SESSION),
)

HISTORY_DAYS = 28
MIN_HISTORY = 7
MIN_PEERS = 5
Z_ALERT = 4.0
COMBINE_WEIGHT = 0.5
# Signals positive on at most this share of the actor-days read are scored day by day
# (history by a join), the others by a sliding window over every actor-day.
SPARSE_SHARE = 0.3


@register("baselines")
class Baselines:
    name = "baselines"

    def __init__(self, signals: tuple[Signal, ...] | None = None) -> None:
        self.signals = SIGNALS if signals is None else signals

    def run(self, context: DetectContext) -> Findings:
        """z-scores, family evidence and day scores are computed in the store (one row per
        actor-day and signal would be millions of Python objects at scale); only the hits
        come back to Python, to be worded."""
        store = context.store
        store.execute(
            f"CREATE OR REPLACE TEMP TABLE {_ZTABLE} (actor_id VARCHAR, day DATE, "
            "signal INTEGER, category VARCHAR, value DOUBLE, z DOUBLE, big BOOLEAN, "
            "own_median DOUBLE, peer_median DOUBLE)"
        )
        try:
            shares = _positive_shares(store, self.signals, context)
            for i, signal in enumerate(self.signals):
                sparse = shares[i] <= SPARSE_SHARE
                store.execute(
                    f"INSERT INTO {_ZTABLE} {_zscores_sql(i, signal, context, sparse=sparse)}"
                )
            rows = store.fetch_all(
                f"SELECT actor_id, day, signal, value, z, own_median, peer_median "
                f"FROM {_ZTABLE} WHERE z >= {Z_ALERT!r} AND big ORDER BY signal, actor_id, day"
            )
            scores = store.fetch_arrow(_DAY_SCORES_SQL)
        finally:
            store.execute(f"DROP TABLE IF EXISTS {_ZTABLE}")
        hits = [
            (actor, day, self.signals[i], float(value), float(z), _squash(float(z)), own, peer)
            for actor, day, i, value, z, own, peer in rows
        ]
        evidence = evidence_for(store, [(h[0], h[1], h[2].actions) for h in hits])
        # One alert per actor, day and family: its signals' reasons, strongest first.
        by_family: dict[tuple[str, object, str], list[_Hit]] = {}
        for hit in sorted(hits, key=lambda h: -h[4]):
            by_family.setdefault((hit[0], hit[1], hit[2].category), []).append(hit)
        alerts = [_alert(group, evidence) for group in by_family.values()]
        return Findings(alerts, scores.cast(SCORE_SCHEMA))


_ZTABLE = "baselines_z"

# One family's evidence on one day: the strongest signal, plus the others with halving
# weights, so several moderately unusual signals of one kind of misconduct (fast AND
# one-label AND rubber-stamping) outrank one signal's lone spike of the same size; with no
# positive signal, the largest. Squashed, and a day keeps its strongest family.
_DAY_SCORES_SQL = f"""
    WITH family AS (
        SELECT actor_id, day, category, max(z) AS top,
            list(z ORDER BY z DESC) FILTER (WHERE z > 0) AS positive
        FROM {_ZTABLE}
        GROUP BY actor_id, day, category
    ),
    combined AS (
        SELECT actor_id, day,
            CASE WHEN coalesce(len(positive), 0) > 0 THEN list_reduce(
                list_transform(positive, lambda z, i: z * pow({COMBINE_WEIGHT!r}, i - 1)),
                lambda a, b: a + b)
            ELSE top END AS c
        FROM family
    )
    SELECT actor_id, day, max(1.0 / (1.0 + exp(-(c - {Z_ALERT!r})))) AS score
    FROM combined
    GROUP BY actor_id, day
    ORDER BY actor_id, day
"""


_QUARTILES: Final = "[0.25, 0.5, 0.75]"  # one pass for the median and the quartiles


def _positive_shares(
    store: EventStore, signals: tuple[Signal, ...], context: DetectContext
) -> list[float]:
    """Per signal: the share of the actor-days read whose value is positive and scored."""
    since, history = "TRUE", "TRUE"
    if context.since is not None:
        since = f"day >= DATE '{context.since.isoformat()}'"
        history = f"day >= DATE '{context.since.isoformat()}' - INTERVAL {HISTORY_DAYS + 1} DAYS"
    counts = ", ".join(
        f"count(*) FILTER (WHERE CAST({_column(s)} AS DOUBLE) > 0 AND {since})" for s in signals
    )
    row = store.fetch_all(f"SELECT count(*), {counts} FROM features_actor_day WHERE {history}")[0]
    total = max(int(row[0]), 1)
    return [int(n) / total for n in row[1:]]


def _column(signal: Signal) -> str:
    return '"' + signal.feature.replace('"', '""') + '"'


def _zscores_sql(index: int, signal: Signal, context: DetectContext, *, sparse: bool) -> str:
    """Rows of ``baselines_z`` for one signal: every actor-day with a baseline and a
    positive value. A value too small to matter (below ``min_value``) may still add to its
    family's evidence that day, but never by more than a sub-threshold signal would.

    Only days with a positive value are scored, so for a ``sparse`` signal (positive on few
    actor-days: most of them) their own history is gathered by a join and summarised per
    day, instead of a sliding window over every actor-day; the medians and ranges are the
    same either way."""
    since = "" if context.since is None else f"WHERE o.day >= DATE '{context.since.isoformat()}'"
    recent = "" if context.since is None else f"AND day >= DATE '{context.since.isoformat()}'"
    # Incremental runs need only the history window before `since`, not all of it.
    history = (
        ""
        if context.since is None
        else f"WHERE f.day >= DATE '{context.since.isoformat()}' - INTERVAL {HISTORY_DAYS + 1} DAYS"
    )
    column = _column(signal)
    floor = float(signal.min_scale)
    raw = f"CAST(f.{column} AS DOUBLE)"
    x = f"ln(1 + {raw})" if signal.log else raw
    sign = -1 if signal.low_is_bad else 1
    small = repr(float(signal.min_value))
    if sparse:
        own = f"""
            SELECT t.actor_id, t.day, t.x, t.raw, t.role, t.site, t.new_hire,
                count(h.day) AS n_hist, quantile_cont(h.x, {_QUARTILES}) AS q
            FROM scored t
            LEFT JOIN f h ON h.actor_id = t.actor_id
                AND h.day >= t.day - INTERVAL {HISTORY_DAYS} DAYS
                AND h.day <= t.day - INTERVAL 1 DAY
            GROUP BY ALL"""
    else:
        own = f"""
            SELECT actor_id, day, x, raw, role, site, new_hire,
                count(*) OVER w AS n_hist, quantile_cont(x, {_QUARTILES}) OVER w AS q
            FROM f
            WINDOW w AS (PARTITION BY actor_id ORDER BY day RANGE BETWEEN
                INTERVAL {HISTORY_DAYS} DAYS PRECEDING AND INTERVAL 1 DAY PRECEDING)"""
    return f"""
        WITH f AS (
            SELECT f.actor_id, f.day, {x} AS x, {raw} AS raw,
                   coalesce(p.role, '?') AS role, coalesce(p.site, '?') AS site,
                   coalesce(p.hire_date > f.day - INTERVAL {HISTORY_DAYS} DAYS, false) AS new_hire
            FROM features_actor_day f LEFT JOIN people p ON p.actor_id = f.actor_id
            {history}
        ),
        scored AS (SELECT * FROM f WHERE raw > 0 {recent}),
        own AS (SELECT *, q[2] AS med, q[3] - q[1] AS iqr FROM ({own})),
        peer AS (
            SELECT day, role, site, count(*) AS n_peer, quantile_cont(x, 0.5) AS pmed,
                   quantile_cont(x, 0.75) - quantile_cont(x, 0.25) AS piqr
            FROM f SEMI JOIN (SELECT DISTINCT day, role, site FROM scored) USING (day, role, site)
            GROUP BY day, role, site
        ),
        z AS (
            SELECT o.actor_id, o.day, o.raw,
                CASE WHEN o.n_hist >= {MIN_HISTORY} THEN {sign} * (o.x - o.med)
                    / greatest(o.iqr / 1.349, sqrt(abs(o.med)), {floor}) END AS z_own,
                CASE WHEN p.n_peer >= {MIN_PEERS}
                    AND (o.n_hist >= {MIN_HISTORY} OR o.new_hire) THEN {sign} * (o.x - p.pmed)
                    / greatest(p.piqr / 1.349, sqrt(abs(p.pmed)), {floor}) END AS z_peer,
                CASE WHEN o.n_hist >= {MIN_HISTORY} THEN o.med END AS own_median,
                CASE WHEN p.n_peer >= {MIN_PEERS} THEN p.pmed END AS peer_median
            FROM own o JOIN peer p ON p.day = o.day AND p.role = o.role AND p.site = o.site
            {since}
        )
        SELECT actor_id, day, {index} AS signal, {quote(signal.category)} AS category,
            raw AS value,
            CASE WHEN raw < {small} THEN least(zz, {Z_ALERT - 1!r}) ELSE zz END AS z,
            raw >= {small} AS big, own_median, peer_median
        FROM (
            SELECT *, coalesce(least(z_own, z_peer), z_own, z_peer) AS zz FROM z
            WHERE coalesce(z_own, z_peer) IS NOT NULL AND raw > 0
        )
    """


def _squash(z: float) -> float:
    """z → 0..1, about 0.5 at the alert threshold; monotone, so rankings are kept."""
    return 1.0 / (1.0 + math.exp(-(z - Z_ALERT)))


def _amount(x: float) -> str:
    """Numbers as a person reads them: 3.0 G rather than 3.01821e+09."""
    for scale, suffix in ((1e9, " G"), (1e6, " M"), (1e4, " k")):
        if abs(x) >= scale:
            return f"{x / scale:.1f}{suffix}"
    return f"{x:.3g}"


def _severity(z: float) -> Severity:
    if z >= 3 * Z_ALERT:
        return Severity.critical
    if z >= 2 * Z_ALERT:
        return Severity.high
    if z >= 1.5 * Z_ALERT:
        return Severity.medium
    return Severity.low


_Hit = tuple[str, Any, Signal, float, float, float, float | None, float | None]


def _alert(
    group: list[_Hit],
    evidence: dict[tuple[str, object, tuple[str, ...]], tuple[str, ...]],
) -> Alert:
    """One family's hits on one actor-day (strongest first) as one alert, scored as the
    day scores combine them, so two signals of one kind of misconduct read as one finding."""
    actor, day, top = group[0][0], group[0][1], group[0][2]
    combined = sum(h[4] * COMBINE_WEIGHT**i for i, h in enumerate(group))
    start = datetime.combine(day, time.min)
    events = dict.fromkeys(e for h in group for e in evidence.get((actor, day, h[2].actions), ()))
    return Alert(
        actor_id=actor,
        detector="baselines",
        category=top.category,
        severity=_severity(combined),
        score=_squash(combined),
        window_start=start,
        window_end=start + timedelta(days=1),
        reasons=tuple(_reason(h[2], h[3], h[4], h[6], h[7]) for h in group),
        evidence_event_ids=tuple(events)[:EVIDENCE_PER_ALERT],
        pattern=f"baselines:{top.feature}",
    )


def _reason(signal: Signal, value: float, z: float, own: float | None, peer: float | None) -> str:
    if signal.log:  # medians were taken of ln(1 + x); say them in the feature's own units
        own = None if own is None else math.expm1(own)
        peer = None if peer is None else math.expm1(peer)
    typical = []
    if own is not None:
        typical.append(f"usually {_amount(own)} for them")
    if peer is not None:
        typical.append(f"{_amount(peer)} for peers that day")
    return f"{signal.what}: {_amount(value)} ({', '.join(typical) or 'no baseline'}; z = {z:.1f})"
