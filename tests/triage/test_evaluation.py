"""Evaluation of the rating engine against labelled escalations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custodes.triage.evaluation import Outcome, agreement, evaluate, rate_record
from custodes.triage.policy import load_policy

DATA = Path(__file__).parent / "data"
DEV = DATA / "labelled_dev.jsonl"
DEV2 = DATA / "labelled_dev2.jsonl"

# Floors just below what the default policy reaches (2026.11-3: dev 94.3 % exact, 98.6 %
# within one band; dev2 95.0 %, 97.5 %), so that one more miss still passes and a real
# regression fails; raise them with the engine.
# (split, file, overall exact, overall within one, {language: (exact, within one)})
FLOORS = (
    ("dev", DEV, 0.92, 0.97, {"en": (0.86, 0.95), "es": (0.86, 0.9), "pt": (0.95, 0.95)}),
    ("dev2", DEV2, 0.94, 0.96, {"en": (0.9, 0.95), "es": (0.95, 0.95), "pt": (0.92, 0.92)}),
)


def _outcome(expected: str, got: str, language: str = "en", category: str = "hate") -> Outcome:
    return Outcome("x", language, expected, got, "hate", category, None, None, 50.0)


def test_agreement_figures() -> None:
    outcomes = [
        _outcome("P0", "P0"),
        _outcome("P0", "P2"),  # the dangerous miss
        _outcome("P2", "P3"),
        _outcome("P3", "P1", category="fraud"),
    ]
    a = agreement(outcomes)
    assert a.n == 4
    assert a.exact == 0.25
    assert a.within_one == 0.5
    assert a.p0_below_p1 == 1
    assert a.under == 0.5
    assert a.over == 0.25
    assert a.category == 0.75
    assert a.fast_lane == 1.0
    assert agreement([]).exact == 0.0


def test_evaluate_rates_records_per_language() -> None:
    base: dict[str, Any] = {"received_at": "2026-11-20T10:00:00Z", "expected_category": "ip"}
    records = [
        base
        | {
            "source": "creator_partner",
            "body": "DMCA copyright notice for my song.",
            "language": "en",
            "expected_band": "P4",
            "expected_fast_lane": None,
        },
        base
        | {
            "source": "trusted_flagger",
            "body": "Aviso de derechos de autor: película pirateada.",
            "language": "es",
            "expected_band": "P4",
            "expected_fast_lane": None,
            "trusted_areas": ["hate"],
        },
    ]
    result = evaluate(records)
    assert set(result.by_language) == {"en", "es"}
    assert result.overall.n == 2
    assert [o.escalation_id for o in result.outcomes] == [None, None]
    assert result.to_dict()["overall"]["n"] == 2
    assert result.policy_version


@pytest.mark.skipif(not DEV.exists(), reason="the labelled development set is not there")
def test_no_p0_worthy_escalation_of_the_dev_set_is_rated_below_p1() -> None:
    records = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    result = evaluate(records)
    assert result.overall.p0_below_p1 == 0
    assert result.overall.within_one >= 0.8


@pytest.mark.parametrize(("split", "path", "exact", "within_one", "languages"), FLOORS)
def test_agreement_with_the_development_sets_stays_above_its_floors(
    split: str, path: Path, exact: float, within_one: float, languages: dict[str, Any]
) -> None:
    if not path.exists():
        pytest.skip(f"the labelled {split} set is not there")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    result = evaluate(records)
    assert result.overall.p0_below_p1 == 0, split
    assert result.overall.exact >= exact, (split, result.overall)
    assert result.overall.within_one >= within_one, (split, result.overall)
    for language, (lowest, near) in languages.items():
        # the record's true language is in its id (the hint is often left out)
        mine = [o for o in result.outcomes if f"-{language}-" in (o.escalation_id or "")]
        figures = agreement(mine)
        assert figures.p0_below_p1 == 0, (split, language)
        assert figures.exact >= lowest, (split, language, figures)
        assert figures.within_one >= near, (split, language, figures)


# The banding guide's own examples (docs/triage-bands.md), written here in the three
# languages as escalations arrive; read and rated end to end. (band, source, text, extra)
GUIDE_EXAMPLES: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "P0",
        "law_enforcement",
        "Emergency disclosure request: a kidnapped 9-year-old, the "
        "suspect's account is messaging the family now. Imminent danger.",
        {},
    ),
    ("P0", "user_report", "this account is selling videos of kids https://x.test/a", {}),
    (
        "P0",
        "user_report",
        "El usuario publicó: 'mañana llevo la pistola al colegio y los mato a todos'.",
        {},
    ),
    ("P0", "user_report", "meu amigo disse que vai se matar hoje à noite, comprou remédios", {}),
    (
        "P0",
        "law_enforcement",
        "TJSP: ordem judicial para remover as publicações em 24 horas, multa de R$ 10 mil por dia.",
        {"deadline": "2026-11-21T09:00:00Z"},
    ),
    (
        "P1",
        "user_report",
        "He wrote to my sister: 'I'll find you at your job, you'll regret it'.",
        {},
    ),
    ("P1", "user_report", "Estoy harta de todo, quiero morir, no veo salida.", {}),
    ("P1", "user_report", "My ex is posting my nudes on three accounts right now", {}),
    (
        "P1",
        "user_report",
        "Um perfil postou a morada completa da minha vizinha num grupo de ódio, com foto da casa.",
        {},
    ),
    (
        "P1",
        "ngo",
        "Our hotline: adults leaving sexual comments under videos of 10-year-old girls; no nudity.",
        {},
    ),
    (
        "P1",
        "creator_partner",
        "Someone cloned my bank's profile and is collecting transfers; "
        "dozens of followers already paid.",
        {},
    ),
    (
        "P2",
        "trusted_flagger",
        "Slur-filled post against Roma people calling them vermin, 300 views.",
        {"reach": 300, "trusted_areas": ["hate"]},
    ),
    ("P2", "user_report", "Someone posted my phone number and workplace, I get calls all day", {}),
    (
        "P2",
        "user_report",
        "I got scammed on marketplace, paid $300 for a phone that never arrived.",
        {},
    ),
    (
        "P2",
        "law_enforcement",
        "Solicitamos la preservación de datos de la cuenta por una "
        "investigación de acoso grave en curso. No es urgente.",
        {},
    ),
    (
        "P2",
        "ngo",
        "Posts claim drinking bleach cures cholera during the current outbreak, 20k views.",
        {"reach": 20000},
    ),
    ("P3", "user_report", "a guy called me an idiot in a comment", {}),
    (
        "P3",
        "law_enforcement",
        "Preservation request: bicycle theft, the account advertised the stolen bike.",
        {},
    ),
    (
        "P3",
        "regulator",
        "We received a complaint about a comment calling a minister lazy (40 "
        "views). Please inform us within 10 days.",
        {"reach": 40},
    ),
    (
        "P3",
        "user_report",
        "recibí un correo: 'hackeé tu cámara, paga 500 dólares en bitcoin o "
        "envío el video a tus contactos'",
        {},
    ),
    ("P3", "user_report", "someone is threatening people in the comments!!!", {"subject_ids": []}),
    (
        "P4",
        "trusted_flagger",
        "This account uploaded a pirated copy of a film.",
        {"trusted_areas": ["hate"]},
    ),
    ("P4", "press", "Journalist: comment by 5 pm on why this satire page is up.", {}),
    ("P4", "user_report", "Voy a matar a mi hermano si me vuelve a spoilear jajaja", {}),
    ("P4", "creator_partner", "DMCA notice for my music clip, 2M views.", {"reach": 2_000_000}),
    (
        "P4",
        "user_report",
        "O telejornal mostrou imagens do atentado de ontem, achei pesado.",
        {"reach": 200_000},
    ),
]


@pytest.mark.parametrize(("band", "source", "text", "extra"), GUIDE_EXAMPLES)
def test_the_guides_examples_rate_as_the_guide_says(
    band: str, source: str, text: str, extra: dict[str, Any]
) -> None:
    record = {
        "received_at": "2026-11-20T10:00:00Z",
        "source": source,
        "body": text,
        "subject_ids": ["acct:1"],
    } | extra
    rating = rate_record(record, load_policy())
    assert rating.band == band, (rating.band, rating.score, rating.category, rating.fast_lane)
