"""detect → alerts → risk → explain → evaluate through the CLI, on a small simulated org."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from custodes.cli.app import app
from custodes.errors import InputError
from custodes.model.vocabulary import SCENARIOS

runner = CliRunner()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("detect") / "data"
    demo = runner.invoke(
        app, ["demo", "--staff", "120", "--days", "30", "--data-dir", str(data), "-f", "json"]
    )
    assert demo.exit_code == 0, demo.output
    run = runner.invoke(app, ["detect", "--data-dir", str(data), "-f", "json"])
    assert run.exit_code == 0, run.output
    return data


def _json(args: list[str]) -> Any:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_alerts_have_the_contract_fields_and_evidence(data: Path) -> None:
    alerts = _json(["alerts", "--data-dir", str(data), "-f", "json", "--limit", "20"])
    assert alerts, "a simulated organisation with insiders produces alerts"
    assert list(alerts[0]) == [
        "alert_id",
        "actor_id",
        "detector",
        "category",
        "severity",
        "score",
        "window_start",
        "window_end",
        "reasons",
        "evidence_event_ids",
        "pattern",  # extensions after the contract's fields
        "suppressed",
    ]
    scores = [a["score"] for a in alerts]
    assert scores == sorted(scores, reverse=True)
    assert all(a["category"] in SCENARIOS and a["reasons"] for a in alerts)
    assert all(a["evidence_event_ids"] for a in alerts)


def test_risk_ranks_staff_and_explain_decomposes_exactly(data: Path) -> None:
    ranked = _json(["risk", "--data-dir", str(data), "-f", "json", "--limit", "5"])
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    assert list(ranked[0]) == [
        "actor_id",
        "risk_score",
        "rank",
        "level",
        "categories",
        "reasons",
        "window_start",
        "window_end",
    ]
    top = ranked[0]
    explained = _json(["explain", top["actor_id"], "--data-dir", str(data), "-f", "json"])
    assert explained["risk_score"] == top["risk_score"]
    total = sum(c["points"] for c in explained["contributions"])
    assert total == pytest.approx(top["risk_score"], abs=0.05)


def test_evaluate_reports_every_scenario_and_overall(data: Path) -> None:
    rows = _json(["evaluate", "--data-dir", str(data), "-f", "json"])
    assert [r["scenario"] for r in rows] == [*SCENARIOS, "overall"]
    overall = rows[-1]
    assert overall["insiders"] >= len(SCENARIOS)
    assert 0 <= overall["mean_percentile"] <= 100


def test_incremental_detect_keeps_earlier_alerts(data: Path) -> None:
    before = _json(["alerts", "--data-dir", str(data), "-f", "json", "--limit", "100000"])
    last = max(a["window_start"] for a in before)[:10]
    run = _json(["detect", "--since", last, "--data-dir", str(data), "-f", "json"])
    assert run["since"] == last
    after = _json(["alerts", "--data-dir", str(data), "-f", "json", "--limit", "100000"])
    kept = {a["alert_id"] for a in before if a["window_start"][:10] < last}
    assert kept <= {a["alert_id"] for a in after}


def test_bad_options_are_clear_errors(data: Path) -> None:
    result = runner.invoke(app, ["detect", "--since", "yesterday", "--data-dir", str(data)])
    assert result.exit_code != 0
    result = runner.invoke(app, ["detect", "--detector", "crystal-ball", "--data-dir", str(data)])
    assert result.exit_code != 0


def test_verdicts_mute_repeats_and_calibrate_applies_only_when_asked(
    data: Path, tmp_path: Path
) -> None:
    mine = tmp_path / "data"
    shutil.copytree(data, mine)
    d = ["--data-dir", str(mine)]
    alerts = _json(["alerts", *d, "-f", "json", "--limit", "500"])
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in alerts:
        by_key.setdefault((a["actor_id"], a["pattern"]), []).append(a)
    series = max(by_key.values(), key=len)
    assert len(series) >= 3, "some actor has three alerts of one pattern"
    series.sort(key=lambda a: a["window_end"])
    for a in series[:2]:
        out = _json(
            ["verdict", a["alert_id"], "false_positive", "--reason", "rota", *d, "-f", "json"]
        )
        assert out["verdict"] == "false_positive"
    visible = {a["alert_id"] for a in _json(["alerts", *d, "-f", "json", "--limit", "500"])}
    assert series[2]["alert_id"] not in visible
    everything = _json(["alerts", *d, "-f", "json", "--limit", "500", "--suppressed"])
    muted = {a["alert_id"]: a["suppressed"] for a in everything if a["suppressed"]}
    assert "repeat false positive" in muted[series[2]["alert_id"]]
    history = _json(["verdicts", "--alert", series[0]["alert_id"], *d, "-f", "json"])
    assert [h["reason"] for h in history] == ["rota"]
    # Too few verdicts for a threshold: nothing proposed, and --apply refuses cleanly.
    assert _json(["calibrate", *d, "-f", "json"]) == []
    refused = runner.invoke(app, ["calibrate", "--apply", "--reason", "x", *d])
    assert isinstance(refused.exception, InputError)  # main() prints it and exits 2
    assert "nothing to calibrate" in str(refused.exception)
    bad = runner.invoke(app, ["verdict", "a-nope", "false_positive", "--reason", "x", *d])
    assert isinstance(bad.exception, InputError)
    assert "no alert 'a-nope'" in str(bad.exception)


def test_evaluate_with_a_missing_labels_file_names_the_file(data: Path, tmp_path: Path) -> None:
    missing = tmp_path / "labels.csv"
    result = runner.invoke(app, ["evaluate", "--labels", str(missing), "--data-dir", str(data)])
    assert isinstance(result.exception, InputError)
    assert str(missing) in str(result.exception)
