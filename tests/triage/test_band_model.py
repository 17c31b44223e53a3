"""The learned band model: its arithmetic equals scikit-learn's, the shipped file names the
data it learned from, bad files and policies are refused with the file named, and in a
rating it decides the band while fast lanes and floors still raise it and its words show."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from custodes.cli.app import app
from custodes.errors import InputError
from custodes.triage.band_model import (
    BandModel,
    BandModelError,
    builtin_model,
    load_model,
    save_model,
    terms,
)
from custodes.triage.band_training import read_labelled, train
from custodes.triage.escalation import EscalationInput
from custodes.triage.evaluation import rate_record
from custodes.triage.policy import PolicyError, default_text, load_policy, policy_from_text

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def records(name: str) -> list[dict[str, Any]]:
    text = (DATA / f"labelled_{name}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_terms_are_accent_and_case_free_words_pairs_and_the_source() -> None:
    assert terms("Vou te MATAR amanhã", "user_report") == [
        "vou",
        "te",
        "matar",
        "amanha",
        "vou te",
        "te matar",
        "matar amanha",
        "source:user_report",
    ]


def test_the_arithmetic_is_scikit_learns() -> None:
    """Rating never imports scikit-learn, so its pure-Python probabilities must be the
    fitted model's own."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    from custodes.triage import band_training

    train_rows, probe = records("dev"), records("dev2")[:40]
    model = train(train_rows, version="t")
    texts = [terms(EscalationInput.from_dict(r).text, r["source"]) for r in train_rows]
    vec = TfidfVectorizer(analyzer=lambda f: f, sublinear_tf=True)
    x = vec.fit_transform(texts)
    fitted = LogisticRegression(C=band_training.C, max_iter=10_000, class_weight="balanced")
    fitted.fit(x, [r["expected_band"] for r in train_rows])
    probe_x = vec.transform([terms(EscalationInput.from_dict(r).text, r["source"]) for r in probe])
    for row, expected in zip(probe, fitted.predict_proba(probe_x), strict=True):
        got = model.opinion(EscalationInput.from_dict(row).text, row["source"])
        assert [got.probabilities[c] for c in fitted.classes_] == pytest.approx(expected, abs=1e-9)


def test_an_opinion_names_the_words_that_pushed_it() -> None:
    model = builtin_model()
    text = "He says he will shoot everyone at the school tomorrow morning, he has a rifle."
    opinion = model.opinion(text, "user_report")
    assert sum(opinion.probabilities.values()) == pytest.approx(1.0)
    # The words alone read this as P2 (a bag of words weighs "he says" as hearsay); the
    # threat-to-life fast lane is what makes the rating P0: why lanes still raise the band.
    assert opinion.band == max(opinion.probabilities, key=opinion.probabilities.__getitem__)
    rating = rate_record(_record(text), load_policy())
    assert rating.band == "P0" and rating.fast_lane == "threat_to_life"
    assert opinion.terms and all(t in terms(text, "user_report") for t, _ in opinion.terms)
    assert all(w > 0 for _, w in opinion.terms)
    assert opinion.describe().startswith(f"{opinion.band} ")
    assert model.opinion(text, "user_report") == opinion  # deterministic


def test_the_shipped_model_names_the_files_it_learned_from() -> None:
    """A labelled file edited without retraining is caught here (retrain with
    `custodes triage train-model`, see docs/triage.md)."""
    model = builtin_model()
    named = {t["file"]: t for t in model.trained_on}
    assert set(named) == {
        "labelled_dev.jsonl",
        "labelled_dev2.jsonl",
        "labelled_dev3.jsonl",
        "labelled_guide.jsonl",
    }
    assert "labelled_dev4.jsonl" not in named and "labelled_holdout.jsonl" not in named
    for name, entry in named.items():
        assert entry["sha256"] == hashlib.sha256((DATA / name).read_bytes()).hexdigest(), name


