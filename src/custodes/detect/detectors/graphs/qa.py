"""QA analyst -> moderator edges: who passes whose decisions.

A QA verdict on a decision is only worth something if the QA analyst is independent of the
moderator. For each pair and window the analyst's disagreements are compared with what is
expected of *that* pair: the moderator's disagreement rate from the other analysts (a
careless moderator is disagreed with more by everyone), moved by the analyst's own habit on
the other moderators (a lenient analyst agrees more with everyone). Evidence of collusion is
too few disagreements for the pair. Reviewing one moderator far more often than the other
analysts do adds to it, but never more than twice the leniency (an analyst assigned to one
team judges it fairly) and only beyond what is usual for analysts in that window (where QA
is assigned by team, every analyst concentrates). Pairs that pass each other's work both
ways (A reviews B leniently and B reviews A leniently) are reciprocal: each direction adds
to the other's evidence.

Both sides get a finding: the analyst for passing the decisions, the moderator for the
shelter they get (at a discount unless reciprocal: they may not know).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Final

from custodes.detect.detectors.graphs.finding import Finding, local_day
from custodes.detect.detectors.graphs.frame import Frame
from custodes.detect.detectors.graphs.stats import (
    PRIOR_WEIGHT,
    excess_count,
    odds_adjusted,
    shrunk,
    squash,
    surprise,
)
from custodes.store.events import EventStore

CATEGORY: Final = "qa_collusion"
MIN_REVIEWS: Final = 10  # per pair and window
THRESHOLD: Final = 8.0  # nats: honest pairs stay under 5 in simulated orgs of 300-600
SCALE: Final = 2.0
BENEFICIARY: Final = 0.75  # the reviewed moderator's share of the evidence (not reciprocal)
CONCENTRATION_CAP: Final = 2.0  # concentration adds at most this many times the leniency
USUAL_QUANTILE: Final = 0.9  # concentration other analysts reach is not evidence
_SUMS = ("n", "d")


def edges_sql(frame: Frame) -> str:
    sums = "CAST(sum(s.n) AS BIGINT) AS n, CAST(sum(s.d) AS BIGINT) AS d"
    return f"""
WITH q AS MATERIALIZED (
    SELECT e.actor_id AS qa, e.target_id, e.outcome, {frame.bucket()} AS b,
        json_extract_string(e.attrs, '$.reviewed_actor_id') AS m
    FROM events e
    WHERE e.action = 'qa_review' AND e.outcome IN ('agree', 'disagree')
        AND {frame.events_in_range()}
),
linked AS (
    SELECT qa, m, outcome, b FROM q WHERE m IS NOT NULL
    UNION ALL
    SELECT q.qa, d.actor_id AS m, q.outcome, q.b
    FROM q JOIN events d ON d.event_id = q.target_id
    WHERE q.m IS NULL
),
eb AS MATERIALIZED (
    SELECT qa, m, b, count(*) AS n, count(*) FILTER (WHERE outcome = 'disagree') AS d
    FROM linked WHERE qa <> m
    GROUP BY ALL
),
ew AS ({frame.spread("SELECT * FROM eb", "s.qa, s.m", sums)}),
qw AS ({frame.spread("SELECT * FROM eb", "s.qa", sums)}),
mw AS ({frame.spread("SELECT * FROM eb", "s.m", sums)}),
gw AS ({frame.spread("SELECT * FROM eb", "'all' AS g", sums)})
SELECT ew.qa, ew.m, ew.w, ew.n, ew.d, qw.n AS q_n, qw.d AS q_d, mw.n AS m_n, mw.d AS m_d,
    gw.n AS g_n, gw.d AS g_d
