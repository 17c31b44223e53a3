"""Scheduled reports and the catalogue: the due reports written once (a second run writes
nothing), kinds the user may not read skipped, and the catalogue listing exactly the
reports written — plus the `custodes report` commands end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from custodes.access.principal import Principal
from custodes.cli.app import app
from custodes.config import Settings
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.reports import catalogue, schedule
from custodes.reports.period import Period
from custodes.reports.sources import Sources
from custodes.store.cases import CaseStore
from custodes.triage.policy import load_policy
from tests.reports.conftest import pdf_text
from tests.reports.world import TODAY, Clock, escalation_world, integrity_world

runner = CliRunner()


@pytest.fixture
def case_url(tmp_path: Path) -> str:
    """The data dir's own SQLite case store, so the CLI finds it (rendering does not
    depend on the database: the builders' tests cover PostgreSQL)."""
    (tmp_path / "data").mkdir()
    return f"sqlite:///{tmp_path / 'data' / 'cases.sqlite'}"


def sources(cases: CaseStore, settings: Settings, who: Principal) -> Sources:
    policy = load_policy()
    return Sources(who, cases, None, Pseudonyms.load(cases, settings), policy, policy)


def test_the_due_reports_are_written_once(
    cases: CaseStore, settings: Settings, people: dict[str, Principal], clock: Clock
) -> None:
    escalation_world(cases, people["tri"], clock)
    data_dir = settings.data_dir
    first = schedule.run(sources(cases, settings, people["admin"]), data_dir, TODAY)
    assert [(r.kind, r.period.label, r.status) for r in first] == [
        ("escalations", "2026-W10", "written"),
        ("integrity", "2026-W10", "written"),
        ("transparency", "2026-W10", "written"),
        ("escalations", "2026-02", "written"),
        ("integrity", "2026-02", "written"),
        ("transparency", "2026-02", "written"),
    ]
    folder = data_dir / "reports" / "2026"
    made = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert len(made) == 10  # four reports as HTML and PDF, two as CSV
    again = schedule.run(sources(cases, settings, people["admin"]), data_dir, TODAY)
    assert {r.status for r in again} == {"exists"}
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == made  # untouched
    # A file gone (deleted, or a crash before it landed) makes that report due again.
    (folder / "integrity-week-2026-W10.pdf").unlink()
    third = schedule.run(sources(cases, settings, people["admin"]), data_dir, TODAY)
    assert [r.name for r in third if r.status == "written"] == ["integrity-week-2026-W10"]
    forced = schedule.run(sources(cases, settings, people["admin"]), data_dir, TODAY, force=True)
    assert {r.status for r in forced} == {"written"}
    # The numbers of a scheduled report are those of the period, whenever it was made.
    assert "9 escalations received" in " ".join(
        pdf_text(folder / "escalations-week-2026-W10.pdf").split()
    )


def test_kinds_the_user_may_not_read_are_skipped(
    cases: CaseStore, settings: Settings, people: dict[str, Principal]
) -> None:
    results = schedule.run(sources(cases, settings, people["ana"]), settings.data_dir, TODAY)
    skipped = {(r.kind, r.reason) for r in results if r.status == "skipped"}
    assert skipped == {
        ("escalations", "ana lacks escalation.read"),
        ("transparency", "ana lacks escalation.read"),
    }
    assert {r.kind for r in results if r.status == "written"} == {"integrity"}


def test_the_catalogue_lists_reports_and_nothing_else(
    cases: CaseStore, settings: Settings, people: dict[str, Principal], clock: Clock
) -> None:
    data_dir = settings.data_dir
    assert catalogue.list_reports(data_dir) == []
    schedule.run(sources(cases, settings, people["aud"]), data_dir, TODAY)
    folder = data_dir / "reports" / "2026"
    (folder / "notes.txt").write_text("not a report")
    (folder / ".escalations-week-2026-W11.pdf.x1.part").write_bytes(b"%PDF half")
    (folder / "escalations-week-2026-13.pdf").write_bytes(b"bad label")
    entries = catalogue.list_reports(data_dir)
    assert sorted((e.kind, e.period.label if e.period else None) for e in entries) == sorted(
        (k, p)
        for k in ("escalations", "integrity", "transparency")
        for p in ("2026-W10", "2026-02")
    )
    week = catalogue.find(data_dir, "escalations-week-2026-W10")
    assert week is not None and week.period == Period.from_label("2026-W10")
    assert set(week.files) == {"html", "pdf"} and week.case_id is None and not week.unmasked
    assert all(p.is_relative_to(data_dir / "reports") for p in week.files.values())
    assert week.size == sum(p.stat().st_size for p in week.files.values())
    csv = catalogue.find(data_dir, "transparency-month-2026-02")
    assert csv is not None and set(csv.files) == {"csv"}
    for bad in ("../cases", "escalations-week-2026-W10/../x", "notes", ""):
        assert catalogue.find(data_dir, bad) is None


