"""The labelled escalation set: well-formed, balanced and consistent with docs/triage-bands.md.

The files under tests/triage/data/ are independent ground truth for triage (labelled by hand
against the banding guide, not by any code), so this test reads them with the standard library
only and never imports the triage engine. (How well the engine agrees with them is
tests/triage/test_evaluation.py.)

Three sets: ``labelled_dev.jsonl`` (the first development set), ``labelled_dev2.jsonl`` (a
second development set written independently of the engine, ids ``d2-…``) and
``labelled_holdout.jsonl`` (never tuned on).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"
DEV = DATA / "labelled_dev.jsonl"
DEV2 = DATA / "labelled_dev2.jsonl"
DEV3 = DATA / "labelled_dev3.jsonl"
DEV4 = DATA / "labelled_dev4.jsonl"
HOLDOUT = DATA / "labelled_holdout.jsonl"

SOURCES = frozenset(
    {
        "law_enforcement",
        "regulator",
        "trusted_flagger",
        "ngo",
        "press",
        "creator_partner",
        "internal_moderation",
        "internal_staff",
        "user_report",
    }
)
CATEGORIES = frozenset(
    {
        "child_safety",
        "violent_threat",
        "terrorism",
        "self_harm",
        "doxxing",
        "sextortion",
        "fraud",
        "hate",
        "harassment",
        "misinformation",
        "ip",
        "privacy",
        "other",
    }
)
LANGUAGES = ("en", "es", "pt")
BANDS = ("P0", "P1", "P2", "P3", "P4")
P0_LANES = frozenset({"csam", "threat_to_life", "terrorist_removal_order", "authority_order"})
FAST_LANES = P0_LANES | {"trusted_flagger_floor"}

REQUIRED = ("escalation_id", "received_at", "source", "body", "subject_ids", "rationale")
EXPECTED = ("expected_band", "expected_category", "expected_fast_lane")
OPTIONAL_STR = ("title", "requester")
KNOWN = frozenset(
    {
        *REQUIRED,
        *EXPECTED,
        *OPTIONAL_STR,
        "language",
        "reported_category",
        "reach",
        "jurisdiction",
        "deadline",
        "trusted_areas",
    }
)
ID_PATTERN = re.compile(r"^(?:lab|d2|d3|d4)-(?P<language>en|es|pt)-\d{3}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")

Record = dict[str, Any]


def load(path: Path) -> list[Record]:
    records: list[Record] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            assert line.strip(), f"{path.name}:{number}: blank line"
            value = json.loads(line)
            assert isinstance(value, dict), f"{path.name}:{number}: not an object"
            records.append(value)
    return records


def language_of(record: Record) -> str:
    """The record's true language: the id says it (the `language` hint is often omitted)."""
    match = ID_PATTERN.match(record["escalation_id"])
    assert match is not None, record["escalation_id"]
    return match.group("language")


def aware(text: object) -> datetime:
    assert isinstance(text, str)
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None and moment.utcoffset() is not None, text
    return moment


@pytest.fixture(scope="module")
def dev() -> list[Record]:
    return load(DEV)


@pytest.fixture(scope="module")
def dev2() -> list[Record]:
    return load(DEV2)


@pytest.fixture(scope="module")
def dev3() -> list[Record]:
    return load(DEV3)


@pytest.fixture(scope="module")
def dev4() -> list[Record]:
    return load(DEV4)


@pytest.fixture(scope="module")
def holdout() -> list[Record]:
    return load(HOLDOUT)


@pytest.fixture(scope="module")
def everything(dev: list[Record], holdout: list[Record]) -> list[Record]:
    return dev + holdout


def test_files_are_utf8_json_lines() -> None:
    for path in (DEV, DEV2, DEV3, DEV4, HOLDOUT):
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        assert text.endswith("\n")
        assert "\r" not in text
        assert len(load(path)) == text.count("\n")


