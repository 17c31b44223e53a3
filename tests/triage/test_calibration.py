"""Learning from overrides on a real case store (SQLite and PostgreSQL): the report of where
analysts and the engine disagree, the bounded suggestion, and the learned adjustment that
is applied on purpose, named on every rating it makes, and reverted to identical ratings."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from custodes.access.principal import Principal
from custodes.access.roles import Role
from custodes.audit import verify
from custodes.cli.app import app
from custodes.errors import InputError, PermissionDeniedError
from custodes.model.vocabulary import BANDS
from custodes.store.cases import CaseStore
from custodes.store.schema import AuditEntry
from custodes.triage import adjustment, calibration
from custodes.triage.calibration import MIN_OVERRIDES, StoredRating, build_report
from custodes.triage.escalation import EscalationInput
from custodes.triage.intake import EscalationService
from custodes.triage.policy import Policy, PolicyError, default_text
from custodes.triage.policy import load_policy as _default_policy
from custodes.triage.rating import Rating, RatingContext, rate
from custodes.triage.reading import read
from tests.cases.helpers import add_user

RECEIVED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def load_policy() -> Policy:
    """The default policy with the rules alone: these tests pin how an adjustment moves the
    rules' arithmetic, so the band model's safety net is kept out of them (a deciding model
    is refused, see test_apply_is_refused_while_the_band_model_decides)."""
    return replace(_default_policy(), text_model="off")


BODY = {
    "en": "Please review the posts from this account.",
    "es": "Por favor revisen las publicaciones de esta cuenta, gracias.",
}
SOURCES = ("ngo", "user_report", "press", "internal_staff")
runner = CliRunner()
_ids = itertools.count(1)


@pytest.fixture
def tom(cases: CaseStore) -> Principal:
    return add_user(cases, "tom", Role.triage_analyst)


@pytest.fixture
def service(cases: CaseStore) -> EscalationService:
    return EscalationService(cases, policy=load_policy())


def record(category: str, source: str, language: str = "en") -> dict[str, Any]:
    """A neutral text, so the reporter's category decides the category (checked)."""
    n = next(_ids)
    return {
        "escalation_id": f"esc-{n}",
        "received_at": (RECEIVED + timedelta(minutes=n)).isoformat(),
        "source": source,
        "body": BODY[language],
        "reported_category": category,
    }


def stored(
    service: EscalationService,
    who: Principal,
    category: str,
    shifts: list[int],
    *,
    sources: tuple[str, ...] = SOURCES,
    language: str = "en",
) -> None:
    """One escalation per shift; a non-zero shift is an override that many bands more
    urgent (+) or less (-) than the engine's band."""
    for i, shift in enumerate(shifts):
        made, _ = service.submit(who, record(category, sources[i % len(sources)], language))
        assert made.category == category  # else the scenario is not the one described
        if shift:
            band = BANDS[BANDS.index(made.band) - shift]
            service.override(who, made.id, made.version, band, f"analyst judgement {shift:+d}")


def background(service: EscalationService, who: Principal) -> None:
    """Ratings analysts accepted, and two overrides pulling in opposite directions."""
    for category in ("hate", "fraud", "harassment"):
        stored(service, who, category, [0] * 5)
    stored(service, who, "hate", [-1])
    stored(service, who, "fraud", [+1])


def probe(policy: Policy, category: str = "misinformation", source: str = "ngo") -> Rating:
    fixed = {"escalation_id": "probe", "received_at": RECEIVED.isoformat()}
    e = EscalationInput.from_dict(record(category, source) | fixed)
    return rate(e, read(e.text, language_hint=e.language), RatingContext(), policy)


def factor(rating: Rating, name: str) -> str:
    return next(f.input for f in rating.factors if f.name == name)


# --------------------------------------------------------------------------- the report


