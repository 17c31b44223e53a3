"""Lexicon files: the shipped ones load, and broken ones are reported with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from custodes.triage.lexicon import (
    SIGNALS,
    LexiconErrors,
    builtin_lexicons,
    load_lexicon,
    normalise,
    parse_lexicon,
)

GOOD = """\
language: es
negation:
  window: 3
  words: ["no", nunca]
  narrow: [sin]
  pseudo: ["sin duda"]
reported_speech: [dijo, según]
signals:
  fraud:
    strength: 0.7
    terms: [estafa*, {term: "tarjeta clonada", strength: 0.9}]
    patterns: ['\\bpiramide\\b']
"""


def test_shipped_lexicons_cover_every_language_and_most_signals() -> None:
    lexicons = builtin_lexicons()
    assert [lx.language for lx in lexicons] == ["en", "es", "pt"]
    for lexicon in lexicons:
        named = {t.signal for t in lexicon.terms} | {p.signal for p in lexicon.patterns}
        assert named == set(SIGNALS), (lexicon.language, set(SIGNALS) - named)
        assert lexicon.negators and lexicon.reported_markers


def test_terms_are_normalised_on_load() -> None:
    lexicon, errors = parse_lexicon(GOOD, "es.yaml")
    assert errors == []
    assert lexicon is not None
    words = {t.words for t in lexicon.terms}
    assert ("estafa*",) in words and ("tarjeta", "clonada") in words
    assert "segun" in {m[0] for m in lexicon.reported_markers}
    assert lexicon.pseudo_negations == (("sin", "duda"),)
    assert next(t for t in lexicon.terms if t.words == ("tarjeta", "clonada")).strength == 0.9


def test_normalise_folds_case_and_accents() -> None:
    assert normalise("NÃO É Ameaça") == "nao e ameaca"
    assert normalise("DIRECCIÓN") == normalise("direccion")
    assert normalise("don\u2019t") == "don't"
    assert normalise("nin\u0303a") == "nina"  # decomposed input from some mail clients


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("language: fr\nsignals: {}\n", 1, "'fr' is not one of"),
        ("language: es\nsignals:\n  scams: {terms: [x]}\n", 3, "unknown signal 'scams'"),
        ("language: es\nsignals:\n  fraud:\n    strength: 2\n", 4, "number from 0 to 1"),
        (
            "language: es\nsignals:\n  fraud:\n    terms: [est*]\n    patterns: ['(']\n",
            5,
            "invalid regex",
        ),
        ("language: es\nsignals:\n  fraud:\n    terms:\n      - ab*\n", 5, "shorter than 3"),
        ("language: es\nsignals:\n  fraud:\n    terms: [estafa, estafa]\n", 4, "repeats line 4"),
        ("language: es\nsignals:\n  fraud:\n    terms: ['a|b']\n", 4, "not plain words"),
        ("language: es\nsignals:\n  fraud:\n    colour: red\n", 4, "unknown key 'colour'"),
        ("language: es\nsignals:\n  fraud:\n    patterns: ['x?']\n", 4, "matches empty text"),
        (
            "language: es\nsignals:\n  fraud:\n    terms:\n      - {strength: 1}\n",
            5,
            "needs 'term'",
        ),
        ("language: es\nsignals: [a, b\n", 3, "invalid YAML"),
        ('language: es\nnegation:\n  words: ["no hay"]\nsignals: {}\n', 3, "single words"),
    ],
)
def test_errors_say_file_and_line(text: str, line: int, message: str) -> None:
    lexicon, errors = parse_lexicon(text, "lexicons/es.yaml")
    assert lexicon is None
    assert errors, "expected a problem"
    rendered = [str(e) for e in errors]
    assert any(r.startswith(f"lexicons/es.yaml:{line}: ") and message in r for r in rendered), (
        rendered
    )


def test_all_problems_are_collected_and_language_must_match_file(tmp_path: Path) -> None:
    path = tmp_path / "pt.yaml"
    path.write_text(
        "language: es\nsignals:\n  fraud:\n    strength: -1\n    terms: [x*]\n  nope: {}\n",
        encoding="utf-8",
    )
    with pytest.raises(LexiconErrors) as caught:
        load_lexicon(path)
    lines = [(e.line, e.reason) for e in caught.value.errors]
    assert [line for line, _ in lines] == [1, 4, 5, 6]
    assert "in a file named 'pt'" in lines[0][1]
    assert str(caught.value).startswith("4 problems in lexicons:")
    assert f"{path}:6: signals: unknown signal 'nope'" in str(caught.value)


def test_a_good_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "es.yaml"
    path.write_text(GOOD, encoding="utf-8")
    lexicon = load_lexicon(path)
    assert lexicon.language == "es"
    assert lexicon.negation_window == 3
    assert lexicon.narrow_negators == frozenset({"sin"})