def test_sizes(dev: list[Record], dev2: list[Record], holdout: list[Record]) -> None:
    assert 60 <= len(dev) <= 80
    assert 100 <= len(dev2) <= 140
    assert 80 <= len(holdout) <= 110
    assert len(dev) + len(holdout) >= 160


def test_later_sets_sizes(dev3: list[Record], dev4: list[Record]) -> None:
    assert 140 <= len(dev3) <= 160
    assert 110 <= len(dev4) <= 130


@pytest.mark.parametrize("split", ["everything", "dev2", "dev3", "dev4"])
def test_fields_present_and_well_typed(split: str, request: pytest.FixtureRequest) -> None:
    for record in request.getfixturevalue(split):
        rid = record.get("escalation_id")
        assert set(record) <= KNOWN, (rid, set(record) - KNOWN)
        for field in (*REQUIRED, *EXPECTED):
            assert field in record, (rid, field)
        assert isinstance(rid, str) and ID_PATTERN.match(rid), rid
        aware(record["received_at"])
        assert record["source"] in SOURCES, rid
        assert isinstance(record["body"], str) and record["body"].strip(), rid
        assert isinstance(record["rationale"], str) and record["rationale"].strip(), rid
        for field in OPTIONAL_STR:
            if field in record:
                assert isinstance(record[field], str) and record[field].strip(), (rid, field)
        subjects = record["subject_ids"]
        assert isinstance(subjects, list), rid
        assert all(isinstance(s, str) and s for s in subjects), rid
        assert len(set(subjects)) == len(subjects), rid
        if "language" in record:
            assert record["language"] == language_of(record), rid
        if "reported_category" in record:
            assert record["reported_category"] in CATEGORIES, rid
        if "reach" in record:
            reach = record["reach"]
            assert isinstance(reach, int) and not isinstance(reach, bool) and reach >= 0, rid
        if "jurisdiction" in record:
            assert isinstance(record["jurisdiction"], str), rid
            assert COUNTRY.match(record["jurisdiction"]), rid
        if "deadline" in record:
            assert aware(record["deadline"]) > aware(record["received_at"]), rid


@pytest.mark.parametrize("split", ["everything", "dev2", "dev3", "dev4"])
def test_labels_in_vocabulary(split: str, request: pytest.FixtureRequest) -> None:
    for record in request.getfixturevalue(split):
        rid = record["escalation_id"]
        assert record["expected_band"] in BANDS, rid
        assert record["expected_category"] in CATEGORIES, rid
        lane = record["expected_fast_lane"]
        assert lane is None or lane in FAST_LANES, rid


def test_ids_unique_and_splits_disjoint(
    dev: list[Record], dev2: list[Record], holdout: list[Record]
) -> None:
    dev_ids = [r["escalation_id"] for r in dev]
    dev2_ids = [r["escalation_id"] for r in dev2]
    holdout_ids = [r["escalation_id"] for r in holdout]
    assert len(set(dev_ids)) == len(dev_ids)
    assert len(set(dev2_ids)) == len(dev2_ids)
    assert len(set(holdout_ids)) == len(holdout_ids)
    assert not set(dev_ids) & set(holdout_ids)
    assert not set(dev2_ids) & (set(dev_ids) | set(holdout_ids))
    bodies = [r["body"] for r in dev + dev2 + holdout]
    assert len(set(bodies)) == len(bodies), "the same text labelled twice"


def test_later_sets_are_disjoint_from_every_other(
    dev: list[Record],
    dev2: list[Record],
    dev3: list[Record],
    dev4: list[Record],
    holdout: list[Record],
) -> None:
    every = dev + dev2 + dev3 + dev4 + holdout
    ids = [r["escalation_id"] for r in every]
    assert len(set(ids)) == len(ids)
    bodies = [r["body"] for r in every]
    assert len(set(bodies)) == len(bodies), "the same text labelled twice"


