"""Charts for the staff risk page: the score over time by what it is made of, the person
among their peers, and their activity against the peers' median.

Built like ``charts`` (Altair → Vega-Lite, drawn by the vendored vega-embed), each with a
sentence and a table of the same numbers, and never a name: the person is "this person",
a peer is a score.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import altair as alt

from custodes.risk.profile import DayRisk, FamilyActivity, Peers
from custodes.web.charts import HEIGHT, Chart, Table, count

# Scenario families, then context modifiers (greys: context, not evidence), in a fixed
# order so that a family keeps its colour from one person to the next.
PART_COLOURS: Final = {
    "unjustified_access": "#4e79a7",
    "paid_reversal": "#f28e2b",
    "malicious_enforcement": "#e15759",
    "productivity_gaming": "#76b7b2",
    "qa_collusion": "#59a14f",
    "data_exfiltration": "#b6992d",
    "privilege_abuse": "#b07aa1",
    "credential_sharing": "#ff9da7",
    "privileged": "#9c9c9c",
    "priority_group": "#7a7a7a",
    "notice_given": "#595959",
}
OTHER: Final = "#888888"
NONE: Final = "\u2013"  # an en dash: no figure
THIS_PERSON: Final = "#b3261e"
PEERS: Final = "#4f5b6b"


def finish(chart: alt.Chart, title: str, height: int = HEIGHT) -> dict[str, Any]:
    """The finished spec, configured as the dashboard's are (``charts``), at ``height``."""
    done = (
        chart.properties(width="container", height=height, description=title)
        .configure(font="system-ui, sans-serif", background="transparent")
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=12, titleFontSize=12, grid=False)
        .configure_legend(labelFontSize=12, titleFontSize=12, orient="bottom", columns=3)
    )
    spec: dict[str, Any] = done.to_dict(validate=False)  # validated in tests/web/test_charts.py
    return spec


def _label(name: str) -> str:
    return name.replace("_", " ")


def _part_order(names: set[str]) -> list[str]:
    known = [n for n in PART_COLOURS if n in names]
    return known + sorted(names - set(known))