def test_a_consistently_raised_category_is_found_and_only_its_severity_moves(
    service: EscalationService, tom: Principal, cases: CaseStore
) -> None:
    stored(service, tom, "misinformation", [+1] * (MIN_OVERRIDES + 2))
    background(service, tom)
    base = load_policy()
    found = calibration.report(tom, cases, base)

    assert found.policy_version == base.version and found.other_versions == {}
    assert found.ratings == MIN_OVERRIDES + 2 + 17
    assert (found.overridden, found.up, found.down) == (MIN_OVERRIDES + 4, MIN_OVERRIDES + 3, 1)
    assert sum(sum(row.values()) for row in found.matrix.values()) == found.ratings
    off_diagonal = sum(n for e, row in found.matrix.items() for a, n in row.items() if a != e)
    assert off_diagonal == found.overridden
    assert found.matrix["P4"]["P3"] == MIN_OVERRIDES + 2  # misinformation: engine P4

    by_factor = {(s.factor, s.value): s for s in found.factors}
    mis = by_factor["severity", "misinformation"]
    assert (mis.ratings, mis.overridden, mis.up, mis.down) == (MIN_OVERRIDES + 2,) * 3 + (0,)
    assert mis.mean_shift == 1.0
    assert mis.share_of_overrides == round((MIN_OVERRIDES + 2) / found.overridden, 4)
    assert by_factor["severity", "hate"].mean_shift == pytest.approx(-1 / 6, abs=1e-3)
    ngo = next(s for s in found.by_source if s.value == "ngo")
    assert by_factor["credibility", "ngo"].ratings == ngo.ratings > 0
    assert {s.value for s in found.by_language} == {"en"}
    assert [s.value for s in found.by_category] == ["fraud", "harassment", "hate", "misinformation"]

    [suggestion] = found.suggestions
    assert suggestion.field == "severity.misinformation"
    assert suggestion.current == base.severity["misinformation"]
    assert suggestion.proposed == suggestion.current + 1
    assert suggestion.overrides == suggestion.up == MIN_OVERRIDES + 2
    assert found.held_back == []

    version = adjustment.next_version(Path("/nonexistent"), base)
    shown = calibration.diff(base, calibration.preview(base, found.suggestions, version))
    removed = [line for line in shown if line.startswith("-") and not line.startswith("---")]
    added = [line for line in shown if line.startswith("+") and not line.startswith("+++")]
    old, new = base.severity["misinformation"], base.severity["misinformation"] + 1
    assert f"-  misinformation: {old}" in removed and f"+  misinformation: {new}" in added
    assert len(removed) == len(added) == 2  # the severity and the version, nothing else


def test_a_consistently_raised_source_moves_its_credibility_not_a_severity(
    service: EscalationService, tom: Principal, cases: CaseStore
) -> None:
    categories = ("hate", "fraud", "harassment", "misinformation")
    for category in categories:  # every category, raised only when this source sends it
        stored(service, tom, category, [+1, +1], sources=("internal_staff",))
        stored(service, tom, category, [0] * 4, sources=("ngo", "press"))
    base = load_policy()
    found = calibration.report(tom, cases, base)
    [suggestion] = found.suggestions
    assert suggestion.field == "credibility.sources.internal_staff"
    assert suggestion.proposed == base.credibility.sources["internal_staff"] + 0.5
    staff = next(s for s in found.by_source if s.value == "internal_staff")
    assert (staff.ratings, staff.overridden, staff.mean_shift) == (8, 8, 1.0)


def test_below_the_minimum_no_suggestion_but_the_report_shows_them(
    service: EscalationService, tom: Principal, cases: CaseStore
) -> None:
    stored(service, tom, "misinformation", [+1] * (MIN_OVERRIDES - 1))
    found = calibration.report(tom, cases, load_policy())
    assert found.overridden == found.up == MIN_OVERRIDES - 1
    mis = next(s for s in found.factors if (s.factor, s.value) == ("severity", "misinformation"))
    assert mis.overridden == MIN_OVERRIDES - 1
    assert found.suggestions == [] and found.held_back == []