def test_cli_writes_each_kind_and_the_schedule(
    cases: CaseStore,
    settings: Settings,
    people: dict[str, Principal],
    clock: Clock,
    tmp_path: Path,
) -> None:
    world = integrity_world(cases, settings, people, clock)
    data = str(settings.data_dir)
    env = {"CUSTODES_PSEUDONYM_KEY": "k" * 32}
    common = ["--data-dir", data, "--as", "root", "-f", "json", "--today", "2026-03-20"]
    made = runner.invoke(app, ["report", "escalations", "--from", "2026-03-04", *common], env=env)
    assert made.exit_code == 0, made.output
    rows = json.loads(made.output)
    assert [Path(r["file"]).name for r in rows] == [
        "escalations-week-2026-W10.html",
        "escalations-week-2026-W10.pdf",
    ]
    assert all(Path(r["file"]).parent == settings.data_dir / "reports" / "2026" for r in rows)
    out = tmp_path / "elsewhere"
    made = runner.invoke(
        app,
        ["report", "integrity", "--period", "month", "--out", str(out), *common],
        env=env,
    )
    assert made.exit_code == 0, made.output
    assert sorted(p.name for p in out.iterdir()) == [
        "integrity-month-2026-02.html",
        "integrity-month-2026-02.pdf",
    ]
    made = runner.invoke(app, ["report", "transparency", *common], env=env)
    assert made.exit_code == 0, made.output
    assert Path(json.loads(made.output)[0]["file"]).name == "transparency-month-2026-02.csv"
    made = runner.invoke(
        app,
        ["report", "case", str(world.closed_case), "--reason", "for HR", *common[:-2]],
        env=env,
    )
    assert made.exit_code == 0, made.output
    case_files = [Path(r["file"]) for r in json.loads(made.output)]
    assert {p.suffix for p in case_files} == {".html", ".pdf"}
    assert case_files[0].parent == settings.data_dir / "reports" / "cases"
    # The schedule: --schedule on the group, or the subcommand; the second writes nothing.
    first = runner.invoke(app, ["report", "--schedule", *common], env=env)
    assert first.exit_code == 0, first.output
    statuses = {(r["name"], r["status"]) for r in json.loads(first.output)}
    assert ("escalations-week-2026-W11", "written") in statuses
    assert ("transparency-month-2026-02", "exists") in statuses  # written above
    second = runner.invoke(app, ["report", "scheduled", *common], env=env)
    assert second.exit_code == 0, second.output
    assert {r["status"] for r in json.loads(second.output)} == {"exists"}
    names = {e.name for e in catalogue.list_reports(settings.data_dir)}
    assert f"case-{world.closed_case}" in " ".join(names)
    # A period still running is refused with one clear line.
    early = runner.invoke(app, ["report", "escalations", "--from", "2026-03-19", *common], env=env)
    assert early.exit_code != 0
    assert "has not ended yet" in str(early.exception) + early.output
    # Group options before a subcommand would be ignored: refused, saying where they go.
    misplaced = runner.invoke(app, ["report", "--data-dir", data, "escalations"], env=env)
    assert misplaced.exit_code == 2
    assert "put --data-dir after `escalations`" in misplaced.output
    # Without a subcommand or --schedule: the help.
    help_ = runner.invoke(app, ["report"], env=env)
    assert help_.exit_code == 0 and "scheduled" in help_.output


def test_report_files_survive_a_failed_render(
    cases: CaseStore,
    settings: Settings,
    people: dict[str, Principal],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from custodes.reports import render

    def broken(_document: str) -> bytes:
        raise RuntimeError("renderer crashed")

    schedule.run(sources(cases, settings, people["admin"]), settings.data_dir, TODAY)
    folder = settings.data_dir / "reports" / "2026"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    monkeypatch.setattr(render, "pdf", broken)
    with pytest.raises(RuntimeError):
        schedule.run(
            sources(cases, settings, people["admin"]), settings.data_dir, TODAY, force=True
        )
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no .part left