def risk_history(history: Sequence[DayRisk]) -> Chart:
    """The score at the end of each day, stacked by scenario family and modifier (each
    day's parts add up to its score)."""
    title = "Risk score over time"
    if not any(d.score for d in history):
        return Chart(
            "risk-history",
            title,
            "No active alerts: the score has been 0 throughout.",
            None,
            Table(("day", "score"), (), (False, True)),
        )
    names = _part_order({n for d in history for n, _ in d.parts})
    labels = [_label(n) for n in names]
    peak = max(history, key=lambda d: d.score)
    first, last = history[0], history[-1]
    main = max(last.parts, key=lambda p: p[1])[0] if last.parts else None
    summary = (
        f"{last.score:.1f} on {last.day:%Y-%m-%d}, from {first.score:.1f} on "
        f"{first.day:%Y-%m-%d}; highest {peak.score:.1f} on {peak.day:%Y-%m-%d}."
        + (f" Most of it now comes from {_label(main)}." if main else "")
    )
    data = [
        {"day": d.day.isoformat(), "part": _label(n), "points": round(parts.get(n, 0.0), 2)}
        for d in history
        for parts in [dict(d.parts)]
        for n in names
    ]
    chart = (
        alt.Chart(alt.InlineData(values=data))
        .mark_area(interpolate="step-after")
        .encode(
            x=alt.X(
                "day:T",
                title=None,
                scale=alt.Scale(type="utc"),
                axis=alt.Axis(format="%d %b", labelAngle=0),
            ),
            y=alt.Y("sum(points):Q", title="risk score", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color(
                "part:N",
                scale=alt.Scale(domain=labels, range=[PART_COLOURS.get(n, OTHER) for n in names]),
                sort=labels,
                title="made of",
            ),
            order=alt.Order("part_order:Q"),
            tooltip=[
                alt.Tooltip("day:N", title="day"),
                alt.Tooltip("part:N", title="part"),
                alt.Tooltip("points:Q", title="points"),
            ],
        )
        .transform_calculate(part_order=f"indexof({json.dumps(labels)}, datum.part)")
    )
    # The table lists the days the score changed (a step chart's corners), not all sixty.
    changed = [d for i, d in enumerate(history) if i == 0 or d.score != history[i - 1].score]
    return Chart(
        "risk-history",
        title,
        summary,
        finish(chart, "Risk score per day, by what it is made of"),
        Table(
            ("day", "score", *labels),
            tuple(
                (
                    f"{d.day:%Y-%m-%d}",
                    f"{d.score:.1f}",
                    *(f"{parts.get(n, 0.0):.1f}" for n in names),
                )
                for d in changed
                for parts in [dict(d.parts)]
            ),
            (False, True, *(True for _ in names)),
        ),
    )


def _group(peers: Peers) -> str:
    role = _label(peers.role or "staff")
    return f"{role}s in {peers.site}" if peers.site else f"{role}s"


def peer_scores(peers: Peers, score: float) -> Chart:
    """Every peer's score as a tick on one axis, this person as a red rule across it."""
    title = "Risk among peers"
    group = _group(peers)
    if not peers.size:
        return Chart(
            "peer-scores",
            title,
            f"No peers to compare with (nobody else is one of the {group}).",
            None,
            Table(("", "risk score"), (("this person", f"{score:.1f}"),), (False, True)),
        )
    median, p90 = peers.median or 0.0, peers.p90 or 0.0
    scored = sum(1 for s in peers.scores if s > 0)
    summary = (
        f"Riskiest {peers.rank} of {peers.size + 1} {group} at {score:.1f}; "
        f"{count(scored, 'peer')} with active alerts, peers' median {median:.1f}, "
        f"90th percentile {p90:.1f}."
    )
    data = [{"who": "peer", "score": round(s, 1)} for s in peers.scores]
    data.append({"who": "this person", "score": round(score, 1)})
    # One chart, not a layer (Altair copies every layer again as it builds the spec): the
    # person is the same tick, taller, thicker and red.
    who = ["peer", "this person"]
    chart = (
        alt.Chart(alt.InlineData(values=data))
        .mark_tick(opacity=0.8)
        .encode(
            x=alt.X("score:Q", title="risk score", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("who:N", scale=alt.Scale(domain=who, range=[PEERS, THIS_PERSON])),
            size=alt.Size("who:N", scale=alt.Scale(domain=who, range=[24, 44]), legend=None),
            strokeWidth=alt.StrokeWidth(
                "who:N", scale=alt.Scale(domain=who, range=[2, 4]), legend=None
            ),
            order=alt.Order("who:N"),
            tooltip=[alt.Tooltip("who:N", title="who"), alt.Tooltip("score:Q", title="score")],
        )
    )
    return Chart(
        "peer-scores",
        title,
        summary,
        finish(chart, "Risk scores of peers", height=90),
        Table(
            ("", "risk score"),
            (
                ("this person", f"{score:.1f}"),
                ("peers' median", f"{median:.1f}"),
                ("peers' 90th percentile", f"{p90:.1f}"),
                ("riskiest peer", f"{peers.scores[0]:.1f}"),
            ),
            (False, True),
        ),
    )


def activity_vs_peers(peers: Peers) -> Chart:
    """Events per active day by action family: this person beside the peers' median."""
    title = "Activity compared with peers"
    rows: Sequence[FamilyActivity] = peers.activity
    span = f"{peers.activity_start:%Y-%m-%d} to {peers.activity_end:%Y-%m-%d}"
    if not rows:
        return Chart(
            "peer-activity",
            title,
            f"No activity from {span}.",
            None,
            Table(("family", "this person", "peers' median"), (), (False, True, True)),
        )
    ratios = [(r, r.own / r.peers) for r in rows if r.peers]
    most = max(ratios, key=lambda x: x[1], default=None)
    summary = f"Events per active day by action family, {span}" + (
        f"; furthest above peers in {_label(most[0].family)} "
        f"({most[0].own:.1f} against {most[0].peers:.1f})."
        if most and most[1] > 1
        else "."
    )
    data = [
        {"family": _label(r.family), "who": "this person", "per_day": round(r.own, 1)} for r in rows
    ] + [
        {"family": _label(r.family), "who": "peers' median", "per_day": round(r.peers, 1)}
        for r in rows
        if r.peers is not None
    ]
    chart = (
        alt.Chart(alt.InlineData(values=data))
        .mark_bar()
        .encode(
            y=alt.Y("family:N", title=None, sort=[_label(r.family) for r in rows]),
            yOffset=alt.YOffset("who:N", sort=["this person", "peers' median"]),
            x=alt.X("per_day:Q", title="events per active day"),
            color=alt.Color(
                "who:N",
                scale=alt.Scale(
                    domain=["this person", "peers' median"], range=[THIS_PERSON, PEERS]
                ),
                title=None,
            ),
            tooltip=[
                alt.Tooltip("family:N", title="family"),
                alt.Tooltip("who:N", title="who"),
                alt.Tooltip("per_day:Q", title="per active day"),
            ],
        )
    )
    return Chart(
        "peer-activity",
        title,
        summary,
        finish(chart, "Events per active day, this person and peers' median"),
        Table(
            ("family", "this person", "peers' median"),
            tuple(
                (
                    _label(r.family),
                    f"{r.own:.1f}",
                    f"{r.peers:.1f}" if r.peers is not None else NONE,
                )
                for r in rows
            ),
            (False, True, True),
        ),
    )
