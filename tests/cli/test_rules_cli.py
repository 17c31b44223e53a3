"""`custodes rules validate | list | test` as authors and pipelines call them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from custodes.cli.app import app
from custodes.detect.features import build_features
from custodes.store.events import EventStore
from tests.detect.test_features import Org

runner = CliRunner()

GOOD = """\
name: mine
rules:
  - id: usb
    title: Copied to USB
    category: data_exfiltration
    severity: high
    over: events
    where: {action: copy_to_removable}
  - id: fast
    title: Fast decisions
    category: productivity_gaming
    severity: low
    over: features
    where: [decision_fast_share >= 0.5]
"""
BAD = """\
- id: one
  title: t
  category: exfil
  severity: high
  over: events
  where: {action: copy_to_removable}
- id: two
  title: t
  category: data_exfiltration
  severity: high
  over: features
  where: [removable_byte > 5]
"""


def _files(tmp_path: Path) -> tuple[Path, Path]:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text(BAD, encoding="utf-8")
    return good, bad


def test_validate_lists_every_problem_with_file_and_line(tmp_path: Path) -> None:
    good, bad = _files(tmp_path)
    ok = runner.invoke(app, ["rules", "validate", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "ok: 2 rule(s) in 1 file(s)" in ok.stdout
    builtin = runner.invoke(app, ["rules", "validate"])
    assert builtin.exit_code == 0, builtin.output
    failed = runner.invoke(app, ["rules", "validate", str(good), str(bad)])
    assert failed.exit_code == 2
    lines = failed.stderr.splitlines()
    assert lines[0].startswith(f"error: {bad}:3: rule 'one': field 'category': category 'exfil'")
    assert lines[1].startswith(f"error: {bad}:12: rule 'two': field 'where': unknown feature")
    assert "did you mean 'removable_bytes'?" in lines[1]
    assert lines[2] == "2 problem(s) in 2 file(s)"
    as_json = runner.invoke(app, ["rules", "validate", str(bad), "-f", "json"])
    assert as_json.exit_code == 2
    report = json.loads(as_json.stdout)
    assert report["rules"] == 0
    assert [(e["line"], e["rule"], e["field"]) for e in report["errors"]] == [
        (3, "one", "category"),
        (12, "two", "where"),
    ]


def test_list_shows_the_configured_or_named_packs(tmp_path: Path) -> None:
    good, _ = _files(tmp_path)
    listed = runner.invoke(app, ["rules", "list", "--pack", str(good), "-f", "json"])
    assert listed.exit_code == 0, listed.output
    records = json.loads(listed.stdout)
    assert list(records[0]) == [
        "id",
        "category",
        "severity",
        "over",
        "title",
        "source",
    ]
    assert [(r["id"], r["category"], r["severity"]) for r in records] == [
        ("usb", "data_exfiltration", "high"),
        ("fast", "productivity_gaming", "low"),
    ]
    assert records[0]["source"] == f"{good}:3"
    starter = runner.invoke(app, ["rules", "list", "-f", "csv"])
    assert starter.exit_code == 0, starter.output
    assert starter.stdout.startswith("id,category,severity,over,title,source\n")
    assert "self-grant-non-admin,privilege_abuse,critical,events," in starter.stdout
    both = runner.invoke(app, ["rules", "list", "--pack", str(good), "--builtin", "-f", "json"])
    assert len(json.loads(both.stdout)) == len(records) + len(
        json.loads(runner.invoke(app, ["rules", "list", "-f", "json"]).stdout)
    )


def _store(data: Path, tmp_path: Path, *, features: bool) -> None:
    org = Org()
    org.person("thief")
    org.person("honest")
    for day in ("03", "04"):
        org.event(f"2026-02-{day}T10:00:00Z", "thief", "copy_to_removable", bytes=10)
    org.event("2026-02-10T10:00:00Z", "honest", "copy_to_removable", bytes=10)
    with EventStore.open(data) as store:
        org.load(store, tmp_path / "in")
        store.execute(
            'INSERT INTO labels (actor_id, scenario, start, "end") VALUES '
            "('thief', 'data_exfiltration', '2026-02-01', '2026-02-03 23:00')"
        )
        if features:
            build_features(store)


def test_test_runs_rules_on_the_store_and_scores_them_against_labels(tmp_path: Path) -> None:
    good, _ = _files(tmp_path)
    data = tmp_path / "data"
    _store(data, tmp_path, features=True)
    result = runner.invoke(app, ["rules", "test", str(good), "--data-dir", str(data), "-f", "json"])
    assert result.exit_code == 0, result.output
    usb, fast = json.loads(result.stdout)
    assert usb == {
        "rule": "usb",
        "category": "data_exfiltration",
        "severity": "high",
        "actor_days": 3,
        "actors": 2,
        "labelled_days": 1,
        "precision": 0.333,
        "insiders_found": 1,
        "insiders": 1,
    }
    assert fast["actor_days"] == 0 and fast["precision"] is None and fast["insiders"] == 0
    since = runner.invoke(
        app,
        [
            "rules",
            "test",
            str(good),
            "--data-dir",
            str(data),
            "--since",
            "2026-02-04",
            "-f",
            "json",
        ],
    )
    assert json.loads(since.stdout)[0]["actor_days"] == 2
    table = runner.invoke(app, ["rules", "test", str(good), "--data-dir", str(data)])
    assert table.exit_code == 0, table.output
    assert "usb" in table.stdout and "1/1" in table.stdout


def test_test_without_features_says_to_detect_first(tmp_path: Path) -> None:
    good, bad = _files(tmp_path)
    data = tmp_path / "data"
    _store(data, tmp_path, features=False)
    proc = subprocess.run(
        [sys.executable, "-m", "custodes", "rules", "test", str(good), "--data-dir", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: no features_actor_day table")
    assert "run `custodes detect` first" in proc.stderr
    broken = runner.invoke(app, ["rules", "test", str(bad), "--data-dir", str(data)])
    assert broken.exit_code == 2
    assert "rule 'one'" in broken.stderr
