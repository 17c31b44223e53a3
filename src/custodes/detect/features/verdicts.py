"""QA reviews and appeal decisions: other people's verdicts on an actor's decisions.

A verdict links to the decision it judges: a qa_review's target_id is the decision's
event_id (data contract), an appeal_decision carries attrs.original_decision_id (what the
simulator and most case tools record) or, when that is missing or unknown, is matched to
the latest earlier review_decision on the same content. Received verdicts count on the
*decision's* local day, so they line up with the day the misconduct happened; they keep
arriving for days after, which is why daily builds should recompute the last couple of
weeks, not just today.
When the decision itself is not in the store, a QA review falls back on
attrs.reviewed_actor_id and its own time. Fallbacks read attrs and every decision's target,
so they run only when some verdict needs one.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from custodes.detect.features.clock import Window, localized
from custodes.detect.features.sqltext import attr, share

# Verdicts follow the decision they judge within days (appeals: weeks). An incremental
# build looks the decisions up in this many days before its window, and in older history
# only for the verdicts still unmatched (then only those ids), so a one-day build does not
# read every decision ever made. Any value gives the same links (event ids are unique);
# this one decides the cost.
DECISION_LOOKBACK_DAYS: Final = 42


def links_sql(window: Window) -> str:
    """Each verdict in the window with the judged decision's actor and time, found by the
    decision's event id (a QA review's target, an appeal's attrs.original_decision_id).

    A full build writes ``fx_verdict_links``; an incremental one writes ``fx_recent_links``
    (with the ``link`` id, and decisions from ``DECISION_LOOKBACK_DAYS`` before the
    window), which ``relink_sql`` completes."""
    appeal_link = attr("original_decision_id")
    link = f"CASE WHEN e.action = 'appeal_decision' THEN {appeal_link} ELSE e.target_id END"
    incremental = window.since is not None
    table = "fx_recent_links" if incremental else "fx_verdict_links"
    keep = " v.link," if incremental else ""
    decisions = "WHERE action = 'review_decision'"
    if incremental:
        # Recent decisions, and only those some verdict names: the verdicts are the small
        # side of the join. (A full build joins them all, as before: there the semi-join
        # measured no faster.)
        recent = window.ts_floor("ts", lead=dt.timedelta(days=1 + DECISION_LOOKBACK_DAYS))
        decisions += f" AND {recent} AND event_id IN (SELECT link FROM v)"
    return f"""
CREATE OR REPLACE TEMP TABLE {table} AS
WITH v AS (
    SELECT e.actor_id, e.ts, e.action, e.outcome, e.target_id, {link} AS link
    FROM events e
    WHERE e.action IN ('qa_review', 'appeal_decision') AND {window.ts_floor("e.ts")}
)
SELECT v.actor_id AS judge, v.ts AS judge_ts, v.action, v.outcome, v.target_id,{keep}
    d.actor_id AS subject, d.ts AS subject_ts
FROM v
LEFT JOIN (SELECT event_id, actor_id, ts FROM events {decisions}) AS d
    ON d.event_id = v.link
"""


OLDER_SQL = "SELECT count(*) FROM fx_recent_links WHERE subject IS NULL AND link IS NOT NULL"


def relink_sql(window: Window, older: bool) -> str:
    """``fx_verdict_links`` of an incremental build: ``fx_recent_links`` with the verdicts it
    left unmatched looked up in the older decisions (when ``older``: there are some)."""
    columns = "l.judge, l.judge_ts, l.action, l.outcome, l.target_id"
    if not older:
        return f"""
CREATE OR REPLACE TEMP TABLE fx_verdict_links AS
SELECT {columns}, l.subject, l.subject_ts FROM fx_recent_links l
"""
    before = f"NOT ({window.ts_floor('ts', lead=dt.timedelta(days=1 + DECISION_LOOKBACK_DAYS))})"
    return f"""
CREATE OR REPLACE TEMP TABLE fx_verdict_links AS
WITH o AS (
    SELECT event_id, actor_id, ts FROM events
    WHERE action = 'review_decision' AND {before} AND event_id IN (
        SELECT link FROM fx_recent_links WHERE subject IS NULL AND link IS NOT NULL
    )
)
SELECT {columns},
    coalesce(l.subject, o.actor_id) AS subject, coalesce(l.subject_ts, o.ts) AS subject_ts
