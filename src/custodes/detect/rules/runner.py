"""Running compiled rules against the store: one query per rule, hits as plain values.

A hit is a deterministic finding (a stated condition held), so its score says how serious
the rule's author judged it (severity) and grows a little with how far past the bar the
observed values are; it sits above 0.5 — the alert line shared with other detectors.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

import duckdb

from custodes.detect.alert import Severity
from custodes.detect.rules.compiler import (
    FEATURES_TABLE,
    Query,
    compile_rule,
    describe_day,
    plain_number,
)
from custodes.detect.rules.error import RuleError
from custodes.detect.rules.model import Rule
from custodes.errors import CustodesError
from custodes.store.events import EventStore

SEVERITY_SCORE: Final[dict[Severity, float]] = {
    Severity.low: 0.55,
    Severity.medium: 0.65,
    Severity.high: 0.8,
    Severity.critical: 0.9,
}


@dataclass(frozen=True)
class Hit:
    """One rule held for one actor on one local day."""

    rule: Rule
    actor_id: str
    day: date
    margin: float  # how far past the bar (0 = at it, 1 = twice it)
    values: tuple[float | None, ...]
    reason: str

    @property
    def score(self) -> float:
        return score(self.rule.severity, self.margin)


def score(severity: Severity, margin: float) -> float:
    """Severity's base, plus up to half the remaining headroom as the margin grows."""
    base = SEVERITY_SCORE[severity]
    m = max(0.0, margin) if math.isfinite(margin) else 0.0
    return base + (1.0 - base) * 0.5 * m / (1.0 + m)


def features_built(store: EventStore) -> bool:
    return bool(
        store.fetch_value(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
            [FEATURES_TABLE],
        )
    )


def run_rules(store: EventStore, rules: Iterable[Rule], since: date | None = None) -> list[Hit]:
    """Every hit of every rule on local days >= ``since``, rule by rule."""
    rules = list(rules)
    if any(r.over == "features" for r in rules) and not features_built(store):
        raise CustodesError(
            f"no {FEATURES_TABLE} table in the store: run `custodes detect` first "
            "(features rules read the per-actor-day features it builds)"
        )
    hits: list[Hit] = []
    for rule in rules:
        hits.extend(run_rule(store, rule, since))
    return hits


def run_rule(store: EventStore, rule: Rule, since: date | None = None) -> list[Hit]:
    query = compile_rule(rule, since)
    try:
        rows = store.fetch_all(query.sql, query.params)
    except duckdb.Error as exc:
        # Validated rules compile to valid SQL; an old features table is the likely cause.
        raise RuleError(
            f"query failed: {exc}", file=rule.file, line=rule.line, rule=rule.id
        ) from exc
    n = len(query.values)
    return [
        Hit(
            rule,
            r[0],
            r[1],
            float(r[2] or 0.0),
            tuple(r[3 : 3 + n]),
            _reason(query, r[1], r[3 : 3 + n], r[3 + n] if query.per else None),
        )
        for r in rows
    ]


def _reason(query: Query, day: date, values: tuple[object, ...], key: object) -> str:
    rule = query.rule
    observed = ", ".join(
        f"{name} = {_fmt(v)} ({bar})"
        for name, v, bar in zip(query.values, values, query.thresholds, strict=True)
    )
    if query.per is not None:
        observed += f" for {query.per} {key}"
    return f"{rule.title} [rule {rule.id}]: {observed} {describe_day(day, rule.window.days)}"


def _fmt(value: object) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return plain_number(float(value))
    return "unknown" if value is None else str(value)
