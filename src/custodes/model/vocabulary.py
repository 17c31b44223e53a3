"""The contract's closed vocabularies (data-contract.md §1 and §3), in one place."""

from __future__ import annotations

from typing import Final

ACTION_FAMILIES: Final[dict[str, tuple[str, ...]]] = {
    "session": ("login", "logout", "login_failed", "mfa_failed"),
    "moderation": ("review_decision", "appeal_decision", "qa_review"),
    "data_access": (
        "view_profile",
        "view_private_data",
        "search_accounts",
        "export_data",
        "download_file",
        "print",
    ),
    "data_movement": ("copy_to_removable", "email_send", "upload_external", "http_visit"),
    "privilege": (
        "role_grant",
        "role_revoke",
        "admin_action",
        "config_change",
        "audit_setting_change",
    ),
    "device": ("device_connect", "device_disconnect"),
}

CANONICAL_ACTIONS: Final[frozenset[str]] = frozenset(
    a for actions in ACTION_FAMILIES.values() for a in actions
)

# Custom actions and target types are spelled with this prefix; they are always valid.
CUSTOM_PREFIX: Final = "x-"

TARGET_TYPES: Final[tuple[str, ...]] = (
    "content",
    "account",
    "decision",
    "role",
    "file",
    "device",
    "url",
    "email",
    "queue",
    "case",
)

ROLES: Final[tuple[str, ...]] = (
    "moderator",
    "qa_analyst",
    "team_lead",
    "investigator",
    "admin",
    "engineer",
    "other",
)

SCENARIOS: Final[tuple[str, ...]] = (
    "unjustified_access",
    "paid_reversal",
    "malicious_enforcement",
    "productivity_gaming",
    "qa_collusion",
    "data_exfiltration",
    "privilege_abuse",
    "credential_sharing",
)

ESCALATION_SOURCES: Final[tuple[str, ...]] = (
    "law_enforcement",
    "regulator",
    "trusted_flagger",
    "ngo",
    "press",
    "creator_partner",
    "internal_moderation",
    "internal_staff",
    "user_report",
)


# What an escalation is about (triage's harm categories; the simulator writes these too).
ESCALATION_CATEGORIES: Final[tuple[str, ...]] = (
    "child_safety",
    "violent_threat",
    "terrorism",
    "self_harm",
    "doxxing",
    "sextortion",
    "fraud",
    "hate",
    "harassment",
    "misinformation",
    "ip",
    "privacy",
    "other",
)

ESCALATION_LANGUAGES: Final[tuple[str, ...]] = ("en", "es", "pt")

BANDS: Final[tuple[str, ...]] = ("P0", "P1", "P2", "P3", "P4")  # P0 most urgent


def family_of(action: str) -> str:
    """The action family of an action; custom ``x-`` actions form their own family."""
    for family, actions in ACTION_FAMILIES.items():
        if action in actions:
            return family
    return "custom"
