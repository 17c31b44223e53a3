"""Account look-ups and exports, checked against tickets and the accounts directory.

A private-data view is justified only by a ticket assigned to the same person, naming the
same account and open at that moment; a ticket id that merely exists (a teammate's case, an
unrelated case of one's own pasted in, an expired one) justifies nothing. Honest staff
fail this now and then (a forgotten reference, a linked account), so detectors weigh
the count against the actor's own and their peers' history.
"""

from __future__ import annotations

from typing import Final

from custodes.detect.features.clock import Window, localized
from custodes.detect.features.sqltext import in_list

LOOKUPS: Final = ("view_profile", "view_private_data", "search_accounts")


def conflicts_sql() -> str:
    """Declared conflicts as (account, staff member) pairs.

    DuckDB unnest of a list column (Spark: explode); the lists are short.
    """
    return """
CREATE OR REPLACE TEMP TABLE fx_conflicts AS
SELECT DISTINCT account_id, actor_id FROM (
    SELECT account_id, unnest(conflict_actor_ids) AS actor_id
    FROM accounts WHERE conflict_actor_ids IS NOT NULL
) AS c
"""


def lookups_sql(window: Window) -> str:
    open_ticket = (
        "t.ticket_id IS NOT NULL AND t.actor_id = e.actor_id"
        " AND (t.opened_at IS NULL OR t.opened_at <= e.ts)"
        " AND (t.closed_at IS NULL OR e.ts <= t.closed_at)"
    )
    columns = f"""e.action,
        CASE WHEN {open_ticket} AND t.target_id = e.target_id THEN 1 ELSE 0 END AS justified,
        CASE WHEN {open_ticket} THEN 1 ELSE 0 END AS assigned,
        CASE WHEN a.high_profile THEN 1 ELSE 0 END AS high_profile,
        CASE WHEN c.actor_id IS NOT NULL THEN 1 ELSE 0 END AS conflict"""
    source = """events e
LEFT JOIN tickets t ON t.ticket_id = e.ticket_id
LEFT JOIN accounts a ON a.account_id = e.target_id
LEFT JOIN fx_conflicts c ON c.account_id = e.target_id AND c.actor_id = e.actor_id"""
    rows = localized(
        columns, f"e.action IN {in_list((*LOOKUPS, 'export_data'))}", window, source=source
    )
    private = "action = 'view_private_data'"
    unticketed = f"{private} AND justified = 0"
    lookup = f"action IN {in_list(LOOKUPS)}"
    return f"""
CREATE OR REPLACE TEMP TABLE fx_lookups AS
SELECT aid, dn,
    count(*) FILTER (WHERE {private}) AS private_views,
    count(*) FILTER (WHERE {unticketed}) AS private_views_unticketed,
    count(*) FILTER (WHERE {unticketed} AND (high_profile = 1 OR conflict = 1))
        AS private_views_unticketed_sensitive,
    count(*) FILTER (WHERE {lookup} AND high_profile = 1) AS lookups_high_profile,
    count(*) FILTER (WHERE {lookup} AND conflict = 1) AS lookups_conflict,
    count(*) FILTER (WHERE action = 'export_data' AND assigned = 0) AS exports_unticketed
FROM ({rows}) AS r
GROUP BY aid, dn
"""
