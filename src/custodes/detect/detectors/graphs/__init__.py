"""Graphs: misconduct that lives in relationships, not in any one person's day.

Four relationship patterns, each an edge aggregation in DuckDB over trailing 28-day windows
(see ``frame``) judged in Python on the reduced edges, with connected components
(``components``) where a graph algorithm is the point:

* benefit concentration (paid reversal): moderator -> creator favourable outcomes;
* enforcement concentration (malicious enforcement): moderator -> creator removals, whose
  targets form clusters;
* QA reciprocity (QA collusion): QA analyst -> moderator leniency, and pairs that return it;
* shared credentials: concurrent sessions of one account on different devices, and devices
  used by several staff accounts.

Evidence is in nats (log-likelihood ratios, ``stats``) so each pattern's threshold reads the
same way, and scores are ~0.5 at the alert threshold like every other detector.
"""

from __future__ import annotations

from custodes.detect.detector import DetectContext, Findings, register
from custodes.detect.detectors.graphs import outcomes, qa, sharing
from custodes.detect.detectors.graphs.continuity import carry_over
from custodes.detect.detectors.graphs.finding import (
    DETECTOR,
    MIN_DAY_SCORE,
    Finding,
    attach_evidence,
    to_alerts,
    to_scores,
)
from custodes.detect.detectors.graphs.frame import Frame

__all__ = ["Graphs"]


@register(DETECTOR)
class Graphs:
    name = DETECTOR

    def run(self, context: DetectContext) -> Findings:
        store = context.store
        frame = Frame.of(store, context)
        if frame is None:
            return Findings()
        with outcomes.edges(store, frame) as rows:
            enforcement = _worth(outcomes.moderator_findings(rows, outcomes.ENFORCEMENT))
            outcomes.describe_clusters(store, enforcement)
            found = _worth(outcomes.moderator_findings(rows, outcomes.BENEFIT)) + enforcement
            # The decisions behind them are read while the edges' tables still exist.
            attach_evidence(store, frame, found, outcomes.lookup_sql(frame))
        by_lookup = (
            (_worth(qa.findings(store, frame)), qa.lookup_sql()),
            (_worth(sharing.findings(store, frame)), sharing.lookup_sql()),
        )
        for findings, lookup in by_lookup:
            attach_evidence(store, frame, findings, lookup)
            found += findings
        alerts = carry_over(store, DETECTOR, to_alerts(found, frame))
        return Findings(alerts, to_scores(found, frame))


def _worth(findings: list[Finding]) -> list[Finding]:
    """Findings strong enough to rank a day; the rest is noise not worth a lookup."""
    return [f for f in findings if f.score >= MIN_DAY_SCORE]
