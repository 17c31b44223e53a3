"""The `rules` detector: hits become explained alerts with evidence (one per person, day and
family), every actor-day with features gets a score, incremental runs stay incremental, and
configured packs are loaded (and refused when broken)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from custodes.detect.alert import Severity
from custodes.detect.detection import run_detection
from custodes.detect.detector import DetectContext, registered
from custodes.detect.detectors.rules import RulesDetector
from custodes.detect.features import build_features
from custodes.detect.rules import RuleErrors, read_text, score
from custodes.store.events import EventStore
from tests.detect.test_features import Org

PACK = """\
- id: usb
  title: Copied to USB
  category: data_exfiltration
  severity: medium
  over: events
  where: {action: copy_to_removable}
- id: usb-big
  title: Copied a lot to USB
  category: data_exfiltration
  severity: critical
  over: events
  where: {action: copy_to_removable}
  threshold: {sum: bytes, value: 1GB}
- id: self-grant
  title: Granted themselves a role
  category: privilege_abuse
  severity: high
  over: events
  where: {action: role_grant, attrs.grantee_id: $actor}
"""


def _org(store: EventStore, tmp_path: Path) -> dict[str, str]:
    org = Org()
    org.person("u")
    org.person("quiet")
    ids = {
        "usb1": org.event("2026-02-02T10:00:00Z", "u", "copy_to_removable", bytes=3_000_000_000),
        "usb2": org.event("2026-02-02T10:30:00Z", "u", "copy_to_removable", bytes=1_000),
        "grant": org.event("2026-02-02T11:00:00Z", "u", "role_grant", attrs={"grantee_id": "u"}),
        "late": org.event("2026-02-05T10:00:00Z", "u", "copy_to_removable", bytes=10),
    }
    org.event("2026-02-02T10:00:00Z", "quiet", "login")
    org.event("2026-02-05T10:00:00Z", "quiet", "login")
    org.load(store, tmp_path)
    build_features(store)
    return ids


def _detector() -> RulesDetector:
    rules, errors = read_text(PACK, "pack.yaml")
    assert not errors
    return RulesDetector(rules)


def test_hits_become_one_alert_per_person_day_and_family(store: EventStore, tmp_path: Path) -> None:
    ids = _org(store, tmp_path)
    findings = _detector().run(DetectContext(store, datetime(2026, 2, 6)))
    alerts = {(a.category, a.window_start.date().isoformat()): a for a in findings.alerts}
    assert set(alerts) == {
        ("data_exfiltration", "2026-02-02"),
        ("privilege_abuse", "2026-02-02"),
        ("data_exfiltration", "2026-02-05"),
    }
    both = alerts[("data_exfiltration", "2026-02-02")]
    assert both.detector == "rules"
    assert both.severity is Severity.critical  # the stronger of the two rules
    assert both.reasons[0].startswith("Copied a lot to USB [rule usb-big]: total bytes of")
    assert both.reasons[1].startswith("Copied to USB [rule usb]: copy_to_removable events")
    assert both.evidence_event_ids == (ids["usb1"], ids["usb2"])
    assert both.window_end - both.window_start == datetime(2, 1, 2) - datetime(2, 1, 1)
    assert alerts[("privilege_abuse", "2026-02-02")].evidence_event_ids == (ids["grant"],)
    assert len({a.alert_id for a in findings.alerts}) == len(findings.alerts)


def test_every_actor_day_is_scored_and_hits_score_above_the_alert_line(
    store: EventStore, tmp_path: Path
) -> None:
    _org(store, tmp_path)
    findings = _detector().run(DetectContext(store, datetime(2026, 2, 6)))
    scores = {
        (r["actor_id"], r["day"].isoformat()): r["score"] for r in findings.scores.to_pylist()
    }
    assert scores[("quiet", "2026-02-02")] == 0.0
    assert scores[("quiet", "2026-02-05")] == 0.0
    assert 0.5 < scores[("u", "2026-02-05")] < scores[("u", "2026-02-02")] < 1.0
    assert len(scores) == findings.scores.num_rows == 4
    # Severity sets the level, the margin past the bar raises it a little, never past 1.
    assert score(Severity.low, 0.0) == pytest.approx(0.55)
    assert score(Severity.critical, 0.0) < score(Severity.critical, 2.0) < 1.0
    assert score(Severity.high, 1e9) < score(Severity.critical, 0.0) + 0.1


def test_incremental_run_reports_only_days_since(store: EventStore, tmp_path: Path) -> None:
    _org(store, tmp_path)
    findings = _detector().run(DetectContext(store, datetime(2026, 2, 6), date(2026, 2, 3)))
    assert {a.window_start.date().isoformat() for a in findings.alerts} == {"2026-02-05"}
    assert {r["day"].isoformat() for r in findings.scores.to_pylist()} == {"2026-02-05"}


def test_detection_runs_the_registered_detector_with_configured_packs(
    store: EventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "rules" in registered()
    _org(store, tmp_path)
    pack = tmp_path / "mine.yaml"
    pack.write_text(PACK, encoding="utf-8")
    monkeypatch.setenv("CUSTODES_RULES", str(pack))
    monkeypatch.setenv("CUSTODES_RULES_BUILTIN", "false")
    report = run_detection(store, detectors=["rules"])
    assert report.alerts == {"rules": 3}
    stored = store.fetch_all("SELECT DISTINCT detector, category FROM alerts ORDER BY 2")
    assert stored == [("rules", "data_exfiltration"), ("rules", "privilege_abuse")]
    pack.write_text(PACK.replace("severity: high", "severity: urgent"), encoding="utf-8")
    with pytest.raises(RuleErrors, match=r"mine.yaml:17: rule 'self-grant': field 'severity'"):
        run_detection(store, detectors=["rules"])


def test_starter_pack_is_the_default(store: EventStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUSTODES_RULES", raising=False)
    monkeypatch.delenv("CUSTODES_RULES_BUILTIN", raising=False)
    rules = RulesDetector().rules()
    assert len(rules) >= 8
    assert all(r.file == "<builtin:starter>" for r in rules)