@pytest.mark.parametrize(("up", "down"), [(4, 4), (6, 2)])
def test_inconsistent_overrides_suggest_nothing(
    service: EscalationService, tom: Principal, cases: CaseStore, up: int, down: int
) -> None:
    stored(service, tom, "hate", [+1] * up + [-1] * down)  # hate rates P3: room both ways
    found = calibration.report(tom, cases, load_policy())
    assert (found.up, found.down) == (up, down)
    assert found.suggestions == []
    [held] = [h for h in found.held_back if h.field == "severity.hate"]
    assert held.reason.startswith("not consistent")


def test_reading_the_report_needs_escalation_read(cases: CaseStore) -> None:
    ana = add_user(cases, "ana", Role.investigator)
    with pytest.raises(PermissionDeniedError):
        calibration.report(ana, cases, load_policy())


# --------------------------------------------------------------------------- apply, revert


def test_apply_names_the_version_on_later_ratings_and_revert_restores_them(
    service: EscalationService, tom: Principal, cases: CaseStore, data_dir: Path
) -> None:
    stored(service, tom, "misinformation", [+1] * (MIN_OVERRIDES + 2))
    background(service, tom)
    base = load_policy()
    assert adjustment.active_policy(data_dir, base).policy is base  # no folder: untouched
    before, other_before = probe(base), probe(base, "hate", "press")
    assert "adjustment" not in {f.name for f in before.factors}

    found = calibration.report(tom, cases, base)
    with pytest.raises(InputError, match="reason"):
        adjustment.apply(data_dir, base, found.suggestions, analyst="tom", reason=" ")
    entry = adjustment.apply(
        data_dir, base, found.suggestions, analyst="tom", reason="analysts agree", store=cases
    )
    assert entry.version == f"{base.version}+adj.0001"
    assert Path(entry.file or "").name == "0001.yaml"
    assert [c.render() for c in entry.changes] == [
        f"severity.misinformation {base.severity['misinformation']}→"
        f"{base.severity['misinformation'] + 1}"
    ]

    adjusted = adjustment.active_policy(data_dir, base).policy
    after = probe(adjusted)
    assert after.policy_version == entry.version
    assert after.score > before.score
    assert factor(after, "severity") == f"misinformation → {base.severity['misinformation'] + 1}"
    assert entry.version in factor(after, "adjustment")
    assert round(sum(f.contribution for f in after.factors), 2) == after.score
    other = probe(adjusted, "hate", "press")  # unchanged in score, still never silent
    assert other.score == other_before.score and entry.version in factor(other, "adjustment")

    made, _ = EscalationService(cases, policy=adjusted).submit(tom, record("misinformation", "ngo"))
    assert made.engine.policy_version == entry.version
    assert any(f.name == "adjustment" and entry.version in f.input for f in made.factors)

    # The lesson is not learned twice: the stored overrides were of the base policy.
    again = calibration.report(tom, cases, adjusted, base)
    assert again.suggestions == [] and again.ratings == 1
    assert again.other_versions == {base.version: found.ratings}

    back = adjustment.revert(data_dir, base, 0, analyst="tom", reason="undo", store=cases)
    assert back.version == base.version and back.changes == ()
    restored = adjustment.active_policy(data_dir, base).policy
    assert restored == base
    assert probe(restored) == before and probe(restored, "hate", "press") == other_before

    forward = adjustment.revert(data_dir, base, 1, analyst="tom", reason="redo", store=cases)
    assert forward.version == entry.version and forward.number == 3
    assert probe(adjustment.active_policy(data_dir, base).policy) == after

    assert [(e.number, e.kind, e.reverts_to) for e in adjustment.history(data_dir)] == [
        (1, "apply", None),
        (2, "revert", 0),
        (3, "revert", 1),
    ]
    with cases.read() as session:
        audited = session.execute(
            select(AuditEntry.action, AuditEntry.target_id, AuditEntry.reason)
            .where(AuditEntry.target_type == "triage_policy")
            .order_by(AuditEntry.seq)
        ).all()
    assert [tuple(a) for a in audited] == [
        ("triage.adjustment.apply", entry.version, "analysts agree"),
        ("triage.adjustment.revert", base.version, "undo"),
        ("triage.adjustment.revert", entry.version, "redo"),
    ]
    assert verify(cases).ok


