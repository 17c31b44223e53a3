"""Moderator -> creator edges: whose content a moderator keeps favouring, or keeps hitting.

One pass over decisions builds, per moderator, creator and week, the favourable outcomes
(approvals, appeals overturned), the unfavourable ones (removals, restrictions), and what the
second opinions said about them (QA verdicts on the decision; appeals of a removal decided
by someone else, matched to the latest decision on that content). Edges are judged against
three things at once:

* peers: how other moderators decided the same creator's content in the same window,
* the moderator's own habit: a lenient moderator approves more of everyone's content, a
  strict one removes more, so the creator's peer rate is moved by their odds ratio,
* second opinions: QA agreeing with the favourable decisions, or appeals upholding the
  removals, count against misconduct; disagreement and overturns count for it.

A moderator's evidence is the sum over their three strongest edges (each with at least
three outcomes: one approval is never a pattern), so favours spread thinly over a hundred
creators add nothing, and a few creators favoured again and again add up.

Benefit concentration (paid reversal) and enforcement concentration (malicious
enforcement) are the same computation in opposite directions. For enforcement, creators
targeted together form clusters (connected components of the moderator-creator graph of
suspicious edges), described by what they share (country, from the accounts table) and by
whether other moderators target them too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from custodes.detect.detectors.graphs.components import components
from custodes.detect.detectors.graphs.finding import Finding, local_day
from custodes.detect.detectors.graphs.frame import SPAN_WEEKS, Frame
from custodes.detect.detectors.graphs.staging import Step, staged
from custodes.detect.detectors.graphs.stats import (
    PRIOR_WEIGHT,
    odds_adjusted,
    second_opinion,
    shrunk,
    squash,
    surprise,
)
from custodes.detect.features.sqltext import in_list
from custodes.store.events import EventStore

FAVOURABLE_REVIEW: Final = ("approve", "restore")
UNFAVOURABLE_REVIEW: Final = ("remove", "restrict")
FAVOURABLE_APPEAL: Final = ("overturn", "restore")
JUDGED_APPEAL: Final = ("uphold", "overturn", "restore")
MIN_OUTCOMES: Final = 3  # decisions per edge and window: one approval is never a pattern
MIN_APPEALS: Final = 2  # appeal overturns per edge and window
TOP_EDGES: Final = 3
EDGE_MIN: Final = 3.0  # nats: an edge worth naming
# Nats over the top edges at the alert threshold; honest moderators reach 11-14 in
# simulated organisations of 300-600 staff (many small edges), schemes 20-70.
THRESHOLD: Final = 16.0
SCALE: Final = 3.0

_REVIEW = "d.action = 'review_decision'"
_APPEAL = "d.action = 'appeal_decision'"
_FAV_R = f"{_REVIEW} AND d.outcome IN {in_list(FAVOURABLE_REVIEW)}"
_UNF_R = f"{_REVIEW} AND d.outcome IN {in_list(UNFAVOURABLE_REVIEW)}"
_FAV_A = f"{_APPEAL} AND d.outcome IN {in_list(FAVOURABLE_APPEAL)}"
_SUMS = ("nr", "fr", "ur", "na", "fa", "fqn", "fqd", "uqn", "uqd", "uan", "uao")


@dataclass(frozen=True)
class Direction:
    pattern: str
    category: str
    kind: str  # evidence lookup: which outcomes


BENEFIT: Final = Direction("benefit_concentration", "paid_reversal", "favourable")
ENFORCEMENT: Final = Direction("enforcement_concentration", "malicious_enforcement", "unfavourable")


_COUNTS = _SUMS[:5]  # counted from the decisions themselves
_OPINIONS = _SUMS[5:]  # summed from the second opinions on them
_OWNER = "json_extract_string({}.attrs, '$.owner_account_id')"


@contextmanager
def edges(store: EventStore, frame: Frame) -> Iterator[list[dict[str, Any]]]:
    """Candidate edges per window with the creator's, the moderator's and everyone's totals
    (one row per moderator, creator and window with at least three favourable or three
    unfavourable outcomes). Inside the block, ``lookup_sql`` can find their decisions."""
    steps, final = edges_sql(frame)
    with staged(store, steps):
        rows: list[dict[str, Any]] = store.fetch_arrow(final).to_pylist()
        yield rows


def edges_sql(frame: Frame) -> tuple[list[Step], str]:
    """The steps, then the query reading them.

    Nearly every decision is the only one of its moderator, creator and week, so nothing
    is aggregated per edge until the edge is known to matter: a window holds three
    favourable outcomes for a pair when, in week order, an outcome and the one two after
    it are at most three weeks apart, which one pass over the decisions finds. Second
    opinions (QA verdicts, appeals) concern a tenth of the decisions and are attached to
    them by row number, so the events are read with their attributes only once."""
    outcomes = (*FAVOURABLE_REVIEW, *UNFAVOURABLE_REVIEW, *JUDGED_APPEAL)
    decisions = (
        f"e.action IN ('review_decision', 'appeal_decision') AND e.outcome IN "
        f"{in_list(outcomes)} AND {frame.events_in_range()}"
    )
    last = SPAN_WEEKS - 1
    steps: list[Step] = [
        # Decisions: who, whose content (c), which week, what outcome. Those on content of
        # an unknown creator are left out where the table is read (``c IS NOT NULL``), not
        # here: DuckDB would parse each document twice, for the filter and for the value.
        (
            "graphs_decisions",
            f"""
            SELECT rid, m, c, b, {_FAV_R} AS fr, {_UNF_R} AS ur, {_APPEAL} AS na,
                {_FAV_A} AS fa
            FROM (
                SELECT e.rowid AS rid, e.actor_id AS m, {_OWNER.format("e")} AS c,
                    {frame.bucket()} AS b, e.action, e.outcome
                FROM events e WHERE {decisions}
            ) AS d""",
        ),
        # Second opinions on the decisions that had any: QA verdicts, and appeals decided by
        # someone else, matched to the latest decision on that content before them.
        (
            "graphs_opinions",
            f"""
            WITH qa AS (
                SELECT e.target_id AS event_id, count(*) AS qn,
                    count(*) FILTER (WHERE e.outcome = 'disagree') AS qd
                FROM events e
                WHERE e.action = 'qa_review' AND e.ts >= {_ts(frame.start)}
                GROUP BY ALL
            ),
            appealed AS (
                SELECT e.target_id, e.ts, e.outcome, e.actor_id FROM events e
                WHERE e.action = 'appeal_decision' AND e.outcome IN {in_list(JUDGED_APPEAL)}
                    AND e.ts >= {_ts(frame.start)}
            ),
            opinions AS (
                SELECT e.rowid AS rid, qa.qn, qa.qd, 0 AS an, 0 AS ao
                FROM qa JOIN events e ON e.event_id = qa.event_id
                WHERE {decisions}
                UNION ALL
                SELECT r.rid, 0, 0, count(*) AS an,
                    count(*) FILTER (WHERE a.outcome IN {in_list(FAVOURABLE_APPEAL)}) AS ao
                FROM appealed AS a
                ASOF JOIN (
                    SELECT e.rowid AS rid, e.target_id, e.ts, e.actor_id AS m, e.outcome
                    FROM events e
                    WHERE {decisions} AND e.action = 'review_decision'
                        AND e.target_id IN (SELECT target_id FROM appealed)
                ) AS r
                    ON a.target_id = r.target_id AND a.ts >= r.ts
                WHERE a.actor_id <> r.m AND r.outcome IN {in_list(UNFAVOURABLE_REVIEW)}
                GROUP BY ALL
            )
            SELECT d.m, d.c, d.b,
                CASE WHEN d.fr THEN o.qn ELSE 0 END AS fqn,
                CASE WHEN d.fr THEN o.qd ELSE 0 END AS fqd,
                CASE WHEN d.ur THEN o.qn ELSE 0 END AS uqn,
                CASE WHEN d.ur THEN o.qd ELSE 0 END AS uqd,
                o.an AS uan, o.ao AS uao
            FROM opinions o JOIN graphs_decisions d ON d.rid = o.rid
            WHERE d.c IS NOT NULL""",
        ),
        # The edge windows worth judging (see above): those holding an outcome and the
        # one two after it of the same kind.
        (
            "graphs_hot",
            f"""
            WITH runs AS (
                SELECT m, c, b, lead(b, 2) OVER (PARTITION BY m, c, fav ORDER BY b) AS b2
                FROM (
                    SELECT m, c, b, fr OR fa AS fav FROM graphs_decisions
                    WHERE (fr OR fa OR ur) AND c IS NOT NULL
                )
            )
            SELECT DISTINCT r.m, r.c, r.b - o.i AS w
            FROM runs r CROSS JOIN range({SPAN_WEEKS}) AS o(i)
            WHERE r.b2 - r.b <= {last} AND r.b - o.i >= r.b2 - {last}
                AND r.b - o.i >= 0 AND r.b - o.i < {frame.windows}""",
        ),
        (
            "graphs_counts_mcb",
            f"""
            SELECT s.m, s.c, s.b, {_counted("s")}
            FROM graphs_decisions s SEMI JOIN (SELECT DISTINCT m, c FROM graphs_hot) h
                USING (m, c)
            GROUP BY ALL""",
        ),
        (
            "graphs_counts_cb",
            f"SELECT s.c, s.b, {_counted('s')} FROM graphs_decisions s "
            "WHERE s.c IS NOT NULL GROUP BY ALL",
        ),
        (
            "graphs_counts_mb",
            f"SELECT s.m, s.b, {_counted('s')} FROM graphs_decisions s "
            "WHERE s.c IS NOT NULL GROUP BY ALL",
        ),
    ]
    sums = ", ".join(f"CAST(sum(s.{c}) AS BIGINT) AS {c}" for c in _SUMS)
    hot_pairs = "SEMI JOIN (SELECT DISTINCT m, c FROM graphs_hot) h USING (m, c)"
    final = f"""
