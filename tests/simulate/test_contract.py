"""Everything the simulator writes is valid contract data, and its references hold."""

from __future__ import annotations

import json
import re

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from custodes.model.arrow import arrow_schema
from custodes.model.vocabulary import (
    CANONICAL_ACTIONS,
    ESCALATION_SOURCES,
    ROLES,
    SCENARIOS,
    TARGET_TYPES,
)
from custodes.simulate.block import VALID_OUTCOMES
from tests.simulate.conftest import Run

ENTITIES = ("people", "accounts", "tickets", "labels", "escalations")


def column(table: pa.Table, name: str) -> list[object]:
    values: list[object] = table.column(name).to_pylist()
    return values


@pytest.mark.parametrize("entity", ENTITIES)
def test_tables_have_exactly_the_contract_schema(org300: Run, entity: str) -> None:
    assert org300.table(entity).schema.equals(arrow_schema(entity))


def test_event_batches_have_exactly_the_contract_schema(org300: Run) -> None:
    assert org300.sink.batches
    for batch in org300.sink.batches:
        assert batch.schema.equals(arrow_schema("events"))


def test_actions_are_canonical_and_outcomes_fit_them(org300: Run) -> None:
    ev = org300.events
    pairs = ev.group_by(["action", "outcome"]).aggregate([]).to_pylist()
    for row in pairs:
        assert row["action"] in CANONICAL_ACTIONS
        assert row["outcome"] in VALID_OUTCOMES[row["action"]], row
    seen = {row["action"] for row in pairs}
    # The organisation does every kind of thing in two months.
    assert CANONICAL_ACTIONS - seen <= {"audit_setting_change"}


def test_ids_are_unique_and_required_fields_present(org300: Run) -> None:
    ev = org300.events
    assert pc.count_distinct(ev["event_id"]).as_py() == ev.num_rows
    for name in ("ts", "actor_id", "action", "event_id"):
        assert ev[name].null_count == 0
    target_types = set(column(ev.group_by("target_type").aggregate([]), "target_type"))
    assert target_types - {None} <= set(TARGET_TYPES)


def test_attrs_are_json_objects(org300: Run) -> None:
    sample = org300.events.slice(0, 50_000)
    for text in column(sample, "attrs"):
        if text is not None:
            assert isinstance(json.loads(str(text)), dict)
    for entity in ENTITIES:
        for text in column(org300.table(entity), "attrs"):
            if text is not None:
                assert isinstance(json.loads(str(text)), dict)


def test_country_codes_are_alpha_2(org300: Run) -> None:
    pattern = re.compile(r"^[A-Z]{2}$")
    for table, name in (
        (org300.events, "country"),
        (org300.table("people"), "country"),
        (org300.table("accounts"), "country"),
        (org300.table("escalations"), "jurisdiction"),
    ):
        values = set(column(table.group_by(name).aggregate([]), name)) - {None}
        assert values
        assert all(pattern.match(str(v)) for v in values), values


def test_qa_reviews_point_at_earlier_review_decisions(org300: Run) -> None:
    ev = org300.events
    decisions = ev.filter(pc.equal(ev["action"], "review_decision"))
    when = dict(zip(column(decisions, "event_id"), column(decisions, "ts"), strict=True))
    owner = dict(zip(column(decisions, "event_id"), column(decisions, "actor_id"), strict=True))
    qa = ev.filter(pc.equal(ev["action"], "qa_review"))
    assert qa.num_rows > 1000
    for target, ts, attrs in zip(
        column(qa, "target_id"), column(qa, "ts"), column(qa, "attrs"), strict=True
    ):
        assert target in when, target
        assert when[target] < ts  # type: ignore[operator]
        assert json.loads(str(attrs))["reviewed_actor_id"] == owner[target]


def test_appeals_point_at_earlier_actions_on_the_same_content(org300: Run) -> None:
    ev = org300.events
    decisions = ev.filter(pc.equal(ev["action"], "review_decision"))
    by_id = {
        r["event_id"]: r
        for r in decisions.select(["event_id", "ts", "target_id", "outcome"]).to_pylist()
    }
    appeals = ev.filter(pc.equal(ev["action"], "appeal_decision")).to_pylist()
    assert len(appeals) > 100
    for a in appeals:
        original = by_id[json.loads(a["attrs"])["original_decision_id"]]
        assert original["target_id"] == a["target_id"]
        assert original["outcome"] in ("remove", "restrict")
        assert original["ts"] < a["ts"]


def test_ticket_references_exist_and_cover_the_lookup_time(org300: Run) -> None:
    tickets = {r["ticket_id"]: r for r in org300.table("tickets").to_pylist()}
    ev = org300.events
    ticketed = ev.filter(pc.is_valid(ev["ticket_id"])).to_pylist()
    assert ticketed
    for e in ticketed:
        t = tickets[e["ticket_id"]]
        assert t["opened_at"] <= e["ts"]
        # Honest work happens while the ticket is open (tickets still open have no close).
        if t["closed_at"] is not None and t["actor_id"] == e["actor_id"]:
            assert e["ts"] <= t["closed_at"]


def test_directory_is_consistent(org300: Run) -> None:
    people = org300.table("people").to_pylist()
    ids = {p["actor_id"] for p in people}
    assert len(ids) == len(people) == 300
    roles = {p["role"] for p in people}
    assert roles == set(ROLES)
    for p in people:
        assert p["manager_id"] is None or p["manager_id"] in ids
        assert re.match(r"^\d\d:\d\d$", p["shift_start"])
        assert p["notice_date"] is None or p["end_date"] is not None
        if p["end_date"] is not None and p["notice_date"] is not None:
            assert p["notice_date"] <= p["end_date"]
    share = sum(p["role"] == "moderator" for p in people) / len(people)
    assert 0.7 <= share <= 0.8
    assert {p["site"] for p in people} >= {"austin", "bogota", "sao-paulo", "manila", "dublin"}
    accounts = org300.table("accounts").to_pylist()
    for a in accounts:
        assert set(a["conflict_actor_ids"] or ()) <= ids
    high = sum(bool(a["high_profile"]) for a in accounts) / len(accounts)
    assert 0.002 < high < 0.03


def test_labels_and_escalations_use_contract_vocabularies(org300: Run) -> None:
    assert set(column(org300.table("labels"), "scenario")) <= set(SCENARIOS)
    assert set(column(org300.table("escalations"), "source")) <= set(ESCALATION_SOURCES)
    people = set(column(org300.table("people"), "actor_id"))
    assert set(column(org300.table("labels"), "actor_id")) <= people
    assert set(column(org300.events.slice(0, 100_000), "actor_id")) <= people
