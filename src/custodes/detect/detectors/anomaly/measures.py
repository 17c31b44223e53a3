"""What the anomaly model looks at: actor-day measures, each with its suspicious tail.

The choice of measures matters more than the model. An unsupervised score sums surprise
over every measure, so a measure that merely tracks workload (raw event counts) makes busy
days look anomalous and buries the misconduct; hence rates and shares, and counts of things
that should be rare, compared as ``ln(1 + x)`` so that 0 → 1 and 100 → 101 are not equally
big steps. Each measure says which tail is suspicious (ECOD's one-sided variant): only a
*high* number of unticketed private views is a finding, only a *low* decision time is.
``BOTH`` leaves the direction to ECOD's skewness rule, for the rare measure where either
extreme is a tell.

Measures that are also baselines signals take their scenario family, wording and evidence
actions from ``baselines.SIGNALS``, so the two detectors name things the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from custodes.detect.detectors.baselines import SIGNALS

# Grid steps: 0.1 in log space is a 10 % step of volume (and keeps counts up to ~10
# apart); 0.02 is two points of a share. Finer grids cost time and add little: tail
# probabilities are what matters, and they barely move within a step.
LOG_STEP: Final = 0.1
SHARE_STEP: Final = 0.02


class Tail(StrEnum):
    HIGH = "high"  # only unusually high values are suspicious
    LOW = "low"  # only unusually low values are
    BOTH = "both"  # either; ECOD picks the tail by the training skewness


@dataclass(frozen=True)
class Measure:
    """One input of the model: a SQL expression over ``features_actor_day`` (alias-free
    column names), NULL when undefined for the day (a share of nothing)."""

    name: str
    sql: str
    category: str  # scenario family (data contract §3) this measure points to
    what: str  # how a person reads it
    actions: tuple[str, ...]  # where the evidence is
    tail: Tail = Tail.HIGH
    log: bool = False  # compare ln(1 + x): counts and volumes with heavy tails
    # Values are compared on a grid of this step (after the log), which bounds the number
    # of distinct values per measure (the model's cost grows with it) and makes ties exact.
    step: float = 0.02

    def compared(self, column: str) -> str:
        """The value the model compares, from the raw one in ``column`` (the raw value is
        what explanations quote)."""
        raw = f"CAST({column} AS DOUBLE)"
        return f"ln(1 + {raw})" if self.log else raw


_SIGNAL = {s.feature: s for s in SIGNALS}


def _signal(feature: str, tail: Tail = Tail.HIGH, *, log: bool = False) -> Measure:
    """A feature that baselines also watches: same family, wording and evidence."""
    s = _SIGNAL[feature]
    return Measure(
        feature,
        feature,
        s.category,
        s.what,
        s.actions,
        tail,
        log,
        LOG_STEP if log else SHARE_STEP,
    )


def _count(feature: str, category: str, what: str, actions: tuple[str, ...]) -> Measure:
    return Measure(feature, feature, category, what, actions, Tail.HIGH, True, LOG_STEP)


def _ratio(numerator: str, denominator: str) -> str:
    return f"CAST({numerator} AS DOUBLE) / nullif({denominator}, 0)"


_SESSION = ("login", "logout", "login_failed", "mfa_failed")

MEASURES: Final[tuple[Measure, ...]] = (
    # -- unjustified_access: looking without a reason ------------------------------------
    _signal("private_views_unticketed", log=True),
    _signal("private_views_unticketed_sensitive", log=True),
    _signal("lookups_conflict", log=True),
    _signal("lookups_high_profile", log=True),
    # The share, unlike the count, does not grow with an investigator's caseload.
    Measure(
        "private_views_unticketed_share",
        _ratio("private_views_unticketed", "private_views"),
        "unjustified_access",
        "share of private-data views with no ticket",
        ("view_private_data",),
    ),
    # -- paid_reversal: favours for a few creators ------------------------------------------
    _signal("favourable_top_owner_share"),
    _signal("favourable_against_suggestion_share"),
    _signal("appeal_overturns_made", log=True),
    # -- malicious_enforcement: decisions peers and appeals reject -------------------------
    _signal("appeal_overturn_rate"),
    _signal("qa_disagree_share_received"),
    # -- productivity_gaming: too fast, too uniform, too regular ----------------------------
    _signal("decision_ms_p50", Tail.LOW, log=True),
    _signal("decision_gap_cv", Tail.LOW),
    _signal("decision_fast_share"),
    _signal("decision_top_label_share"),
    _signal("decision_suggestion_agree_share"),
    _count("decisions", "productivity_gaming", "review decisions", ("review_decision",)),
    # -- qa_collusion: one moderator always passed --------------------------------------------
    _signal("qa_top_moderator_agree_share"),
    # A QA analyst who never disagrees is rubber-stamping; one who always does is targeting.
    Measure(
        "qa_disagree_share_given",
        _ratio("qa_disagreements_given", "qa_reviews_given"),
        "qa_collusion",
        "share of their QA reviews that disagreed",
        ("qa_review",),
        Tail.BOTH,
    ),
    # -- data_exfiltration: volumes leaving ---------------------------------------------------
    _signal("export_records", log=True),
    _signal("exports_unticketed", log=True),
    _signal("download_bytes", log=True),
    _signal("removable_bytes", log=True),
    _signal("email_personal_bytes", log=True),
    _signal("upload_bytes", log=True),
    _count(
        "uploads_personal_cloud",
        "data_exfiltration",
        "uploads to personal cloud storage",
        ("upload_external",),
    ),
    _count("prints", "data_exfiltration", "prints", ("print",)),
    # -- privilege_abuse: power used outside the role (stratified by role, so a moderator's
    #    first admin action is rare even where admins do hundreds) ----------------------------
    _signal("self_grants", log=True),
    _signal("role_grants", log=True),
    _count("admin_actions", "privilege_abuse", "admin actions", ("admin_action",)),
    _signal("admin_action_failures", log=True),
    _signal("audit_setting_changes", log=True),
    _count("config_changes", "privilege_abuse", "configuration changes", ("config_change",)),
    _signal("after_end"),
    # -- credential_sharing: somebody else at the keyboard ------------------------------------
    _signal("concurrent_device_hours", log=True),
    _signal("concurrent_ip_hours", log=True),
    _signal("fast_country_switches", log=True),
    _signal("new_devices", log=True),
    _signal("new_countries", log=True),
    _count("distinct_ips", "credential_sharing", "distinct IP addresses", _SESSION),
    _count(
        "auth_failures",
        "credential_sharing",
        "failed sign-ins and MFA challenges",
        ("login_failed", "mfa_failed"),
    ),
    Measure(
        "after_hours_share",
        _ratio("after_hours_events", "events_total"),
        "credential_sharing",
        "share of activity outside their shift",
        _SESSION,
    ),
)

BY_NAME: Final[dict[str, Measure]] = {m.name: m for m in MEASURES}