WITH eb AS ({_weekly("m, c, b", hot_pairs)}),
ew AS (
    SELECT h.m, h.c, h.w, {", ".join(f"CAST(sum(eb.{c}) AS BIGINT) AS {c}" for c in _SUMS)}
    FROM graphs_hot h
    JOIN eb ON eb.m = h.m AND eb.c = h.c AND eb.b >= h.w AND eb.b <= h.w + {last}
    GROUP BY ALL
),
cb AS ({_weekly("c, b")}),
-- The creators' totals in the windows of the edges only (not spread over every window).
cw AS (
    SELECT n.c, n.w, {", ".join(f"CAST(sum(cb.{c}) AS BIGINT) AS {c}" for c in _SUMS)}
    FROM (SELECT DISTINCT c, w FROM ew) AS n
    JOIN cb ON cb.c = n.c AND cb.b >= n.w AND cb.b <= n.w + {last}
    GROUP BY n.c, n.w
),
-- Joined in two steps: all three totals share the window, and a plan that joins the
-- creators' and the moderators' totals first multiplies them.
ewc AS MATERIALIZED (
    SELECT ew.*, {", ".join(f"cw.{c} AS c_{c}" for c in _SUMS)}
    FROM ew JOIN cw ON cw.c = ew.c AND cw.w = ew.w
),
mb AS ({_weekly("m, b")}),
mw AS ({frame.spread("SELECT * FROM mb", "s.m", sums)}),
gw AS ({frame.spread("SELECT * FROM mb", "'all' AS g", sums)})
SELECT ew.m, ew.c, ew.w,
    {", ".join(f"ew.{c}" for c in _SUMS)},
    {", ".join(f"ew.c_{c}" for c in _SUMS)},
    {", ".join(f"mw.{c} AS m_{c}" for c in _SUMS)},
    {", ".join(f"gw.{c} AS g_{c}" for c in _SUMS)}
