"""Volumes, time of day, data movement, privilege and sign-in counts.

Everything here is a filtered count or sum per actor and local day. The one pass over all
events reduces them to "slices" that both these counts and the session features roll up;
attrs are parsed in a second, small pass over only the actions that carry the keys needed.
"""

from __future__ import annotations

from typing import Final

from custodes.detect.features.clock import Window, epoch_s, in_shift, localized
from custodes.detect.features.sqltext import attr, in_list
from custodes.model.vocabulary import ACTION_FAMILIES, CANONICAL_ACTIONS

# Consumer webmail and file-sharing services: where company data should not go. A short
# list of the big ones; a domain not listed still counts in emails_external/uploads_external.
PERSONAL_EMAIL_DOMAINS: Final = (
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "ymail.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "mail.com",
    "yandex.com",
    "yandex.ru",
    "mail.ru",
    "zoho.com",
    "tutanota.com",
    "qq.com",
    "163.com",
    "uol.com.br",
    "bol.com.br",
)
PERSONAL_CLOUD_DOMAINS: Final = (
    "dropbox.com",
    "drive.google.com",
    "docs.google.com",
    "mega.nz",
    "mega.io",
    "wetransfer.com",
    "onedrive.live.com",
    "1drv.ms",
    "icloud.com",
    "mediafire.com",
    "pcloud.com",
    "sendspace.com",
    "file.io",
    "transfer.sh",
)
HOUR_S: Final = 3600
WEEKDAY: Final = "((dn + 3) % 7)"  # 0 = Monday: 1970-01-01 was a Thursday
FAVOURABLE_APPEAL: Final = ("overturn", "restore")
# Outcome classes kept in the slices: what the counts below need to tell apart.
_FAILED, _OVERTURNED = 1, 2


def slices_sql(window: Window) -> str:
    """Events reduced to one row per actor, local day, UTC hour, place, action, shift
    position and outcome class: the only per-event pass over everything. Activity counts
    and presence (sessions) are both roll-ups of it. attrs is not read here: carrying a
    wide text column through the time-zone joins costs more than the rest of the pass."""
    columns = f"""e.actor_id, e.action, e.ip, e.country, e.device_id, e.records, e.bytes,
        {epoch_s("e.ts")} AS sec,
        CASE WHEN e.outcome = 'failure' THEN {_FAILED}
             WHEN e.outcome IN {in_list(FAVOURABLE_APPEAL)} THEN {_OVERTURNED}
             ELSE 0 END AS oc"""
    shift = f"CASE WHEN shift_len_min IS NULL THEN 0 WHEN {in_shift()} THEN 1 ELSE 2 END"
    return f"""
CREATE OR REPLACE TEMP TABLE fx_slices AS
SELECT actor_id, dn, sec // {HOUR_S} AS hour, ip, country, device_id, action, oc,
    {shift} AS shift, count(*) AS n,
    CAST(sum(records) AS BIGINT) AS records, CAST(sum(bytes) AS BIGINT) AS bytes,
    min(sec) AS first_s, max(sec) AS last_s
FROM ({localized(columns, "TRUE", window)}) AS r
GROUP BY actor_id, dn, sec // {HOUR_S}, ip, country, device_id, action, oc, {shift}
"""


def _count(condition: str) -> str:
    return f"CAST(coalesce(sum(n) FILTER (WHERE {condition}), 0) AS BIGINT)"


def _sum(column: str, condition: str) -> str:
    return f"CAST(coalesce(sum({column}) FILTER (WHERE {condition}), 0) AS BIGINT)"


def _act(name: str) -> str:
    return f"action = '{name}'"


def activity_sql() -> str:
    """Counts per actor-day, rolled up from the slices."""
    fam = {f"events_{f}": _count(f"action IN {in_list(a)}") for f, a in ACTION_FAMILIES.items()}
    aggs = {
        "events_total": "CAST(sum(n) AS BIGINT)",
        **fam,
        "events_custom": _count(f"action NOT IN {in_list(sorted(CANONICAL_ACTIONS))}"),
        "in_shift_events": _count("shift = 1"),
        "after_hours_events": _count("shift = 2"),
        "weekend_events": _count(f"{WEEKDAY} >= 5"),
        "appeal_overturns_made": _count(f"{_act('appeal_decision')} AND oc = {_OVERTURNED}"),
        "exports": _count(_act("export_data")),
        "export_records": _sum("records", _act("export_data")),
        "downloads": _count(_act("download_file")),
        "download_bytes": _sum("bytes", _act("download_file")),
        "prints": _count(_act("print")),
        "removable_copies": _count(_act("copy_to_removable")),
        "removable_bytes": _sum("bytes", _act("copy_to_removable")),
        "uploads_external": _count(_act("upload_external")),
        "upload_bytes": _sum("bytes", _act("upload_external")),
        "role_grants": _count(_act("role_grant")),
        "admin_actions": _count(_act("admin_action")),
        "admin_action_failures": _count(f"{_act('admin_action')} AND oc = {_FAILED}"),
        "config_changes": _count(_act("config_change")),
        "audit_setting_changes": _count(_act("audit_setting_change")),
        "logins": _count(_act("login")),
        "auth_failures": _count("action IN ('login_failed', 'mfa_failed')"),
    }
    select = ",\n    ".join(f"{expr} AS {name}" for name, expr in aggs.items())
    return f"""
CREATE OR REPLACE TEMP TABLE fx_activity AS
SELECT actor_id, dn,
    {select}
FROM fx_slices
GROUP BY actor_id, dn
"""


def _domain(key: str) -> str:
    return f"regexp_replace(lower({attr(key)}), '^www\\.', '')"


def flags_sql(window: Window) -> str:
    """The counts that need attrs, over only the few actions that carry those keys."""
    actions = ("email_send", "upload_external", "role_grant")
    columns = f"""e.actor_id, e.action, e.bytes,
        CASE WHEN e.action = 'email_send' THEN lower({attr("external")}) END AS ext,
        CASE WHEN e.action = 'email_send' THEN {_domain("recipient_domain")} END AS rdom,
        CASE WHEN e.action = 'upload_external' THEN {_domain("url_domain")} END AS udom,
        CASE WHEN e.action = 'role_grant' THEN {attr("grantee_id")} END AS grantee"""
    personal = f"{_act('email_send')} AND rdom IN {in_list(PERSONAL_EMAIL_DOMAINS)}"
    rows = localized(columns, f"e.action IN {in_list(actions)}", window)
    return f"""
CREATE OR REPLACE TEMP TABLE fx_flags AS
SELECT actor_id, dn,
    count(*) FILTER (WHERE {_act("email_send")} AND ext = 'true') AS emails_external,
    count(*) FILTER (WHERE {personal}) AS emails_personal,
    CAST(coalesce(sum(bytes) FILTER (WHERE {personal}), 0) AS BIGINT) AS email_personal_bytes,
    count(*) FILTER (WHERE {_act("upload_external")}
        AND udom IN {in_list(PERSONAL_CLOUD_DOMAINS)}) AS uploads_personal_cloud,
    count(*) FILTER (WHERE {_act("role_grant")} AND grantee = actor_id) AS self_grants
FROM ({rows}) AS r
GROUP BY actor_id, dn
"""
