"""Review decisions: how fast, how varied, how regular, and who they favour.

Productivity gaming shows as speed (against the actor's own and their team's history: a
spam queue is ten times faster than child safety, so absolute speed means little across
teams), a single label, a rubber-stamped classifier and metronome-regular gaps. Paid
reversal shows as favourable outcomes piling up on one content owner, often against the
classifier.

Decisions are most of the events, so each pass here reads attrs at most once and parses it
once per row (DuckDB's json_extract_string with a list of paths; Spark: json_tuple), and
the gap window runs on its own over three narrow columns: a window sorts whatever it
carries.
"""

from __future__ import annotations

from typing import Final

from custodes.detect.features.clock import Window, epoch_s, localized
from custodes.detect.features.sqltext import share

FAST_MS: Final = 5_000
# Gaps longer than this are breaks, not the rhythm of clicking through a queue.
MAX_GAP_S: Final = 600
MIN_GAPS: Final = 5
LABELS: Final = ("approve", "remove", "restrict", "escalate", "skip")


def _paths(alias: str, *keys: str) -> str:
    """attrs parsed once into a list of text values, one per key (DuckDB-specific)."""
    paths = ", ".join(f"'$.{k}'" for k in keys)
    return f"json_extract_string({alias}.attrs, [{paths}])"


def decisions_sql(window: Window) -> str:
    columns = f"e.outcome, e.duration_ms AS ms, {_paths('e', 'suggested_label')} AS j"
    rows = localized(columns, "e.action = 'review_decision'", window)
    label_counts = ", ".join(f"count(*) FILTER (WHERE d.outcome = '{x}')" for x in LABELS)
    return f"""
CREATE OR REPLACE TEMP TABLE fx_decisions AS
SELECT d.aid, d.dn,
    count(*) AS decisions,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY d.ms) AS decision_ms_p50,
    percentile_cont(0.1) WITHIN GROUP (ORDER BY d.ms) AS decision_ms_p10,
    {share(f"count(*) FILTER (WHERE d.ms < {FAST_MS})", "count(d.ms)")} AS decision_fast_share,
    {share(f"greatest({label_counts})", "count(*)")} AS decision_top_label_share,
    {share("count(*) FILTER (WHERE d.outcome = d.suggested)", "count(d.suggested)")}
        AS decision_suggestion_agree_share,
    {
        share(
            "count(*) FILTER (WHERE d.outcome = 'approve' AND d.suggested <> 'approve')",
            "count(d.suggested) FILTER (WHERE d.outcome = 'approve')",
        )
    }
        AS favourable_against_suggestion_share
FROM (
    SELECT r.aid, r.dn, r.ms, r.outcome, r.j[1] AS suggested
    FROM ({rows}) AS r
) AS d
GROUP BY d.aid, d.dn
"""


def gaps_sql(window: Window) -> str:
    """Coefficient of variation of the gaps between consecutive decisions of a local day.

    Computed from exact integer sums (n, Σg, Σg²) so that it does not depend on the order
    a parallel aggregate adds floating-point numbers in: CV = sqrt(nΣg² - (Σg)²) / Σg.
    """
    rows = localized(f"{epoch_s('e.ts')} AS sec", "e.action = 'review_decision'", window)
    gap = f"CASE WHEN gap <= {MAX_GAP_S} THEN gap END"
    n, total, squares = f"count({gap})", f"sum({gap})", f"sum({gap} * {gap})"
    return f"""
CREATE OR REPLACE TEMP TABLE fx_gaps AS
SELECT aid, dn,
    CASE WHEN {n} >= {MIN_GAPS} AND {total} > 0
         THEN sqrt(CAST({n} * {squares} - {total} * {total} AS DOUBLE)) / {total}
    END AS decision_gap_cv
FROM (
    SELECT r.aid, r.dn,
        r.sec - lag(r.sec) OVER (PARTITION BY r.aid, r.dn ORDER BY r.sec) AS gap
    FROM ({rows}) AS r
) AS g
GROUP BY aid, dn
"""
