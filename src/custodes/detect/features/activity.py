"""Volumes, time of day, data movement, privilege and sign-in counts.

Everything here is a filtered count or sum per actor and local day. The one pass over all
events reduces them to "slices" that both these counts and the session features roll up;
counts that need attrs are in ``attributes``.
"""

from __future__ import annotations

from typing import Final

from custodes.detect.features.attributes import FAVOURABLE_APPEAL
from custodes.detect.features.clock import Window, epoch_s, in_shift, localized
from custodes.detect.features.sqltext import in_list
from custodes.model.vocabulary import ACTION_FAMILIES, CANONICAL_ACTIONS

HOUR_S: Final = 3600
WEEKDAY: Final = "((dn + 3) % 7)"  # 0 = Monday: 1970-01-01 was a Thursday
# Outcome classes kept in the slices: what the counts below need to tell apart.
_FAILED, _OVERTURNED = 1, 2


def slices_sql(window: Window) -> str:
    """Events reduced to one row per actor, local day, UTC hour, place, action, shift
    position and outcome class: the only per-event pass over everything. Activity counts
    and presence (sessions) are both roll-ups of it. attrs is not read here: carrying a
    wide text column through the time-zone joins costs more than the rest of the pass."""
    columns = f"""e.action, e.ip, e.country, e.device_id, e.records, e.bytes,
        {epoch_s("e.ts")} AS sec,
        CASE WHEN e.outcome = 'failure' THEN {_FAILED}
             WHEN e.outcome IN {in_list(FAVOURABLE_APPEAL)} THEN {_OVERTURNED}
             ELSE 0 END AS oc"""
    shift = f"CASE WHEN shift_len_min IS NULL THEN 0 WHEN {in_shift()} THEN 1 ELSE 2 END"
    return f"""
CREATE OR REPLACE TEMP TABLE fx_slices AS
SELECT aid, dn, sec // {HOUR_S} AS hour, ip, country, device_id, action, oc,
    {shift} AS shift, count(*) AS n,
    CAST(sum(records) AS BIGINT) AS records, CAST(sum(bytes) AS BIGINT) AS bytes,
    min(sec) AS first_s, max(sec) AS last_s
FROM ({localized(columns, "TRUE", window)}) AS r
GROUP BY aid, dn, sec // {HOUR_S}, ip, country, device_id, action, oc, {shift}
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
SELECT aid, dn,
    {select}
FROM fx_slices
GROUP BY aid, dn
"""
