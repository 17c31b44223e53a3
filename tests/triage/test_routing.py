"""Routing: ordered rules over category, region, language, source, band and fast lane."""

from __future__ import annotations

from typing import Any

import pytest

from custodes.triage.policy import Policy, load_policy
from custodes.triage.routing import route


@pytest.mark.parametrize(
    ("facts", "queue"),
    [
        ({"category": "sextortion", "band": "P0", "fast_lane": "csam"}, "child_safety"),
        ({"category": "child_safety", "band": "P2"}, "child_safety"),
        (
            {"category": "terrorism", "band": "P0", "fast_lane": "terrorist_removal_order"},
            "legal",
        ),
        ({"category": "other", "band": "P0", "fast_lane": "authority_order"}, "legal"),
        (
            {"category": "violent_threat", "band": "P0", "fast_lane": "threat_to_life"},
            "law_enforcement_response",
        ),
        ({"category": "terrorism", "band": "P2"}, "counter_terrorism"),
        (
            {"category": "fraud", "band": "P2", "source": "law_enforcement"},
            "law_enforcement_response",
        ),
        ({"category": "self_harm", "band": "P1"}, "self_harm_response"),
        ({"category": "ip", "band": "P4"}, "legal"),
        ({"category": "hate", "band": "P3", "source": "regulator"}, "legal"),
        ({"category": "violent_threat", "band": "P1"}, "law_enforcement_response"),
        ({"category": "hate", "band": "P2", "jurisdiction": "MX"}, "regional_policy_latam"),
        ({"category": "hate", "band": "P1", "jurisdiction": "BR"}, "regional_policy_latam"),
        ({"category": "fraud", "band": "P3", "language": "pt"}, "regional_policy_latam"),
        ({"category": "fraud", "band": "P1", "language": "es"}, "trust_safety_operations"),
        ({"category": "hate", "band": "P2", "jurisdiction": "DE"}, "regional_policy_eu"),
        ({"category": "harassment", "band": "P3", "jurisdiction": "US"}, "trust_safety_operations"),
    ],
)
def test_default_routes(facts: dict[str, Any], queue: str) -> None:
    args: dict[str, Any] = {"source": "user_report", "language": "en"} | facts
    assert route(load_policy(), **args).queue == queue


def test_route_says_which_rule_and_region() -> None:
    policy = load_policy()
    routed = route(policy, category="hate", band="P2", source="ngo", jurisdiction="CO")
    assert routed.region == "latam"
    assert routed.rule is not None
    assert policy.routes[routed.rule].queue == "regional_policy_latam"
    fallback = route(policy, category="other", band="P4", source="ngo", language="en")
    assert (fallback.queue, fallback.rule, fallback.region) == (
        "trust_safety_operations",
        None,
        None,
    )


def test_first_matching_rule_wins() -> None:
    data = load_policy().to_dict()
    data["routing"]["rules"].insert(
        0,
        {
            "queue": "latam_child_safety",
            "when": {"categories": ["child_safety"], "regions": ["latam"]},
        },
    )
    policy = Policy.from_dict(data)
    kwargs: dict[str, Any] = {"category": "child_safety", "band": "P1", "source": "ngo"}
    assert route(policy, jurisdiction="AR", **kwargs).queue == "latam_child_safety"
    assert route(policy, jurisdiction="FR", **kwargs).queue == "child_safety"
