"""Reading rule files: every problem reported at once, each with its file and line; rules
round-trip through dicts; the starter pack is sound and covers every family."""

from __future__ import annotations

from pathlib import Path

import pytest

from custodes.detect.alert import Severity
from custodes.detect.rules import (
    Comparison,
    Group,
    Rule,
    RuleErrors,
    Threshold,
    Window,
    check,
    load,
    read_text,
)
from custodes.detect.rules.loader import builtin_text, split_paths
from custodes.errors import CustodesError
from custodes.model.vocabulary import SCENARIOS

GOOD = """\
rules:
  - id: self-grant
    title: Granted a role to themselves
    category: privilege_abuse
    severity: high
    over: events
    scope: {not_roles: [admin]}
    where:
      action: role_grant
      attrs.grantee_id: $actor
    threshold: {count: events, op: ">=", value: 1}
  - id: many-views
    title: Many unticketed private views
    category: unjustified_access
    severity: medium
    over: features
    window: {days: 7, min_days: 2}
    where:
      - private_views_unticketed >= 8
"""


def _write(tmp_path: Path, text: str, name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _problems(tmp_path: Path, text: str) -> list[tuple[int | None, str]]:
    path = _write(tmp_path, text)
    checked = check([path])
    assert all(e.file == str(path) for e in checked.errors)
    return [(e.line, e.render()) for e in checked.errors]


def test_a_good_pack_reads_into_rules(tmp_path: Path) -> None:
    rules = load([_write(tmp_path, GOOD)])
    assert [r.id for r in rules] == ["self-grant", "many-views"]
    grant, views = rules
    assert grant.over == "events"
    assert grant.actions == ("role_grant",)
    assert grant.scope.not_roles == ("admin",)
    assert grant.filters[0].values == ("$actor",)
    assert grant.severity is Severity.high
    assert grant.line == 2
    assert views.where == Group("all", (Comparison("private_views_unticketed", ">=", 8.0),))
    assert views.window == Window(7, None, 2)
    assert views.location == f"{tmp_path / 'pack.yaml'}:12"


def test_every_problem_in_a_file_is_reported_with_its_line(tmp_path: Path) -> None:
    text = """\
rules:
  - id: one
    title: Unknown feature and a bad op
    category: unjustified_access
    severity: high
    over: features
    where:
      - privte_views_unticketed >= 2
      - feature: private_views
        op: "=>"
        value: 3
  - id: two
    title: Wrong family, unknown key, missing over
    category: snooping
    severity: high
    colour: red
    where:
      - private_views >= 1
  - id: three
    category: data_exfiltration
    severity: bad
    over: events
    where:
      action: copy_to_removeable
      attrs.url_domain: [a.com]
      ownr: x
"""
    problems = _problems(tmp_path, text)
    lines = [line or 0 for line, _ in problems]
    assert lines == sorted(lines)
    messages = "\n".join(m for _, m in problems)
    expected = {
        8: "unknown feature 'privte_views_unticketed' (did you mean 'private_views_unticketed'?)",
        10: "unknown op '=>'",
        14: "category 'snooping' is not one of",
        16: "unknown key 'colour'",
        12: "missing required key 'over'",
        19: "missing required key 'title'",
        21: "severity 'bad' is not one of",
        24: "unknown action 'copy_to_removeable' (did you mean 'copy_to_removable'?)",
        26: "unknown event field 'ownr'",
    }
    for line, fragment in expected.items():
        assert any(at == line and fragment in m for at, m in problems), (line, messages)
    path = tmp_path / "pack.yaml"
    assert f"{path}:8: rule 'one': field 'where': unknown feature" in messages
    assert len(problems) == len(expected)


def test_malformed_yaml_is_one_error_at_its_line(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "rules:\n  - id: x\n    title: [unclosed\n    over: events\n")
    assert len(problems) == 1
    line, message = problems[0]
    assert line is not None and line >= 3
    assert "invalid YAML" in message


def test_duplicate_keys_and_duplicate_ids_are_errors(tmp_path: Path) -> None:
    dup_key = GOOD.replace("    severity: high\n", "    severity: high\n    severity: low\n", 1)
    problems = _problems(tmp_path, dup_key)
    assert any(
        line == 6 and "duplicate key 'severity' (first at line 5)" in m for line, m in problems
    )
    first = _write(tmp_path, GOOD, "a.yaml")
    second = _write(tmp_path, GOOD, "b.yaml")
    checked = check([first, second])
    assert {e.rule for e in checked.errors} == {"self-grant", "many-views"}
    assert all(e.file == str(second) and "first defined at" in e.reason for e in checked.errors)
    assert checked.rules == []  # ambiguous ids: neither copy is used
    with pytest.raises(RuleErrors) as raised:
        load([first, second])
    assert isinstance(raised.value, CustodesError)
    assert str(raised.value).startswith("2 problems in rule files:")


def test_folders_missing_files_and_empty_files(tmp_path: Path) -> None:
    folder = tmp_path / "packs"
    folder.mkdir()
    _write(folder, GOOD, "one.yml")
    (folder / "notes.txt").write_text("not a rule", encoding="utf-8")
    assert [r.id for r in load([folder])] == ["self-grant", "many-views"]
    checked = check([tmp_path / "nope.yaml", _write(tmp_path, "", "empty.yaml")])
    reasons = sorted(e.reason for e in checked.errors)
    assert reasons == ["no such file or folder", "the file holds no rules"]
    assert split_paths(f"a.yaml{':'}b/ :") == ["a.yaml", "b/"]


def test_value_errors_filters_thresholds_windows_and_scope(tmp_path: Path) -> None:
    text = """\
- id: r1
  title: t
  category: data_exfiltration
  severity: low
  over: events
  window: {days: 0, aggregate: sum}
  scope: {roles: [moderatr], not_roles: admin, privileged: maybe}
  where:
    action: email_send
    bytes: {">=": lots}
    attrs.recipient_domain: {in: []}
    account.high_profile: "yes"
    country: null
    attrs.bad-key: 1
  threshold: {sum: outcome, value: 3}
- id: r2
  title: t
  category: data_exfiltration
  severity: low
  over: features
  where: {feature: removable_bytes, op: ">", value: 1GB, aggregate: median}
  threshold: {count: events, value: 1}
"""
    messages = "\n".join(m for _, m in _problems(tmp_path, text))
    for fragment in (
        "window.days must be a whole number from 1 to 366, not 0",
        "window.aggregate is for features rules",
        "unknown role 'moderatr' (did you mean 'moderator'?)",
        "scope.privileged must be true or false",
        "filter on bytes: 'lots' is not a number",
        "filter on attrs.recipient_domain: 'in' needs a non-empty list",
        "filter on account.high_profile: 'yes' is not true or false",
        "use {exists: false} to match a missing one",
        "unknown event field 'attrs.bad-key'",
        "sum needs a numeric field, and outcome is text",
        "aggregate 'median' is not one of sum, mean, max, min",
        "'threshold' is for events rules",
    ):
        assert fragment in messages, fragment


def test_yaml_scalars_follow_the_core_schema(tmp_path: Path) -> None:
    text = """\
id: norway
title: Logins from Norway (NO must stay text) over a size given as text
category: credential_sharing
severity: low
over: events
where:
  action: login
  country: [NO, SE]
threshold: {sum: bytes, value: 1.5 GiB}
"""
    [rule] = load([_write(tmp_path, text)])
    assert rule.filters[0].values == ("NO", "SE")
    assert rule.threshold == Threshold("sum", "bytes", ">=", 1.5 * 1024**3)
    rules, errors = read_text(
        "id: x\ntitle: t\ncategory: paid_reversal\nseverity: low\n"
        "over: features\nwhere: [favourable_decisions > 1e2]\n"
    )
    assert not errors
    assert rules[0].comparisons[0].value == 100.0


def test_rules_round_trip_through_dicts() -> None:
    rules, errors = read_text(builtin_text(), "<builtin>")
    assert not errors
    for rule in rules:
        again = Rule.from_dict(rule.to_dict())
        assert again == rule, rule.id
        assert again.to_dict() == rule.to_dict()


def test_from_dict_raises_all_problems_of_a_plain_dict() -> None:
    with pytest.raises(RuleErrors) as raised:
        Rule.from_dict({"id": "x", "over": "features", "where": "nonsense"}, file="api")
    reasons = {e.reason for e in raised.value.errors}
    assert "missing required key 'title'" in reasons
    assert "missing required key 'category'" in reasons
    assert any(r.startswith("cannot read condition 'nonsense'") for r in reasons)
    assert all(e.file == "api" and e.line is None for e in raised.value.errors)


def test_starter_pack_is_sound_and_covers_every_family() -> None:
    rules = load(builtin=True)
    assert len(rules) >= len(SCENARIOS)
    assert {r.category for r in rules} == set(SCENARIOS)
    assert all(r.file == "<builtin:starter>" and r.line for r in rules)
    assert all(r.title and r.evidence_actions for r in rules)
    assert {r.over for r in rules} == {"features", "events"}
