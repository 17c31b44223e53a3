"""The `rules` detector: declarative YAML rules (the starter pack plus configured packs).

Rules state misconduct an analyst can check by reading them ("granted a role to
themselves", "copied files to USB after giving notice"), so each hit is an alert whose
reasons quote the rule and the numbers. Hits of several rules on the same person, day and
family become one alert (reasons strongest first), which keeps alert ids unique and the
queue short. Every actor-day with features is scored (0 when no rule held), so rules can
be evaluated on their own.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Final

import pyarrow as pa

from custodes.config import load_settings
from custodes.detect.alert import Alert, Severity
from custodes.detect.detector import SCORE_SCHEMA, DetectContext, Findings, register
from custodes.detect.evidence import EVIDENCE_PER_ALERT, evidence_for
from custodes.detect.rules import Hit, Rule, configured, features_built, run_rules
from custodes.model.vocabulary import CANONICAL_ACTIONS
from custodes.store.events import EventStore

NAME: Final = "rules"
_SEVERITY_ORDER: Final = tuple(Severity)
# A features rule that names no evidence actions is backed by the day's first events.
_ANY_ACTION: Final = tuple(sorted(CANONICAL_ACTIONS))


@register(NAME)
class RulesDetector:
    name = NAME

    def __init__(self, rules: list[Rule] | None = None) -> None:
        self._rules = rules

    def rules(self) -> list[Rule]:
        if self._rules is not None:
            return self._rules
        settings = load_settings()
        return configured(settings.rules, builtin=settings.rules_builtin)

    def run(self, context: DetectContext) -> Findings:
        store = context.store
        hits = run_rules(store, self.rules(), context.since)
        groups: dict[tuple[str, date, str], list[Hit]] = defaultdict(list)
        for hit in hits:
            groups[(hit.actor_id, hit.day, hit.rule.category)].append(hit)
        wanted = {key: _actions(group) for key, group in groups.items()}
        evidence = evidence_for(store, [(k[0], k[1], a) for k, a in wanted.items()])
        alerts = [
            _alert(key, group, evidence.get((key[0], key[1], wanted[key]), ()))
            for key, group in sorted(groups.items())
        ]
        return Findings(alerts, _scores(store, hits, context.since))


def _actions(group: list[Hit]) -> tuple[str, ...]:
    actions: set[str] = set()
    for hit in group:
        actions.update(hit.rule.evidence_actions or _ANY_ACTION)
    return tuple(sorted(actions))


def _alert(key: tuple[str, date, str], group: list[Hit], evidence: tuple[str, ...]) -> Alert:
    actor, day, category = key
    ranked = sorted(group, key=lambda h: (-h.score, h.rule.id))
    start = datetime.combine(day, time.min)
    return Alert(
        actor_id=actor,
        detector=NAME,
        category=category,
        severity=max((h.rule.severity for h in group), key=_SEVERITY_ORDER.index),
        score=ranked[0].score,
        window_start=start,
        window_end=start + timedelta(days=1),
        reasons=tuple(dict.fromkeys(h.reason for h in ranked)),
        evidence_event_ids=evidence[:EVIDENCE_PER_ALERT],
    )


def _scores(store: EventStore, hits: list[Hit], since: date | None) -> pa.Table:
    """The strongest hit per actor-day, and 0 for every other actor-day with features."""
    table = pa.table(
        {
            "actor_id": [h.actor_id for h in hits],
            "day": pa.array([h.day for h in hits], pa.date32()),
            "score": pa.array([h.score for h in hits], pa.float64()),
        },
        schema=SCORE_SCHEMA,
    )
    if not features_built(store):
        return _strongest(table)
    store.register("rule_hits", table)
    try:
        scores = store.fetch_arrow(
            """
            SELECT actor_id, day, max(score) AS score FROM (
                SELECT actor_id, day, 0.0 AS score FROM features_actor_day
                WHERE $since IS NULL OR day >= $since
                UNION ALL
                SELECT actor_id, day, score FROM rule_hits
            ) GROUP BY actor_id, day ORDER BY actor_id, day
            """,
            {"since": since},
        )
    finally:
        store.unregister("rule_hits")
    return scores.cast(SCORE_SCHEMA)


def _strongest(table: pa.Table) -> pa.Table:
    if table.num_rows == 0:
        return table
    out = table.group_by(["actor_id", "day"]).aggregate([("score", "max")])
    return out.rename_columns(["actor_id", "day", "score"]).select(["actor_id", "day", "score"])