FROM ewc AS ew
JOIN mw ON mw.m = ew.m AND mw.w = ew.w
JOIN gw ON gw.w = ew.w
WHERE ew.fr + ew.fa >= {MIN_OUTCOMES} OR ew.ur >= {MIN_OUTCOMES}
ORDER BY ew.w, ew.m, ew.c
"""
    return steps, final


def _counted(alias: str) -> str:
    s = alias
    return (
        f"count(*) FILTER (WHERE {s}.fr OR {s}.ur) AS nr, count(*) FILTER (WHERE {s}.fr) AS fr, "
        f"count(*) FILTER (WHERE {s}.ur) AS ur, count(*) FILTER (WHERE {s}.na) AS na, "
        f"count(*) FILTER (WHERE {s}.fa) AS fa"
    )


def _weekly(keys: str, restrict: str = "") -> str:
    """Every sum per ``keys`` (ending in the week ``b``): the decisions' counts (step
    ``graphs_counts_<keys>``) plus the second opinions on them."""
    table = "graphs_counts_" + keys.replace(", ", "")
    zeros = ", ".join(f"0 AS {c}" for c in _OPINIONS)
    no_counts = ", ".join(f"0 AS {c}" for c in _COUNTS)
    opinions = ", ".join(f"sum(o.{c}) AS {c}" for c in _OPINIONS)
    return f"""
    SELECT {keys}, {", ".join(f"CAST(sum(s.{c}) AS BIGINT) AS {c}" for c in _SUMS)} FROM (
        SELECT {keys}, {", ".join(_COUNTS)}, {zeros} FROM {table}
        UNION ALL
        SELECT {keys}, {no_counts}, {opinions} FROM graphs_opinions o {restrict} GROUP BY ALL
    ) AS s GROUP BY ALL"""


@dataclass(frozen=True)
class Edge:
    moderator: str
    creator: str
    window: int
    evidence: float
    text: str  # how a person reads the edge, with the numbers
    second: tuple[int, int, float]  # second opinions: disagreeing, total, usual rate


def benefit_edge(r: dict[str, Any]) -> Edge | None:
    """Favourable outcomes for one creator, against peers, the moderator's habit and QA."""
    if r["fr"] + r["fa"] < MIN_OUTCOMES:
        return None
    review = _against_peers(r, "fr", "nr", MIN_OUTCOMES)
    appeal = _against_peers(r, "fa", "na", MIN_APPEALS)
    qa_base = _rate(r["g_fqd"], r["g_fqn"], 0.1)
    qa = second_opinion(int(r["fqd"]), int(r["fqn"]), qa_base)
    evidence = review[0] + appeal[0] + qa
    parts = []
    if r["nr"]:
        parts.append(
            f"approved {r['fr']} of {r['nr']} decisions on {r['c']}'s content "
            f"(peers {review[1]:.0%} of {r['c_nr'] - r['nr']}, {_habit(r, 'fr', 'nr')})"
        )
    if r["na"]:
        parts.append(
            f"overturned {r['fa']} of {r['na']} appeals "
            f"(peers {appeal[1]:.0%} of {r['c_na'] - r['na']})"
        )
    return Edge(
        r["m"], r["c"], r["w"], max(evidence, 0.0), "; ".join(parts),
        (int(r["fqd"]), int(r["fqn"]), qa_base),
    )  # fmt: skip


