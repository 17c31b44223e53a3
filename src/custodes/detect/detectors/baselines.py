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
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import pyarrow as pa

from custodes.detect.alert import Alert, Severity
from custodes.detect.detector import SCORE_SCHEMA, DetectContext, Findings, register
from custodes.detect.evidence import evidence_for
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


@register("baselines")
class Baselines:
    name = "baselines"

    def __init__(self, signals: tuple[Signal, ...] | None = None) -> None:
        self.signals = SIGNALS if signals is None else signals

    def run(self, context: DetectContext) -> Findings:
        store = context.store
        rows: list[tuple[str, object, str, float, float, float | None, float | None]] = []
        for signal in self.signals:
            rows.extend((*r[:2], signal.feature, *r[2:]) for r in _zscores(store, signal, context))
        by_signal = {s.feature: s for s in self.signals}
        by_category: dict[tuple[str, object, str], list[float]] = defaultdict(list)
        hits = []
        for actor, day, feature, value, z, own_median, peer_median in rows:
            signal = by_signal[feature]
            if value < signal.min_value:
                # Too small to matter: it may still add to its family's evidence that day,
                # but never by more than a sub-threshold signal would.
                z = min(z, Z_ALERT - 1)
            score = _squash(z)
            by_category[(actor, day, signal.category)].append(z)
            if z >= Z_ALERT and value >= signal.min_value:
                hits.append((actor, day, signal, value, z, score, own_median, peer_median))
        evidence = evidence_for(store, [(h[0], h[1], h[2].actions) for h in hits])
        alerts = [
            _alert(
                actor,
                day,
                signal,
                value,
                z,
                score,
                own,
                peer,
                evidence.get((actor, day, signal.actions), ()),
            )
            for actor, day, signal, value, z, score, own, peer in hits
        ]
        day_score: dict[tuple[str, object], float] = defaultdict(float)
        for (actor, day, _), zs in by_category.items():
            day_score[(actor, day)] = max(day_score[(actor, day)], _squash(_combine(zs)))
        scores = pa.table(
            {
                "actor_id": [k[0] for k in day_score],
                "day": pa.array([k[1] for k in day_score], pa.date32()),
                "score": pa.array(list(day_score.values()), pa.float64()),
            },
            schema=SCORE_SCHEMA,
        )
        return Findings(alerts, scores)


def _zscores(
    store: EventStore, signal: Signal, context: DetectContext
) -> list[tuple[str, object, float, float, float | None, float | None]]:
    since = "" if context.since is None else f"WHERE o.day >= DATE '{context.since.isoformat()}'"
    # Incremental runs need only the history window before `since`, not all of it.
    history = (
        ""
        if context.since is None
        else f"WHERE f.day >= DATE '{context.since.isoformat()}' - INTERVAL {HISTORY_DAYS + 1} DAYS"
    )
    column = '"' + signal.feature.replace('"', '""') + '"'
    floor = float(signal.min_scale)
    raw = f"CAST(f.{column} AS DOUBLE)"
    x = f"ln(1 + {raw})" if signal.log else raw
    sign = -1 if signal.low_is_bad else 1
    sql = f"""
        WITH f AS (
            SELECT f.actor_id, f.day, {x} AS x, {raw} AS raw,
                   coalesce(p.role, '?') AS role, coalesce(p.site, '?') AS site,
                   coalesce(p.hire_date > f.day - INTERVAL {HISTORY_DAYS} DAYS, false) AS new_hire
            FROM features_actor_day f LEFT JOIN people p ON p.actor_id = f.actor_id
            {history}
        ),
        own AS (
            SELECT actor_id, day, x, raw, role, site, new_hire,
                count(*) OVER w AS n_hist,
                quantile_cont(x, 0.5) OVER w AS med,
                quantile_cont(x, 0.75) OVER w - quantile_cont(x, 0.25) OVER w AS iqr
            FROM f
            WINDOW w AS (PARTITION BY actor_id ORDER BY day
                RANGE BETWEEN INTERVAL {HISTORY_DAYS} DAYS PRECEDING AND INTERVAL 1 DAY PRECEDING)
        ),
        peer AS (
            SELECT day, role, site, count(*) AS n_peer, quantile_cont(x, 0.5) AS pmed,
                   quantile_cont(x, 0.75) - quantile_cont(x, 0.25) AS piqr
            FROM f GROUP BY day, role, site
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
        SELECT actor_id, day, raw,
               coalesce(least(z_own, z_peer), z_own, z_peer) AS z, own_median, peer_median
        FROM z WHERE coalesce(z_own, z_peer) IS NOT NULL AND raw > 0
    """
    return [(r[0], r[1], float(r[2]), float(r[3]), r[4], r[5]) for r in store.fetch_all(sql)]


def _combine(zs: list[float]) -> float:
    """One family's evidence on one day: the strongest signal, plus the others with halving
    weights, so several moderately unusual signals of one kind of misconduct (fast AND
    one-label AND rubber-stamping) outrank one signal's lone spike of the same size."""
    ordered = sorted((z for z in zs if z > 0), reverse=True)
    if not ordered:
        return max(zs)
    return sum(z * COMBINE_WEIGHT**i for i, z in enumerate(ordered))


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


def _alert(
    actor: str,
    day: object,
    signal: Signal,
    value: float,
    z: float,
    score: float,
    own: float | None,
    peer: float | None,
    evidence: tuple[str, ...],
) -> Alert:
    start = datetime.combine(day, time.min)  # type: ignore[arg-type]
    if signal.log:  # medians were taken of ln(1 + x); say them in the feature's own units
        own = None if own is None else math.expm1(own)
        peer = None if peer is None else math.expm1(peer)
    typical = []
    if own is not None:
        typical.append(f"usually {_amount(own)} for them")
    if peer is not None:
        typical.append(f"{_amount(peer)} for peers that day")
    reason = f"{signal.what}: {_amount(value)} ({', '.join(typical) or 'no baseline'}; z = {z:.1f})"
    return Alert(
        actor_id=actor,
        detector="baselines",
        category=signal.category,
        severity=_severity(z),
        score=score,
        window_start=start,
        window_end=start + timedelta(days=1),
        reasons=(reason,),
        evidence_event_ids=evidence,
        pattern=f"baselines:{signal.feature}",
    )
