"""The triage policy: the shipped defaults load, round-trip, and bad files are located."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from custodes.model.vocabulary import BANDS, ESCALATION_CATEGORIES, ESCALATION_SOURCES
from custodes.triage.policy import (
    Policy,
    PolicyError,
    default_text,
    load_policy,
    policy_from_text,
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_default_policy_is_complete_and_versioned() -> None:
    policy = load_policy()
    assert policy.version
    assert set(policy.severity) == set(ESCALATION_CATEGORIES)
    assert all(1 <= v <= 5 for v in policy.severity.values())
    assert set(policy.credibility.sources) == set(ESCALATION_SOURCES)
    assert set(policy.sla.clocks) == set(BANDS)
    lanes = {lane.name for lane in policy.fast_lanes}
    assert {"csam", "threat_to_life", "terrorist_removal_order", "authority_order"} <= lanes
    assert {"trusted_flagger_floor"} <= lanes
    tco = next(lane for lane in policy.fast_lanes if lane.name == "terrorist_removal_order")
    assert tco.clock == timedelta(hours=1)


def test_policy_round_trips_through_dict_and_yaml_text(tmp_path: Path) -> None:
    import yaml

    policy = load_policy()
    again = Policy.from_dict(policy.to_dict())
    assert again == policy
    path = _write(tmp_path, yaml.safe_dump(policy.to_dict(), allow_unicode=True))
    assert load_policy(path) == policy


def test_bands_are_read_in_order() -> None:
    policy = load_policy()
    assert policy.band_of(100) == "P0"
    assert policy.band_of(policy.bands["P1"]) == "P1"
    assert policy.band_of(policy.bands["P1"] - 0.01) == "P2"
    assert policy.band_of(0) == "P4"


def test_wrong_value_is_reported_with_file_line_and_field(tmp_path: Path) -> None:
    text = default_text().replace("  hate: 3\n", "  hate: 7\n")
    path = _write(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    line = _line_of(text, "  hate: 7")
    assert f"{path}:{line}: field 'severity.hate': must be between 1 and 5" in str(caught.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        default_text()
        .replace("    P1: {acknowledge: 1h,", "    P1: {acknowledge: soon,")
        .replace("      timezone: Europe/Madrid", "      timezone: Europe/Madird")
        .replace("      when: {categories: [terrorism]}", "      when: {categories: [terror]}")
        .replace("  minor: 20 ", "  minnor: 20 ")
    )
    path = _write(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    rendered = [p.render() for p in caught.value.problems]
    expected = {
        _line_of(text, "P1: {acknowledge: soon"): "must be a duration",
        _line_of(text, "Europe/Madird"): "unknown IANA time zone",
        _line_of(text, "[terror]"): "unknown value 'terror' (did you mean 'terrorism'?)",
        _line_of(text, "minnor"): "unknown key 'minnor' (did you mean 'minor'?)",
    }
    for line, reason in expected.items():
        assert any(r.startswith(f"{path}:{line}:") and reason in r for r in rendered), (
            line,
            rendered,
        )
    # a missing key is reported at its section's line
    assert any("missing required key 'minor'" in r for r in rendered)


def test_band_thresholds_must_descend(tmp_path: Path) -> None:
    text = default_text().replace("  P2: 35\n", "  P2: 65\n")
    with pytest.raises(PolicyError, match=r"P1 must start above P2"):
        load_policy(_write(tmp_path, text))


def test_invalid_yaml_and_duplicate_keys_are_located(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"policy\.yaml:2: invalid YAML"):
        load_policy(_write(tmp_path, "version: '1'\nseverity: @reserved\n"))
    text = default_text().replace("  hate: 3\n", "  hate: 3\n  hate: 4\n")
    with pytest.raises(PolicyError) as caught:
        policy_from_text(text, "p.yaml")
    assert f"p.yaml:{_line_of(text, 'hate: 4')}: duplicate key 'hate'" in str(caught.value)


def test_unknown_holiday_country_and_bad_hours(tmp_path: Path) -> None:
    text = (
        default_text()
        .replace("holidays: IE", "holidays: XX")
        .replace('"09:00-17:30"', '"17:30-09:00"')
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(_write(tmp_path, text))
    message = str(caught.value)
    assert "no holiday calendar" in message
    assert "must close after it opens" in message


def test_routing_rule_names_unknown_fast_lane(tmp_path: Path) -> None:
    text = default_text().replace("when: {fast_lanes: [csam]}", "when: {fast_lanes: [csma]}")
    with pytest.raises(PolicyError, match=r"unknown value 'csma' \(did you mean 'csam'\?\)"):
        load_policy(_write(tmp_path, text))


def test_unreadable_file_and_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "absent.yaml")
    with pytest.raises(PolicyError, match="a policy must be a mapping"):
        Policy.from_dict(["not", "a", "policy"])


def test_forms_caps_and_floors_are_read_and_checked(tmp_path: Path) -> None:
    policy = load_policy()
    forms = {form.name: form for form in policy.forms}
    assert forms["intimate_images"].category == "privacy" and forms["intimate_images"].shift > 0
    assert {cap.name for cap in policy.caps} >= {"data_request", "vague_report"}
    assert {floor.name for floor in policy.floors} == {"official_request"}
    # routine floors are not fast lanes: nothing routes on them
    assert not {floor.name for floor in policy.floors} & {lane.name for lane in policy.fast_lanes}
    text = (
        default_text()
        .replace("    signals: {bluff: 0.5}", "    signals: {blufff: 0.5}")
        .replace("    shift: -3", "    shift: 1.5")
        .replace(
            "  - name: official_request\n    band: P3", "  - name: official_request\n    band: P0"
        )
        .replace(
            "  - name: data_request\n    band: P2",
            "  - name: data_request\n    band: P2\n    clock: 1h",
        )
    )
    path = _write(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    rendered = [p.render() for p in caught.value.problems]
    floor = _line_of(text, "  - name: official_request")
    cap = _line_of(text, "  - name: data_request")
    expected = {
        _line_of(text, "blufff"): "unknown signal 'blufff' (did you mean 'bluff'?)",
        _line_of(text, "shift: 1.5"): "must be a whole number",
        floor + 1: "a floor at P0 does nothing a fast lane does not",
        cap + 2: "a cap has no 'clock'",
    }
    for line, reason in expected.items():
        assert any(r.startswith(f"{path}:{line}:") and reason in r for r in rendered), (
            line,
            reason,
            rendered,
        )
