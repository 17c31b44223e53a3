"""Routing: which downstream team's queue an escalation goes to.

Routing is policy data, not code: an ordered list of rules over category, region or
jurisdiction, language, source, band and fast lane, where the first rule whose every
listed condition holds names the queue (as a firewall or a mail filter reads its rules).
Order is the whole semantics, so it is kept visible in the YAML, and :func:`route` says
which rule matched so a mis-route can be traced to the line that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass

from custodes.triage.policy import Policy, Route


@dataclass(frozen=True)
class Routed:
    """The chosen queue, the index of the rule that chose it (None: the default), and the
    region the jurisdiction belongs to."""

    queue: str
    rule: int | None
    region: str | None


def route(
    policy: Policy,
    *,
    category: str,
    band: str,
    source: str,
    language: str | None = None,
    jurisdiction: str | None = None,
    fast_lane: str | None = None,
) -> Routed:
    """The first matching rule's queue, else the policy's default queue."""
    region = policy.region_of(jurisdiction)
    facts = {
        "categories": category,
        "bands": band,
        "sources": source,
        "languages": language,
        "jurisdictions": jurisdiction,
        "regions": region,
        "fast_lanes": fast_lane,
    }
    for index, rule in enumerate(policy.routes):
        if matches(rule, facts):
            return Routed(rule.queue, index, region)
    return Routed(policy.default_route, None, region)


def matches(rule: Route, facts: dict[str, str | None]) -> bool:
    """Every condition the rule lists holds; an unlisted condition matches anything."""
    for key, value in facts.items():
        allowed: tuple[str, ...] = getattr(rule, key)
        if allowed and value not in allowed:
            return False
    return True
