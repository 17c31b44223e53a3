"""Counts that need attrs: where e-mail and uploads go, whom a role grant is for, and
whose content gets the favourable outcomes.

Each pass parses attrs once per row (DuckDB's json_extract_string with a list of paths;
Spark: json_tuple) and only on the actions that carry the keys. The two are separate on
purpose: merged, the few e-mail rows ride along a grouping by content owner over every
approval, which measured slower than two scans.
"""

from __future__ import annotations

from typing import Final

from custodes.detect.features.clock import Window, localized
from custodes.detect.features.sqltext import attr, in_list, share

FAVOURABLE_REVIEW: Final = ("approve", "restore")
FAVOURABLE_APPEAL: Final = ("overturn", "restore")
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


def _domain(item: str) -> str:
    return f"regexp_replace(lower({item}), '^www\\.', '')"


def flags_sql(window: Window) -> str:
    """Where e-mail and uploads go and whom grants are for, over only those actions."""
    actions = ("email_send", "upload_external", "role_grant")
    keys = "['$.external', '$.recipient_domain', '$.url_domain', '$.grantee_id']"
    columns = f"e.actor_id, e.action, e.bytes, json_extract_string(e.attrs, {keys}) AS j"
    rows = localized(columns, f"e.action IN {in_list(actions)}", window)
    email, upload = "r.action = 'email_send'", "r.action = 'upload_external'"
    personal = f"{email} AND {_domain('r.j[2]')} IN {in_list(PERSONAL_EMAIL_DOMAINS)}"
    cloud = f"{upload} AND {_domain('r.j[3]')} IN {in_list(PERSONAL_CLOUD_DOMAINS)}"
    return f"""
CREATE OR REPLACE TEMP TABLE fx_flags AS
SELECT r.aid, r.dn,
    count(*) FILTER (WHERE {email} AND lower(r.j[1]) = 'true') AS emails_external,
    count(*) FILTER (WHERE {personal}) AS emails_personal,
    CAST(coalesce(sum(r.bytes) FILTER (WHERE {personal}), 0) AS BIGINT) AS email_personal_bytes,
    count(*) FILTER (WHERE {cloud}) AS uploads_personal_cloud,
    count(*) FILTER (WHERE r.action = 'role_grant' AND r.j[4] = r.actor_id) AS self_grants
FROM ({rows}) AS r
GROUP BY r.aid, r.dn
"""


def favour_sql(window: Window) -> str:
    """Favourable outcomes per content owner, then the day's concentration on one owner."""
    outcomes = (*FAVOURABLE_REVIEW, *FAVOURABLE_APPEAL)
    # Simple IN filters are pushed into the scan; the exact action/outcome pairs come after.
    where = (
        f"e.action IN ('review_decision', 'appeal_decision') AND e.outcome IN {in_list(outcomes)}"
    )
    favourable = f"""(r.action = 'review_decision' AND r.outcome IN {in_list(FAVOURABLE_REVIEW)})
            OR (r.action = 'appeal_decision' AND r.outcome IN {in_list(FAVOURABLE_APPEAL)})"""
    columns = f"e.action, e.outcome, {attr('owner_account_id')} AS owner"
    rows = localized(columns, where, window)
    return f"""
CREATE OR REPLACE TEMP TABLE fx_favour AS
WITH per_owner AS (
    SELECT r.aid, r.dn, r.owner, count(*) AS n
    FROM ({rows}) AS r
    WHERE r.owner IS NOT NULL AND ({favourable})
    GROUP BY r.aid, r.dn, r.owner
)
SELECT aid, dn,
    CAST(sum(n) AS BIGINT) AS favourable_decisions,
    {share("max(n)", "sum(n)")} AS favourable_top_owner_share
FROM per_owner
GROUP BY aid, dn
"""