FROM fx_recent_links l
LEFT JOIN o ON l.subject IS NULL AND o.event_id = l.link
"""


UNRESOLVED_SQL = "SELECT count(*) FROM fx_verdict_links WHERE subject IS NULL"
# A verdict is identified by who gave it, when, and on what: the same judge giving two
# verdicts on one target in the same second would get the same fallback, which is right.
_IDENTITY = ("judge", "judge_ts", "action", "target_id")


def fallback_links_sql() -> str:
    """Verdicts whose decision was not found by id. A QA review falls back on its
    attrs.reviewed_actor_id at its own time; an appeal on the latest earlier decision on
    the same content (DuckDB arg_max; Spark: max_by). Only run when there are any: it reads
    every decision's target."""
    keys = ", ".join(f"u.{k}" for k in _IDENTITY)
    unresolved = (
        f"SELECT DISTINCT {', '.join(_IDENTITY)} FROM fx_verdict_links "
        "WHERE subject IS NULL AND action = '{}'"
    )
    return f"""
CREATE OR REPLACE TEMP TABLE fx_fallback_links AS
SELECT {keys}, max({attr("reviewed_actor_id")}) AS subject, u.judge_ts AS subject_ts
FROM ({unresolved.format("qa_review")}) AS u
JOIN events e ON e.action = 'qa_review' AND e.actor_id = u.judge AND e.ts = u.judge_ts
    AND e.target_id = u.target_id
GROUP BY {keys}
UNION ALL
SELECT {keys}, arg_max(d.actor_id, d.ts), max(d.ts)
FROM ({unresolved.format("appeal_decision")}) AS u
JOIN events d ON d.action = 'review_decision' AND d.target_id = u.target_id
    AND d.ts <= u.judge_ts
GROUP BY {keys}
"""


def links_source(fallback: bool) -> str:
    """The verdict links as a FROM item, with fallback matches filled in when computed."""
    if not fallback:
        return "fx_verdict_links"
    on = " AND ".join(f"f.{k} = l.{k}" for k in _IDENTITY)
    return f"""(
    SELECT l.judge, l.judge_ts, l.action, l.outcome,
        coalesce(l.subject, f.subject) AS subject,
        coalesce(l.subject_ts, f.subject_ts) AS subject_ts
    FROM fx_verdict_links l LEFT JOIN fx_fallback_links f ON l.subject IS NULL AND {on}
)"""


def received_sql(window: Window, links: str) -> str:
    """Per decision-maker and decision day: QA and appeal outcomes on their decisions."""
    rows = localized(
        "j.action, j.outcome",
        "j.subject IS NOT NULL",
        window,
        source=f"{links} j",
        actor="j.subject",
        ts="j.subject_ts",
    )
    qa = "action = 'qa_review'"
    appeal = "action = 'appeal_decision'"
    overturn = f"{appeal} AND outcome IN ('overturn', 'restore')"
    return f"""
CREATE OR REPLACE TEMP TABLE fx_received AS
SELECT aid, dn,
    count(*) FILTER (WHERE {qa}) AS qa_received,
    count(*) FILTER (WHERE {qa} AND outcome = 'disagree') AS qa_disagreements_received,
    {
        share(
            f"count(*) FILTER (WHERE {qa} AND outcome = 'disagree')",
            f"count(*) FILTER (WHERE {qa})",
        )
    } AS qa_disagree_share_received,
    count(*) FILTER (WHERE {appeal}) AS appeals_received,
    count(*) FILTER (WHERE {overturn}) AS appeal_overturns_received,
    {
        share(f"count(*) FILTER (WHERE {overturn})", f"count(*) FILTER (WHERE {appeal})")
    } AS appeal_overturn_rate
FROM ({rows}) AS r
GROUP BY aid, dn
"""


def given_sql(window: Window, links: str) -> str:
    """Per QA analyst and day: reviews given, and how many passed one moderator."""
    rows = localized(
        "j.subject, j.outcome",
        "j.action = 'qa_review'",
        window,
        source=f"{links} j",
        actor="j.judge",
        ts="j.judge_ts",
    )
    return f"""
CREATE OR REPLACE TEMP TABLE fx_given AS
WITH per_subject AS (
    SELECT aid, dn, subject, count(*) AS n,
        count(*) FILTER (WHERE outcome = 'agree') AS agree,
        count(*) FILTER (WHERE outcome = 'disagree') AS disagree
    FROM ({rows}) AS r
    GROUP BY aid, dn, subject
)
SELECT aid, dn,
    CAST(sum(n) AS BIGINT) AS qa_reviews_given,
    CAST(sum(disagree) AS BIGINT) AS qa_disagreements_given,
    {share("max(CASE WHEN subject IS NOT NULL THEN agree ELSE 0 END)", "sum(n)")}
        AS qa_top_moderator_agree_share
FROM per_subject
GROUP BY aid, dn
"""