FROM ew
JOIN qw ON qw.qa = ew.qa AND qw.w = ew.w
JOIN mw ON mw.m = ew.m AND mw.w = ew.w
JOIN gw ON gw.w = ew.w
WHERE ew.n >= {MIN_REVIEWS}
ORDER BY ew.w, ew.qa, ew.m
"""


@dataclass
class Pair:
    qa: str
    moderator: str
    window: int
    lenient: float  # nats
    often: float  # nats: reviewed more often than the other analysts would
    text: str
    evidence: float = 0.0


def pair(r: dict[str, Any]) -> Pair:
    overall = r["g_d"] / r["g_n"] if r["g_n"] else 0.1
    n, d = int(r["n"]), int(r["d"])
    others_n, others_d = r["m_n"] - n, r["m_d"] - d
    expected = shrunk(others_d, others_n, overall)
    habit = shrunk(r["q_d"] - d, r["q_n"] - n, overall, weight=20.0)
    mean = odds_adjusted(expected, habit, overall)
    lenient = surprise(d, n, mean, others_n + PRIOR_WEIGHT, upper=False)
    # How often would this analyst review this moderator, going by the other analysts?
    rest = r["g_n"] - r["q_n"]
    share = others_n / rest if rest > 0 else 0.0
    often = excess_count(n, r["q_n"] * share)
    text = (
        f"{r['qa']} disagreed with {d} of {n} of {r['m']}'s decisions they reviewed "
        f"(other QA analysts: {others_d} of {others_n} = {others_d / max(others_n, 1):.0%}; "
        f"{r['qa']} with other moderators: {_pct(r['q_d'] - d, r['q_n'] - n)}); "
        f"{n / max(r['q_n'], 1):.0%} of {r['qa']}'s reviews went to {r['m']} "
        f"(expected {share:.1%})"
    )
    return Pair(r["qa"], r["m"], int(r["w"]), lenient, often, text)


def _weigh(pairs: list[Pair]) -> None:
    """Evidence = leniency + concentration beyond what analysts usually show in the window
    (each analyst's most concentrated pair), capped by the leniency."""
    top: dict[tuple[int, str], float] = defaultdict(float)
    for p in pairs:
        top[(p.window, p.qa)] = max(top[(p.window, p.qa)], p.often)
    for p in pairs:
        others = sorted(v for (w, q), v in top.items() if w == p.window and q != p.qa)
        usual = others[int(USUAL_QUANTILE * (len(others) - 1))] if others else 0.0
        p.evidence = p.lenient + min(max(0.0, p.often - usual), CONCENTRATION_CAP * p.lenient)


def _pct(k: float, n: float) -> str:
    return f"{k / n:.0%} of {n:g}" if n else "none"


def findings(store: EventStore, frame: Frame) -> list[Finding]:
    pairs = [pair(r) for r in store.fetch_arrow(edges_sql(frame)).to_pylist()]
    _weigh(pairs)
    by_window: dict[int, list[Pair]] = defaultdict(list)
    for p in pairs:
        if p.evidence > 0:
            by_window[p.window].append(p)
    out: list[Finding] = []
    for window, items in sorted(by_window.items()):
        directed = {(p.qa, p.moderator): p for p in items}
        # One finding per actor and window: their strongest role in their strongest pair.
        best: dict[str, tuple[float, str, Pair, Pair | None]] = {}
        for p in items:
            reverse = directed.get((p.moderator, p.qa))
            total = p.evidence + (reverse.evidence if reverse else 0.0)
            for actor, role, factor in (
                (p.qa, "reviewer", 1.0),
                (p.moderator, "reviewed", 1.0 if reverse else BENEFICIARY),
            ):
                value = total * factor
                if actor not in best or value > best[actor][0]:
                    best[actor] = (value, role, p, reverse)
        for actor, (value, role, p, reverse) in sorted(best.items()):
            out.append(_finding(actor, role, window, value, p, reverse))
    return out


def _finding(
    actor: str, role: str, window: int, evidence: float, p: Pair, reverse: Pair | None
) -> Finding:
    if role == "reviewer":
        lead = f"passes {p.moderator}'s decisions far more than QA judgement supports"
        counterpart = p.moderator
    else:
        lead = f"their decisions get an unusually easy pass from QA analyst {p.qa}"
        counterpart = p.qa
    reasons = [f"{lead}: evidence {evidence:.1f}", p.text]
    pattern = "qa_leniency" if role == "reviewer" else "qa_shelter"
    if reverse is not None:
        reasons.append(f"reciprocal: {reverse.text}")
        pattern = "qa_reciprocity"
    return Finding(
        actor_id=actor,
        category=CATEGORY,
        pattern=pattern,
        window=window,
        evidence=evidence,
        score=squash(evidence, THRESHOLD, SCALE),
        reasons=reasons,
        edges=[(counterpart, role)],
    )


def lookup_sql() -> str:
    """A reviewer's reviews of the counterpart's decisions, or a reviewed moderator's
    decisions that the counterpart reviewed (their own events, on their own days)."""
    return f"""
WITH q AS (
    SELECT w.fid, w.kind, w.actor_id, e.event_id, e.ts, e.target_id,
        coalesce(json_extract_string(e.attrs, '$.reviewed_actor_id'), d.actor_id) AS m
    FROM graphs_wanted w
    JOIN events e ON e.action = 'qa_review' AND e.ts >= w.lo AND e.ts < w.hi
        AND e.actor_id = CASE w.kind WHEN 'reviewer' THEN w.actor_id ELSE w.counterpart END
    LEFT JOIN events d ON d.event_id = e.target_id
        AND json_extract_string(e.attrs, '$.reviewed_actor_id') IS NULL
    WHERE coalesce(json_extract_string(e.attrs, '$.reviewed_actor_id'), d.actor_id)
        = CASE w.kind WHEN 'reviewer' THEN w.counterpart ELSE w.actor_id END
)
SELECT q.fid, q.event_id, q.ts, {local_day("q.ts")} AS day
FROM q LEFT JOIN people p ON p.actor_id = q.actor_id
WHERE q.kind = 'reviewer'
UNION ALL
SELECT q.fid, d.event_id, d.ts, {local_day("d.ts")} AS day
FROM q JOIN events d ON d.event_id = q.target_id
LEFT JOIN people p ON p.actor_id = q.actor_id
WHERE q.kind = 'reviewed'
"""