def enforcement_edge(r: dict[str, Any]) -> Edge | None:
    """Removals of one creator's content, against peers, habit, QA and appeals."""
    if r["ur"] < MIN_OUTCOMES:
        return None
    review = _against_peers(r, "ur", "nr", MIN_OUTCOMES)
    qa_base = _rate(r["g_uqd"], r["g_uqn"], 0.1)
    appeal_base = _rate(r["g_uao"], r["g_uan"], 0.1)
    qa = second_opinion(int(r["uqd"]), int(r["uqn"]), qa_base)
    appeal = second_opinion(int(r["uao"]), int(r["uan"]), appeal_base)
    evidence = review[0] + qa + appeal
    text = (
        f"removed or restricted {r['ur']} of {r['nr']} decisions on {r['c']}'s content "
        f"(peers {review[1]:.0%} of {r['c_nr'] - r['nr']}, {_habit(r, 'ur', 'nr')})"
    )
    if r["uan"]:
        text += f"; appeals overturned {r['uao']} of {r['uan']}"
    return Edge(
        r["m"], r["c"], r["w"], max(evidence, 0.0), text,
        (int(r["uao"]) + int(r["uqd"]), int(r["uan"]) + int(r["uqn"]), appeal_base),
    )  # fmt: skip


def _rate(k: float, n: float, default: float) -> float:
    return float(k) / float(n) if n else default


