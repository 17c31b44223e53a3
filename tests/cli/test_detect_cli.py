"""detect → alerts → risk → explain → evaluate through the CLI, on a small simulated org."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from custodes.cli.app import app
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
