"""QA reviews and appeal decisions: other people's verdicts on an actor's decisions.

A verdict links to the decision it judges: a qa_review's target_id is the decision's
event_id (data contract), an appeal_decision carries attrs.original_decision_id (what the
simulator and most case tools record) or, when that is missing or unknown, is matched to
the latest earlier review_decision on the same content. Received verdicts count on the
*decision's* local day, so they line up with the day the misconduct happened; they keep
arriving for days after, which is why daily builds should recompute the last couple of
weeks, not just today.
When the decision itself is not in the store, a QA review falls back on
attrs.reviewed_actor_id and its own time.
"""

from __future__ import annotations

from custodes.detect.features.clock import Window, localized
from custodes.detect.features.sqltext import attr, share


def links_sql(window: Window) -> str:
    """Each verdict in the window with the judged decision's actor and time, where the
    decision is found by event id (or, for QA, named by attrs.reviewed_actor_id)."""
    link = (
        f"CASE WHEN e.action = 'qa_review' THEN e.target_id ELSE {attr('original_decision_id')} END"
    )
    return f"""
CREATE OR REPLACE TEMP TABLE fx_verdict_links AS
WITH v AS (
    SELECT e.event_id, e.actor_id, e.ts, e.action, e.outcome, e.target_id, {link} AS link,
        CASE WHEN e.action = 'qa_review' THEN {attr("reviewed_actor_id")} END AS hint
    FROM events e
    WHERE e.action IN ('qa_review', 'appeal_decision') AND {window.ts_floor("e.ts")}
)
SELECT v.event_id, v.target_id, v.actor_id AS judge, v.ts AS judge_ts, v.action, v.outcome,
    coalesce(d.actor_id, v.hint) AS subject,
    coalesce(d.ts, CASE WHEN v.hint IS NOT NULL THEN v.ts END) AS subject_ts
FROM v
LEFT JOIN (SELECT event_id, actor_id, ts FROM events WHERE action = 'review_decision') AS d
    ON d.event_id = v.link
"""


UNRESOLVED_SQL = (
    "SELECT count(*) FROM fx_verdict_links WHERE action = 'appeal_decision' AND subject IS NULL"
)


def content_links_sql() -> str:
    """Appeals whose decision was not found by id: the latest earlier decision on the same
    content (DuckDB arg_max; Spark: max_by). Only run when there are any, since it reads
    every decision's target."""
    return """
CREATE OR REPLACE TEMP TABLE fx_content_links AS
SELECT u.event_id, arg_max(d.actor_id, d.ts) AS subject, max(d.ts) AS subject_ts
FROM fx_verdict_links u
JOIN events d ON d.action = 'review_decision' AND d.target_id = u.target_id AND d.ts <= u.judge_ts
WHERE u.action = 'appeal_decision' AND u.subject IS NULL
GROUP BY u.event_id
"""


def links_source(by_content: bool) -> str:
    """The verdict links as a FROM item, with content matches filled in when computed."""
    if not by_content:
        return "fx_verdict_links"
    return """(
    SELECT l.judge, l.judge_ts, l.action, l.outcome,
        coalesce(l.subject, c.subject) AS subject,
        coalesce(l.subject_ts, c.subject_ts) AS subject_ts
    FROM fx_verdict_links l LEFT JOIN fx_content_links c ON c.event_id = l.event_id
)"""


def received_sql(window: Window, links: str) -> str:
    """Per decision-maker and decision day: QA and appeal outcomes on their decisions."""
    rows = localized(
        "j.subject AS actor_id, j.action, j.outcome",
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
SELECT actor_id, dn,
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
GROUP BY actor_id, dn
"""


def given_sql(window: Window, links: str) -> str:
    """Per QA analyst and day: reviews given, and how many passed one moderator."""
    rows = localized(
        "j.judge AS actor_id, j.subject, j.outcome",
        "j.action = 'qa_review'",
        window,
        source=f"{links} j",
        actor="j.judge",
        ts="j.judge_ts",
    )
    return f"""
CREATE OR REPLACE TEMP TABLE fx_given AS
WITH per_subject AS (
    SELECT actor_id, dn, subject, count(*) AS n,
        count(*) FILTER (WHERE outcome = 'agree') AS agree,
        count(*) FILTER (WHERE outcome = 'disagree') AS disagree
    FROM ({rows}) AS r
    GROUP BY actor_id, dn, subject
)
SELECT actor_id, dn,
    CAST(sum(n) AS BIGINT) AS qa_reviews_given,
    CAST(sum(disagree) AS BIGINT) AS qa_disagreements_given,
    {share("max(CASE WHEN subject IS NOT NULL THEN agree ELSE 0 END)", "sum(n)")}
        AS qa_top_moderator_agree_share
FROM per_subject
GROUP BY actor_id, dn
"""