def _against_peers(r: dict[str, Any], k: str, n: str, minimum: int) -> tuple[float, float]:
    """(evidence, peers' rate) for ``k`` of ``n`` on this creator; no evidence below
    ``minimum`` outcomes (the top of many edges with one or two outcomes is always
    surprising somewhere, so single events must not add up)."""
    peer_rate = float(r[f"c_{k}"] - r[k]) / max(r[f"c_{n}"] - r[n], 1)
    if r[k] < minimum:
        return 0.0, peer_rate
    overall = _rate(r[f"g_{k}"], r[f"g_{n}"], 0.5)
    peer_k, peer_n = r[f"c_{k}"] - r[k], r[f"c_{n}"] - r[n]
    peers = shrunk(peer_k, peer_n, overall)
    # Their habit on everyone else's content, so the favoured creators do not inflate it.
    habit = shrunk(r[f"m_{k}"] - r[k], r[f"m_{n}"] - r[n], overall, weight=20.0)
    mean = odds_adjusted(peers, habit, overall)
    return surprise(int(r[k]), int(r[n]), mean, peer_n + PRIOR_WEIGHT), peer_rate


def _habit(r: dict[str, Any], k: str, n: str) -> str:
    own_n = r[f"m_{n}"] - r[n]
    own = _rate(r[f"m_{k}"] - r[k], own_n, 0.0)
    return f"their own rate elsewhere {own:.0%}"


def moderator_findings(rows: list[dict[str, Any]], direction: Direction) -> list[Finding]:
    """Per moderator and window: the sum over their strongest edges, as a finding."""
    make = benefit_edge if direction is BENEFIT else enforcement_edge
    by_actor: dict[tuple[str, int], list[Edge]] = defaultdict(list)
    for r in rows:
        edge = make(r)
        if edge is not None and edge.evidence > 0:
            by_actor[(edge.moderator, edge.window)].append(edge)
    stats = {key: _top(edges) for key, edges in by_actor.items()}
    # What moderators reach in each window (95th percentile), for the reasons.
    per_window: dict[int, list[float]] = defaultdict(list)
    for (_, window), value in stats.items():
        per_window[window].append(value)
    usual = {w: (sorted(v)[int(0.95 * (len(v) - 1))], len(v)) for w, v in per_window.items()}
    findings = []
    for (actor, window), edges in sorted(by_actor.items()):
        top = sorted(edges, key=lambda e: (-e.evidence, e.creator))[:TOP_EDGES]
        evidence = stats[(actor, window)]
        score = squash(evidence, THRESHOLD, SCALE)
        named = [e for e in top if e.evidence >= EDGE_MIN] or top[:1]
        findings.append(
            Finding(
                actor_id=actor,
                category=direction.category,
                pattern=direction.pattern,
                window=window,
                evidence=evidence,
                score=score,
                reasons=_reasons(direction, named, evidence, usual[window]),
                edges=[(e.creator, direction.kind) for e in named],
            )
        )
    return findings


