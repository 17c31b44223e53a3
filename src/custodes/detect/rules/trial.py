"""Trying a rule pack on real data before trusting it: how often each rule fires, and —
when ground-truth labels are in the store — how many of its hits are real.

Labels are for evaluation only: detection never reads them; this module is what
`custodes rules test` uses to tell an author whether a rule is precise.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from custodes.detect.rules.model import Rule
from custodes.detect.rules.runner import Hit, run_rules
from custodes.store.events import EventStore

_Window = tuple[date, date | None]


@dataclass(frozen=True)
class RuleTrial:
    """One rule's record on the data: hits, and their truth when labels exist."""

    rule: Rule
    actor_days: int  # hits: (actor, local day) pairs where the rule held
    actors: int
    labelled_days: int | None = None  # hits inside a label window of the rule's family
    precision: float | None = None  # labelled_days / actor_days
    insiders_found: int | None = None  # labelled actors of the family hit in their window
    insiders: int | None = None  # labelled actors of the family

    def to_record(self) -> dict[str, Any]:
        return {
            "rule": self.rule.id,
            "category": self.rule.category,
            "severity": str(self.rule.severity),
            "actor_days": self.actor_days,
            "actors": self.actors,
            "labelled_days": self.labelled_days,
            "precision": None if self.precision is None else round(self.precision, 3),
            "insiders_found": self.insiders_found,
            "insiders": self.insiders,
        }


def try_rules(
    store: EventStore, rules: list[Rule], since: date | None = None
) -> tuple[list[RuleTrial], list[Hit]]:
    """Each rule's trial (in the order given) and all the hits behind them."""
    hits = run_rules(store, rules, since)
    labels = _labels(store)
    by_rule: dict[str, list[Hit]] = defaultdict(list)
    for hit in hits:
        by_rule[hit.rule.id].append(hit)
    trials = []
    for rule in rules:
        found = by_rule.get(rule.id, [])
        days = {(h.actor_id, h.day) for h in found}
        actors = {h.actor_id for h in found}
        if labels is None:
            trials.append(RuleTrial(rule, len(days), len(actors)))
            continue
        windows = labels.get(rule.category, {})
        inside = {(a, d) for a, d in days if _within(d, windows.get(a, []))}
        trials.append(
            RuleTrial(
                rule,
                len(days),
                len(actors),
                labelled_days=len(inside),
                precision=len(inside) / len(days) if days else None,
                insiders_found=len({a for a, _ in inside}),
                insiders=len(windows),
            )
        )
    return trials, hits


def _labels(store: EventStore) -> dict[str, dict[str, list[_Window]]] | None:
    """Label windows by family and actor, as calendar days; None when there are none."""
    rows = store.fetch_all('SELECT actor_id, scenario, start, "end" FROM labels')
    if not rows:
        return None
    out: dict[str, dict[str, list[_Window]]] = defaultdict(lambda: defaultdict(list))
    for actor, scenario, start, end in rows:
        out[scenario][actor].append((_day(start), None if end is None else _day(end)))
    return out


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _within(day: date, windows: list[_Window]) -> bool:
    return any(start <= day and (end is None or day <= end) for start, end in windows)