def test_retraining_from_the_named_files_gives_the_same_bands() -> None:
    model = builtin_model()
    rows, _ = read_labelled([DATA / t["file"] for t in model.trained_on])
    again = train(rows, version="again")
    assert again.vocabulary == model.vocabulary
    for row in records("dev4"):
        text = EscalationInput.from_dict(row).text
        assert again.opinion(text, row["source"]).band == model.opinion(text, row["source"]).band


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    model = train(records("dev"), version="round")
    for name in ("m.json", "m.json.gz"):
        save_model(model, tmp_path / name)
        back = load_model(tmp_path / name)
        assert back.version == "round" and back.vocabulary == model.vocabulary
        text = records("dev2")[0]["body"]
        assert back.opinion(text).probabilities == pytest.approx(
            model.opinion(text).probabilities, abs=1e-5
        )
    assert gzip.decompress((tmp_path / "m.json.gz").read_bytes())[:1] == b"{"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "cannot be read"),
        (b"\x1f\x8bnot gzip", "cannot be read"),
        (b"[1, 2]", "not a band model"),
        (json.dumps({"format": "other"}).encode(), "not a band model"),
        (
            json.dumps(
                {
                    "format": "custodes-band-model/1",
                    "version": "x",
                    "classes": ["P0", "P9"],
                    "terms": ["a"],
                    "idf": [1],
                    "coef": [[1], [1]],
                    "intercept": [0, 0],
                }
            ).encode(),
            "classes must be distinct bands",
        ),
        (
            json.dumps(
                {
                    "format": "custodes-band-model/1",
                    "version": "x",
                    "classes": ["P0", "P1"],
                    "terms": ["a", "b"],
                    "idf": [1],
                    "coef": [[1], [1]],
                    "intercept": [0, 0],
                }
            ).encode(),
            "do not match",
        ),
        (
            json.dumps(
                {
                    "format": "custodes-band-model/1",
                    "version": "x",
                    "classes": ["P0", "P1"],
                    "terms": ["a"],
                    "idf": [1],
                    "coef": [[1], [1]],
                    "intercept": [0],
                }
            ).encode(),
            "do not match",
        ),
        (
            json.dumps({"format": "custodes-band-model/1", "version": "x"}).encode(),
            "malformed field",
        ),
    ],
)
def test_a_bad_model_file_is_refused_naming_it(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(BandModelError, match=reason) as caught:
        load_model(path)
    assert str(path) in str(caught.value)


def test_policy_text_model_is_validated_with_its_line(tmp_path: Path) -> None:
    text = default_text()
    with pytest.raises(PolicyError, match=r"text_model\.use") as caught:
        policy_from_text(text.replace("use: lift", "use: always"), "p.yaml")
    assert "p.yaml" in str(caught.value)
    policy_file = tmp_path / "p.yaml"
    policy_file.write_text(text.replace("file: builtin", "file: missing.json.gz"))
    with pytest.raises(PolicyError, match=r"missing\.json\.gz"):
        load_policy(policy_file)
    save_model(train(records("dev"), version="mine"), tmp_path / "mine.json.gz")
    policy_file.write_text(text.replace("file: builtin", "file: mine.json.gz"))
    mine = load_policy(policy_file)
    assert mine.text_model_file == str(tmp_path / "mine.json.gz")
    rating = rate_record(records("dev2")[0], mine)
    assert any(f.name == "text_model" for f in rating.factors)


def _record(body: str, **extra: Any) -> dict[str, Any]:
    return {
        "received_at": datetime(2026, 11, 20, 10, tzinfo=UTC).isoformat(),
        "source": "user_report",
        "body": body,
        "subject_ids": ["acct:1"],
    } | extra


def test_deciding_the_model_sets_the_band_and_the_factors_still_sum() -> None:
    policy = replace(load_policy(), text_model="decide")
    row = records("dev4")[5]
    rating = rate_record(row, policy)
    opinion = builtin_model().opinion(EscalationInput.from_dict(row).text, row["source"])
    factor = next(f for f in rating.factors if f.name == "text_model")
    assert factor.input == opinion.describe()
    assert round(sum(f.contribution for f in rating.factors), 2) == pytest.approx(rating.score)
    lifted = any(f.name in ("fast_lane", "floor") and f.contribution > 0 for f in rating.factors)
    modifiers = [f for f in rating.factors if f.name in ("reach", "minor", "repeat")]
    if not lifted and not any(f.contribution for f in modifiers):
        assert rating.band == opinion.band


def test_advise_shows_the_opinion_and_leaves_the_rules_band() -> None:
    base = load_policy()
    rules, advise = replace(base, text_model="off"), replace(base, text_model="advise")
    for row in records("dev4")[:30]:
        alone, advised = rate_record(row, rules), rate_record(row, advise)
        assert advised.band == alone.band and advised.score == alone.score
        [factor] = [f for f in advised.factors if f.name == "text_model"]
        assert factor.contribution == 0.0
        assert not any(f.name == "text_model" for f in alone.factors)


def test_a_p0_lane_raises_what_the_model_reads_lower() -> None:
    """A terrorist-content removal order has a one-hour legal clock whatever the words."""
    policy = replace(load_policy(), text_model="decide")
    row = _record(
        "Removal order under Regulation (EU) 2021/784 (TCO): remove the content within one hour.",
        source="regulator",
        jurisdiction="FR",
        deadline=datetime(2026, 11, 20, 11, tzinfo=UTC).isoformat(),
    )
    rating = rate_record(row, policy)
    assert rating.fast_lane == "terrorist_removal_order" and rating.band == "P0"


def test_caps_do_not_hold_a_deciding_model_down() -> None:
    """The rules cap police data requests at P2; an emergency one about a school attack
    tonight is read as urgent by the model, and the cap does not hold it."""
    policy = replace(load_policy(), text_model="decide")
    text = (
        "Exigent request. A user posted a photo of a rifle and 'tomorrow at 8 the school "
        "finds out, nobody leaves alive'. Please provide subscriber information and IP logs "
        "immediately, imminent risk to life."
    )
    decided = rate_record(_record(text, source="law_enforcement"), policy)
    ruled = rate_record(_record(text, source="law_enforcement"), replace(policy, text_model="off"))
    assert decided.band in ("P0", "P1")
    assert not any("at most" in f.input and "P2" in f.input for f in decided.factors)
    assert ruled.band in ("P0", "P1", "P2")  # what the rules alone say, for the record


def test_train_model_cli_writes_a_usable_model(tmp_path: Path) -> None:
    out = tmp_path / "m.json.gz"
    args = ["triage", "train-model", str(DATA / "labelled_dev.jsonl"), "--out", str(out)]
    result = runner.invoke(app, [*args, "--version", "cli-1"])
    assert result.exit_code == 0, result.output
    assert load_model(out).version == "cli-1"
    assert "70 escalations" in result.stdout


def test_training_refuses_bad_labels_naming_row_and_field(tmp_path: Path) -> None:
    rows = records("dev")[:5]
    rows[3] = rows[3] | {"expected_band": "P7"}
    with pytest.raises(InputError, match=r"row 4.*expected_band"):
        train(rows, version="x")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\nnot json\n', encoding="utf-8")
    with pytest.raises(InputError, match="line 2 is not JSON"):
        read_labelled([bad])


def test_a_model_is_a_frozen_value() -> None:
    assert isinstance(builtin_model(), BandModel)
    assert builtin_model() is builtin_model()  # read once per process


def test_the_shipped_policy_lifts_to_p1_at_most_and_never_lowers() -> None:
    """The safety net: a rating goes up to P1 when the model reads P0 or P1, never down,
    never to P0 (that stays the fast lanes'), and says so in its factor."""
    policy = load_policy()
    assert policy.text_model == "lift"
    rules = replace(policy, text_model="off")
    lifted = 0
    for row in records("dev4") + records("dev3"):
        alone, netted = rate_record(row, rules), rate_record(row, policy)
        factor = next(f for f in netted.factors if f.name == "text_model")
        if netted.band == alone.band:
            assert factor.contribution == 0.0
            continue
        lifted += 1
        assert netted.band == "P1" and alone.band in ("P2", "P3", "P4"), row["escalation_id"]
        assert factor.input.endswith("lifts to P1") and factor.input.split()[0] in ("P0", "P1")
        assert round(sum(f.contribution for f in netted.factors), 2) == pytest.approx(netted.score)
    assert lifted > 0


def test_a_text_too_short_for_a_bag_of_words_is_not_acted_on() -> None:
    """Six words are noise to the model (this one reads as P0 on "account is")."""
    policy = load_policy()
    row = _record("Same account is insulting her again.")
    rating = rate_record(row, policy)
    factor = next(f for f in rating.factors if f.name == "text_model")
    assert factor.contribution == 0.0 and "6 words, too few to act on" in factor.input
    assert rating.band == rate_record(row, replace(policy, text_model="off")).band


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=400), source=st.sampled_from([None, "press", "user_report", "x"]))
def test_any_text_gets_a_well_formed_opinion(text: str, source: str | None) -> None:
    opinion = builtin_model().opinion(text, source)
    assert sum(opinion.probabilities.values()) == pytest.approx(1.0)
    assert opinion.band in opinion.probabilities
    assert all(0.0 <= p <= 1.0 for p in opinion.probabilities.values())
    assert opinion.words >= 0 and len(opinion.terms) <= 5