def _top(edges: list[Edge]) -> float:
    return sum(sorted((e.evidence for e in edges), reverse=True)[:TOP_EDGES])


def _reasons(
    direction: Direction, top: list[Edge], evidence: float, usual: tuple[float, int]
) -> list[str]:
    what = "favourable" if direction is BENEFIT else "enforcement"
    p95, moderators = usual
    lead = (
        f"{what} decisions concentrate on {len(top)} creator{'s' if len(top) > 1 else ''} "
        f"({', '.join(e.creator for e in top)}) beyond peers' judgement: evidence "
        f"{evidence:.1f} (95th percentile of the {moderators} moderators with any: {p95:.1f})"
    )
    reasons = [lead, *(e.text for e in top)]
    disagree = sum(e.second[0] for e in top)
    total = sum(e.second[1] for e in top)
    if total:
        who = "QA" if direction is BENEFIT else "QA and appeals"
        reasons.append(
            f"{who} disagreed with {disagree} of {total} of these decisions "
            f"(usually {top[0].second[2]:.0%})"
        )
    return reasons


def describe_clusters(store: EventStore, findings: list[Finding]) -> None:
    """Say what each flagged moderator's target creators have in common: connected
    components of the moderator-creator graph of named edges, per window, with the
    creators' countries (when the accounts table knows them) and co-targeting moderators."""
    if not findings:
        return
    creators = sorted({c for f in findings for c, _ in f.edges})
    country = dict(
        store.fetch_all(
            f"SELECT account_id, country FROM accounts WHERE account_id IN {in_list(creators)}"
        )
    )
    by_window: dict[int, list[Finding]] = defaultdict(list)
    for f in findings:
        by_window[f.window].append(f)
    for items in by_window.values():
        edges = [
            ("m:" + f.actor_id, "c:" + creator)
            for f in items
            if f.score >= 0.25
            for creator, _ in f.edges
        ]
        component_of = {node: group for group in components(edges) for node in group}
        for f in items:
            node = "m:" + f.actor_id
            if node not in component_of:
                continue
            component = component_of[node]
            members = sorted(n[2:] for n in component if n.startswith("c:"))
            others = sorted(n[2:] for n in component if n.startswith("m:") and n != node)
            f.reasons.insert(1, _cluster_text(members, others, country))


def _cluster_text(members: list[str], others: list[str], country: dict[str, str]) -> str:
    text = f"target cluster of {len(members)} creator{'s' if len(members) > 1 else ''}"
    known = [country[c] for c in members if country.get(c)]
    if known:
        top = max(sorted(set(known)), key=known.count)
        text += f", {known.count(top)} of them in {top}"
    if others:
        text += f"; also targeted by {', '.join(others)}"
    return text


def lookup_sql(frame: Frame) -> str:
    """The moderator's decisions behind each named edge (see finding.attach_evidence),
    from the decisions table of ``edges`` (so inside its block): matched on moderator,
    creator and week, then read from the events by row number (in that order: a plan
    that joins the events to the windows first multiplies them)."""
    return f"""
WITH d AS MATERIALIZED (
    SELECT w.fid, w.lo, w.hi, d.rid
    FROM graphs_wanted w
    JOIN graphs_decisions d ON d.m = w.actor_id AND d.c = w.counterpart
        AND d.b >= {frame.bucket("w.hi")} AND d.b <= {frame.bucket("w.lo")}
        AND CASE w.kind WHEN 'favourable' THEN d.fr OR d.fa ELSE d.ur END
)
SELECT d.fid, e.event_id, e.ts, {local_day()} AS day
FROM d
JOIN events e ON e.rowid = d.rid
LEFT JOIN people p ON p.actor_id = e.actor_id
WHERE e.ts >= d.lo AND e.ts < d.hi AND {frame.events_in_range()}
"""


def _ts(value: object) -> str:
    return f"TIMESTAMP '{value}'"
