"""Language identification on short, realistic escalation texts, mixed text and hints."""

from __future__ import annotations

import pytest

from custodes.triage.language import UNDETERMINED, UNSURE_BELOW, detect_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Urgent: a user says he will hurt his ex-girlfriend tonight, please review.", "en"),
        ("We received a police request about an account selling stolen cards.", "en"),
        ("Buenas tardes, les escribo porque una cuenta está publicando mi dirección.", "es"),
        ("La fiscalía solicita la preservación de los datos de este perfil.", "es"),
        ("Olá, um perfil está ameaçando minha filha e pedindo fotos dela.", "pt"),
        ("Recebemos um ofício judicial pedindo a remoção do vídeo em 24 horas.", "pt"),
    ],
)
def test_detects_each_language_in_short_texts(text: str, expected: str) -> None:
    guess = detect_language(text)
    assert guess.language == expected
    assert guess.confidence >= UNSURE_BELOW
    assert not guess.from_hint


@pytest.mark.parametrize("text", ["", "   ", "12345 !!!", "ok", "https://x.co/a1"])
def test_too_little_text_is_undetermined(text: str) -> None:
    guess = detect_language(text)
    assert guess.language == UNDETERMINED
    assert guess.confidence < UNSURE_BELOW


def test_mixed_text_has_low_confidence() -> None:
    mixed = "Please remove this ASAP — ela disse que vai postar as fotos, es urgente"
    clear = "Please remove this as soon as possible, she said she will post the photos"
    assert detect_language(mixed).confidence < detect_language(clear).confidence
    assert detect_language(mixed).confidence < UNSURE_BELOW


def test_hint_decides_only_when_unsure() -> None:
    short = detect_language("pix", hint="pt")
    assert (short.language, short.from_hint) == ("pt", True)
    confident = detect_language(
        "This account posts threats against my family every day.", hint="es"
    )
    assert (confident.language, confident.from_hint) == ("en", False)


@pytest.mark.parametrize("hint", ["fr", "", "  ", "xx-YY"])
def test_unknown_hints_are_ignored(hint: str) -> None:
    assert detect_language("ok", hint=hint).language == UNDETERMINED


def test_hint_is_normalised() -> None:
    assert detect_language("ok", hint=" PT-br ").language == "pt"