@pytest.mark.parametrize("split", ["dev", "dev2", "dev3", "dev4", "holdout", "everything"])
def test_language_balance(split: str, request: pytest.FixtureRequest) -> None:
    records: list[Record] = request.getfixturevalue(split)
    counts = Counter(language_of(r) for r in records)
    for language in LANGUAGES:
        share = counts[language] / len(records)
        assert 0.28 <= share <= 0.38, (split, language, share)


def test_language_hint_often_omitted(everything: list[Record]) -> None:
    omitted = sum("language" not in r for r in everything) / len(everything)
    assert 0.2 <= omitted <= 0.4, omitted


def test_every_source_category_and_band_present(
    dev: list[Record], dev2: list[Record], holdout: list[Record], everything: list[Record]
) -> None:
    assert {r["source"] for r in everything} == SOURCES
    assert {r["expected_category"] for r in everything} == CATEGORIES
    assert {r["source"] for r in dev2} == SOURCES
    assert {r["expected_category"] for r in dev2} == CATEGORIES
    for records in (dev, dev2, holdout):
        assert {r["expected_band"] for r in records} == set(BANDS)
        for language in LANGUAGES:
            bands = {r["expected_band"] for r in records if language_of(r) == language}
            assert bands == set(BANDS), language


def test_p0_well_represented_but_not_dominant(
    dev: list[Record], dev2: list[Record], holdout: list[Record], everything: list[Record]
) -> None:
    p0 = sum(r["expected_band"] == "P0" for r in everything)
    assert p0 >= 15
    assert p0 / len(everything) <= 0.2
    assert sum(r["expected_band"] == "P0" for r in dev2) / len(dev2) <= 0.2
    for records in (dev, dev2, holdout):
        assert any(r["expected_band"] == "P0" for r in records)


@pytest.mark.parametrize("split", ["everything", "dev2", "dev3", "dev4"])
def test_fast_lanes_consistent_with_the_guide(split: str, request: pytest.FixtureRequest) -> None:
    for record in request.getfixturevalue(split):
        rid = record["escalation_id"]
        band = record["expected_band"]
        lane = record["expected_fast_lane"]
        if lane in P0_LANES:
            assert band == "P0", rid
        if band == "P0":
            assert lane in P0_LANES, rid
        if lane == "terrorist_removal_order":
            assert record["expected_category"] == "terrorism", rid
            assert "deadline" in record, rid
        if lane == "authority_order":
            hours = (aware(record["deadline"]) - aware(record["received_at"])).total_seconds()
            assert hours <= 24 * 3600, rid
        if lane == "trusted_flagger_floor":
            assert record["source"] == "trusted_flagger", rid
            assert record["expected_category"] in record["trusted_areas"], rid
            assert band in ("P0", "P1", "P2"), rid


@pytest.mark.parametrize("split", ["everything", "dev2", "dev3", "dev4"])
def test_trusted_areas_only_for_trusted_flaggers(
    split: str, request: pytest.FixtureRequest
) -> None:
    inside = outside = 0
    for record in request.getfixturevalue(split):
        rid = record["escalation_id"]
        if record["source"] != "trusted_flagger":
            assert "trusted_areas" not in record, rid
            continue
        areas = record["trusted_areas"]
        assert isinstance(areas, list) and areas, rid
        assert set(areas) <= CATEGORIES, rid
        if record["expected_category"] in areas:
            inside += 1
            assert record["expected_fast_lane"] is not None, rid
            assert record["expected_band"] in ("P0", "P1", "P2"), rid
        else:
            outside += 1
            assert record["expected_fast_lane"] is None, rid
    least = 3 if split == "everything" else 1  # dev2 alone is smaller
    assert inside >= least and outside >= least


def test_hard_cases_are_there(everything: list[Record]) -> None:
    wrong = [
        r
        for r in everything
        if "reported_category" in r and r["reported_category"] != r["expected_category"]
    ]
    assert len(wrong) >= 10
    assert sum("reported_category" not in r for r in everything) >= 10
    assert sum("deadline" in r for r in everything) >= 15
    assert sum("reach" not in r for r in everything) >= 15
