"""The per-actor-day features as data: name, type and meaning, in table order.

The names are a contract for every detector, so they live in one place; the SQL that
computes each group must produce exactly the columns listed here for it (``build`` checks),
and ``FEATURE_COLUMNS`` is derived from this list, never typed twice.

Conventions: counts are BIGINT and 0 when nothing happened; shares, rates and statistics
are DOUBLE and NULL when their denominator is empty (a share of nothing is unknown, not 0 —
and 0 would read as "perfectly regular" or "never agrees").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final


class Group(Enum):
    """Which part of the build computes a feature. Documentation for readers; the build
    itself checks the columns its temp tables produce against this catalogue."""

    ACTIVITY = "activity"
    DECISIONS = "decisions"
    FAVOUR = "favour"
    VERDICTS = "verdicts"
    LOOKUPS = "lookups"
    SESSIONS = "sessions"
    EMPLOYMENT = "employment"


class Kind(Enum):
    COUNT = "count"  # BIGINT, 0 when none
    SHARE = "share"  # DOUBLE in 0..1, NULL when the denominator is empty
    VALUE = "value"  # DOUBLE statistic, NULL when undefined
    DAYS = "days"  # BIGINT number of days, 0 when not applicable
    FLAG = "flag"  # BIGINT 0 or 1

    @property
    def sql_type(self) -> str:
        return "DOUBLE" if self in (Kind.SHARE, Kind.VALUE) else "BIGINT"

    @property
    def zero_default(self) -> bool:
        """Whether "no rows in this group" means 0 (else NULL)."""
        return self in (Kind.COUNT, Kind.DAYS, Kind.FLAG)


@dataclass(frozen=True)
class Feature:
    name: str
    group: Group
    kind: Kind
    meaning: str


def _f(group: Group, kind: Kind, *items: tuple[str, str]) -> tuple[Feature, ...]:
    return tuple(Feature(name, group, kind, meaning) for name, meaning in items)


A, D, F, V, L, S, E = (
    Group.ACTIVITY,
    Group.DECISIONS,
    Group.FAVOUR,
    Group.VERDICTS,
    Group.LOOKUPS,
    Group.SESSIONS,
    Group.EMPLOYMENT,
)
C, SH, VAL, DY, FL = Kind.COUNT, Kind.SHARE, Kind.VALUE, Kind.DAYS, Kind.FLAG

FEATURES: Final[tuple[Feature, ...]] = (
    # -- volumes -------------------------------------------------------------------------
    *_f(
        A,
        C,
        ("events_total", "all events of the actor that local day"),
        ("events_session", "login, logout, login_failed, mfa_failed"),
        ("events_moderation", "review_decision, appeal_decision, qa_review"),
        ("events_data_access", "profile/private views, searches, exports, downloads, prints"),
        ("events_data_movement", "removable copies, e-mail, uploads, web visits"),
        ("events_privilege", "role grants/revokes, admin actions, config and audit changes"),
        ("events_device", "device connects and disconnects"),
        ("events_custom", "custom x- actions (and anything outside the canonical list)"),
        # -- time of day (actor's own time zone and shift) -----------------------------
        ("in_shift_events", "events inside the shift widened by the grace on both sides"),
        ("after_hours_events", "events outside the widened shift; 0 when no shift is known"),
        ("weekend_events", "events on a local Saturday or Sunday"),
    ),
    # -- review decisions ----------------------------------------------------------------
    *_f(D, C, ("decisions", "review_decision events")),
    *_f(
        D,
        VAL,
        ("decision_ms_p50", "median duration_ms of the decisions"),
        ("decision_ms_p10", "10th percentile of duration_ms (the fast tail)"),
        (
            "decision_gap_cv",
            "coefficient of variation of gaps between consecutive decisions "
            "(gaps up to 10 min, at least 5); low = machine-like",
        ),
    ),
    *_f(
        D,
        SH,
        ("decision_fast_share", "share of decisions (with a duration) under 5 s"),
        ("decision_top_label_share", "share of decisions carrying the day's commonest label"),
        ("decision_suggestion_agree_share", "share of decisions equal to suggested_label"),
    ),
    # -- favourable outcomes and who benefits ----------------------------------------------
    *_f(F, C, ("favourable_decisions", "approvals, restores and overturns with an owner")),
    *_f(F, SH, ("favourable_top_owner_share", "share of favourable decisions going to one owner")),
    *_f(
        D,
        SH,
        (
            "favourable_against_suggestion_share",
            "share of approvals (with a suggestion) whose suggested_label was not approve",
        ),
    ),
    # -- QA and appeals ----------------------------------------------------------------------
    *_f(
        V,
        C,
        ("qa_received", "QA reviews of this actor's decisions made that day"),
        ("qa_disagreements_received", "of which QA disagreed"),
    ),
    *_f(V, SH, ("qa_disagree_share_received", "qa_disagreements_received / qa_received")),
    *_f(
        V,
        C,
        ("qa_reviews_given", "QA reviews the actor (as QA analyst) made"),
        ("qa_disagreements_given", "of which they disagreed"),
    ),
    *_f(
        V,
        SH,
        (
            "qa_top_moderator_agree_share",
            "largest share of the day's QA reviews that are 'agree' on one moderator",
        ),
    ),
    *_f(
        V,
        C,
        ("appeals_received", "appeals decided on this actor's decisions made that day"),
        ("appeal_overturns_received", "of which overturned"),
    ),
    *_f(V, SH, ("appeal_overturn_rate", "appeal_overturns_received / appeals_received")),
    *_f(A, C, ("appeal_overturns_made", "appeal decisions by the actor that overturned")),
    # -- account look-ups ------------------------------------------------------------------
    *_f(
        L,
        C,
        ("private_views", "view_private_data events"),
        (
            "private_views_unticketed",
            "private views with no ticket assigned to the actor for "
            "that target and open at the time",
        ),
        (
            "private_views_unticketed_sensitive",
            "unticketed private views of high-profile or conflict-of-interest accounts",
        ),
        ("lookups_high_profile", "profile/private views and searches of high-profile accounts"),
        ("lookups_conflict", "look-ups of accounts that declared a conflict with the actor"),
        ("exports_unticketed", "exports with no ticket assigned to the actor open at the time"),
    ),
    # -- data movement ----------------------------------------------------------------------
    *_f(
        A,
        C,
        ("exports", "export_data events"),
        ("export_records", "records exported"),
        ("downloads", "download_file events"),
        ("download_bytes", "bytes downloaded"),
        ("prints", "print events"),
        ("removable_copies", "copy_to_removable events"),
        ("removable_bytes", "bytes copied to removable media"),
        ("emails_external", "e-mails with attrs.external true"),
        ("emails_personal", "e-mails to consumer webmail domains"),
        ("email_personal_bytes", "bytes e-mailed to consumer webmail domains"),
        ("uploads_external", "upload_external events"),
        ("upload_bytes", "bytes uploaded externally"),
        ("uploads_personal_cloud", "uploads to consumer cloud-storage domains"),
        # -- privilege -------------------------------------------------------------------
        ("role_grants", "role_grant events"),
        ("self_grants", "role grants whose grantee is the actor"),
        ("admin_actions", "admin_action events"),
        ("admin_action_failures", "admin actions that failed (denied)"),
        ("config_changes", "config_change events"),
        ("audit_setting_changes", "audit_setting_change events"),
        # -- sign-in ---------------------------------------------------------------------
        ("logins", "login events"),
        ("auth_failures", "login_failed and mfa_failed events"),
    ),
    # -- where from -------------------------------------------------------------------------
    *_f(
        S,
        C,
        ("distinct_ips", "distinct IP addresses"),
        ("distinct_countries", "distinct countries"),
        ("distinct_devices", "distinct device_ids"),
        ("concurrent_device_hours", "UTC hours with events from two or more devices"),
        ("concurrent_ip_hours", "UTC hours with events from two or more IP addresses"),
        (
            "fast_country_switches",
            "pairs of countries with events less than 2 h apart "
            "(impossible-travel proxy; no coordinates in the data)",
        ),
        ("new_devices", "devices first seen for this actor that day"),
        ("new_countries", "countries first seen for this actor that day"),
    ),
    *_f(S, DY, ("days_since_first_seen", "local days since the actor's first event")),
    # -- employment ---------------------------------------------------------------------
    *_f(
        E,
        FL,
        ("after_notice", "1 on or after people.notice_date"),
        ("after_end", "1 after people.end_date"),
    ),
    *_f(
        E,
        DY,
        ("days_since_notice", "days since notice_date (0 before it or without one)"),
        ("days_since_end", "days since end_date (0 up to it or without one)"),
    ),
)

FEATURE_COLUMNS: Final[tuple[str, ...]] = tuple(f.name for f in FEATURES)
BY_NAME: Final[dict[str, Feature]] = {f.name: f for f in FEATURES}


def columns_of(group: Group) -> tuple[str, ...]:
    return tuple(f.name for f in FEATURES if f.group is group)