def test_a_suggestion_never_drifts_more_than_one_step_from_the_base(data_dir: Path) -> None:
    base = load_policy()
    old = base.severity["misinformation"]
    once = replace(
        base,
        version=f"{base.version}+adj.0001",
        severity=base.severity | {"misinformation": old + 1},
    )
    raised = [_rating(once, "misinformation", +1) for _ in range(MIN_OVERRIDES + 2)]
    found = build_report(raised, once, base)
    assert found.suggestions == []
    [held] = found.held_back
    assert held.field == "severity.misinformation" and "base policy" in held.reason
    # Against the base policy itself the same overrides do make a one-step suggestion.
    plain = [replace(r, policy_version=base.version) for r in raised]
    assert [s.proposed for s in build_report(plain, base, base).suggestions] == [old + 1]


def test_overrides_that_fit_two_knobs_go_to_the_more_specific_one() -> None:
    """Every misinformation report came from NGOs, which also sent much else, accepted:
    misinformation explains the overrides wholly, NGOs only in part."""
    base = load_policy()
    rows = [_rating(base, "misinformation", +1, "ngo") for _ in range(8)]
    rows += [_rating(base, c, 0, "ngo") for c in ("hate", "fraud") for _ in range(6)]
    ngo = build_report(rows, base, base).by_source[0]
    assert (ngo.value, ngo.overridden, ngo.ratings) == ("ngo", 8, 20)  # would qualify alone
    assert [s.field for s in build_report(rows, base, base).suggestions] == [
        "severity.misinformation"
    ]


def test_a_few_overrides_in_a_large_agreed_group_move_nothing() -> None:
    base = load_policy()
    n = MIN_OVERRIDES + 2
    few = [_rating(base, "hate", +1, s) for s in SOURCES for _ in range(n // 4)]
    rows = few + [_rating(base, "hate", 0, s) for s in SOURCES for _ in range(n)]
    found = build_report(rows, base, base)
    assert found.up == len(few) >= MIN_OVERRIDES and found.suggestions == []
    [held] = found.held_back
    assert held.field == "severity.hate" and held.reason.startswith(f"only {len(few)} of")


def _rating(policy: Policy, category: str, shift: int, source: str = "ngo") -> StoredRating:
    engine = "P3"
    return StoredRating(
        escalation_pk=next(_ids),
        engine_band=engine,
        analyst_band=BANDS[BANDS.index(engine) - shift],
        category=category,
        source=source,
        language="en",
        fast_lane=None,
        policy_version=policy.version,
        factors=(("severity", f"{category} → {policy.severity[category]}", 10.0),),
    )


def test_hand_edited_or_stale_adjustments_are_never_applied_silently(data_dir: Path) -> None:
    base = load_policy()
    where = adjustment.folder(data_dir)
    where.mkdir(parents=True)
    text = (
        "number: 1\nkind: apply\nversion: x+adj.0001\nbase_version: '{base}'\n"
        "created_at: '2026-11-21T10:00:00+00:00'\nanalyst: tom\nreason: test\nchanges:\n"
        "  - field: severity.hate\n    base: 3\n    value: {value}\n"
    )
    (where / "0001.yaml").write_text(text.format(base=base.version, value=5))
    with pytest.raises(PolicyError) as caught:
        adjustment.active_policy(data_dir, base)
    assert "0001.yaml:11: field 'changes[0].value'" in str(caught.value)

    (where / "0001.yaml").write_text(text.format(base="1999.01", value=4))
    active = adjustment.active_policy(data_dir, base)
    assert active.policy is base and active.warning and "1999.01" in active.warning


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def env(cases: CaseStore, case_url: str) -> dict[str, str]:
    return {"CUSTODES_DATABASE_URL": case_url, "CUSTODES_USER": "tom"}


def test_cli_reports_applies_rates_with_the_version_and_reverts(
    service: EscalationService,
    tom: Principal,
    cases: CaseStore,
    env: dict[str, str],
    data_dir: Path,
    tmp_path: Path,
) -> None:
    stored(service, tom, "misinformation", [+1] * (MIN_OVERRIDES + 2))
    add_user(cases, "ana", Role.investigator)
    rules = tmp_path / "rules.yaml"
    rules.write_text(default_text().replace("use: lift", "use: off"), encoding="utf-8")
    where = ["--data-dir", str(data_dir), "--policy", str(rules)]
    path = tmp_path / "probe.jsonl"
    path.write_text(json.dumps(record("misinformation", "ngo")) + "\n")

    def rated() -> dict[str, Any]:
        result = runner.invoke(app, ["triage", "rate", str(path), *where, "-f", "json"], env=env)
        assert result.exit_code == 0, result.output
        out: dict[str, Any] = json.loads(result.stdout)[0]
        return out

    original = rated()
    result = runner.invoke(app, ["triage", "calibrate", *where, "-f", "json"], env=env)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert [s["field"] for s in shown["suggestions"]] == ["severity.misinformation"]
    assert any(line.startswith("+  misinformation:") for line in shown["diff"])
    assert not adjustment.folder(data_dir).exists()  # showing changed nothing

    table = runner.invoke(app, ["triage", "calibrate", *where], env=env)
    assert table.exit_code == 0, table.output
    assert "severity.misinformation: 2 -> 3" in table.stdout

    refused = runner.invoke(
        app,
        ["triage", "calibrate", "--apply", "--reason", "r", *where],
        env=env | {"CUSTODES_USER": "ana"},
    )
    assert isinstance(refused.exception, PermissionDeniedError)

    args = ["triage", "calibrate", "--apply", "--reason", "analysts agree", *where, "-f", "json"]
    applied = runner.invoke(app, args, env=env)
    assert applied.exit_code == 0, applied.output
    version = json.loads(applied.stdout)["version"]
    adjusted = rated()
    assert adjusted["score"] > original["score"]
    assert any(f["name"] == "adjustment" and version in f["input"] for f in adjusted["factors"])
    wide = env | {"COLUMNS": "400"}  # one line per row, so a cell is not folded
    for_people = runner.invoke(app, ["triage", "rate", str(path), *where], env=wide)
    assert f"adjustment {version}" in for_people.stdout  # shown although it adds 0 points

    listed = runner.invoke(app, ["triage", "calibrate", "--history", *where, "-f", "json"], env=env)
    assert [(e["version"], e["in_force"]) for e in json.loads(listed.stdout)] == [(version, True)]

    args = ["triage", "calibrate", "--revert", "0", "--reason", "undo", *where, "-f", "json"]
    reverted = runner.invoke(app, args, env=env)
    assert reverted.exit_code == 0, reverted.output
    assert rated() == original


def test_apply_is_refused_while_the_band_model_decides(
    service: EscalationService, tom: Principal, cases: CaseStore, data_dir: Path
) -> None:
    """A severity change would move no band the model decides: refused, not silently kept."""
    stored(service, tom, "misinformation", [+1] * (MIN_OVERRIDES + 2))
    deciding = replace(_default_policy(), text_model="decide")
    found = calibration.report(tom, cases, load_policy())
    assert found.suggestions
    with pytest.raises(InputError, match="text_model: decide"):
        adjustment.apply(data_dir, deciding, found.suggestions, analyst="tom", reason="r")
    assert not adjustment.folder(data_dir).exists()
