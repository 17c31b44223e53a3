"""Curated multilingual lexicons: YAML data, validated on load, with errors that say where.

The words that make an escalation urgent change faster than code (new slang, a new scam
name), so they live in data — one file per language under ``triage/lexicons/`` — that a
triage lead can review and extend. A lexicon lists, per signal, *terms* (word sequences;
a trailing ``*`` on a word matches any ending, for inflections) and *patterns* (regular
expressions over the normalised text), plus the language's negators and reported-speech
markers. Everything is matched accent- and case-insensitively: terms and text go through
the same :func:`normalise`, so ``não``, ``NAO`` and ``nao`` are one word.

The loader walks YAML *nodes* (not loaded dicts) so every problem carries its file and
line, and it collects all problems before raising, as a compiler would.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

import yaml

from custodes.errors import CustodesError
from custodes.model.vocabulary import ESCALATION_LANGUAGES

SIGNALS: Final[tuple[str, ...]] = (
    "imminence",
    "weapon",
    "threat_to_life",
    "minor",
    "sexual_minor",
    "sexual",  # sexual content; on its own a weak privacy cue, with a minor it is sexual_minor
    "self_harm",
    "doxxing",
    "public_office",  # the office of an elected official or public body, not a private home
    "extortion",
    "sextortion",
    "bluff",  # a mass-mailed extortion claim with nothing behind it ("I hacked your webcam")
    "terrorism",
    "glorification",  # praise of a terrorist group or attack ("enaltecimiento")
    "propaganda",  # recruitment, calls to attack, attack instructions: terrorism's graver form
    "fraud",
    "spam",  # bulk commercial spam, get-rich-quick bait: fraud's low-harm form
    "victims",  # many people already harmed (five or more, all of someone's contacts)
    "hate",
    "harassment",
    "misinformation",
    "voting",  # how or when to vote ("vote by text", "the election is postponed")
    "ip",
    "ip_aggravation",  # a counterfeit's safety risk, a live event pirated as it happens
    "privacy",
    "removal_order",
    "court_order",
    "data_request",  # preservation or disclosure of account data asked for an investigation
    "coordination",
    "ban_evasion",  # the subject was suspended or banned before and is back (repeat subject)
    "evidence",
    "hyperbole",  # jokes, sarcasm, satire: a figure of speech, not a plan
    "benign_context",  # news reporting, recovery stories, counter-speech about a harm
)

_TOP_KEYS: Final = frozenset({"language", "negation", "reported_speech", "signals"})
_NEGATION_KEYS: Final = frozenset({"window", "words", "narrow", "pseudo"})
_SIGNAL_KEYS: Final = frozenset({"strength", "terms", "patterns"})
_ENTRY_KEYS: Final = frozenset({"term", "pattern", "strength", "strict"})
_TOKEN: Final = re.compile(r"\w+(?:'\w+)*")
_MIN_STEM: Final = 3  # shorter prefixes ("ma*") would match half the dictionary


class LexiconError(CustodesError):
    """One problem in a lexicon file: ``lexicons/es.yaml:42: signals.fraud: ...``."""

    def __init__(self, message: str, *, file: str | Path | None = None, line: int | None = None):
        self.file = str(file) if file is not None else None
        self.line = line
        self.reason = message
        where = (self.file or "<lexicon>") + (f":{line}" if line is not None else "")
        super().__init__(f"{where}: {message}")


class LexiconErrors(CustodesError):
    """Every problem found while loading lexicons, in file and line order."""

    def __init__(self, errors: Iterable[LexiconError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.file or "", e.line or 0))
        if len(self.errors) == 1:
            message = str(self.errors[0])
        else:
            body = "\n".join(f"  {e}" for e in self.errors)
            message = f"{len(self.errors)} problems in lexicons:\n{body}"
        super().__init__(message)


def normalise(text: str) -> str:
    """Lower-case, accent-free text: ``Não É`` -> ``nao e``; typographic apostrophes -> ``'``.

    Folding accents makes matching robust to the way escalations are really typed (phones
    without accents, ALL CAPS, decomposed Unicode from some mail clients).
    """
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def strip_accents(text: str) -> str:
    """Accent-free text with its case kept (for regex sources, where ``\\W`` ≠ ``\\w``)."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(normalised: str) -> list[str]:
    """The words of already-normalised text (apostrophes kept inside words: ``don't``)."""
    return _TOKEN.findall(normalised)


@dataclass(frozen=True)
class Term:
    """A word sequence for a signal; a word ending in ``*`` matches any word it begins."""

    words: tuple[str, ...]
    signal: str
    strength: float
    strict: bool  # count only when the text is (or may be) in the lexicon's language
    language: str
    line: int


@dataclass(frozen=True)
class Pattern:
    """A regular expression over the normalised text, for context a word list cannot say."""

    regex: re.Pattern[str]
    signal: str
    strength: float
    strict: bool
    language: str
    line: int


@dataclass(frozen=True)
class Lexicon:
    """One language's terms, patterns, negators and reported-speech markers."""

    language: str
    file: str
    terms: tuple[Term, ...]
    patterns: tuple[Pattern, ...]
    negators: frozenset[str]
    narrow_negators: frozenset[str]  # "without"/"sin"/"sem": negate only the next words
    pseudo_negations: tuple[tuple[str, ...], ...]  # "no doubt", "sin duda": not negations
    negation_window: int
    reported_markers: tuple[tuple[str, ...], ...]


class _Reader:
    """Walks one file's YAML nodes, building a :class:`Lexicon` and collecting problems."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[LexiconError] = []

    def error(self, node: yaml.Node, message: str) -> None:
        self.errors.append(LexiconError(message, file=self.file, line=node.start_mark.line + 1))

    def mapping(self, node: yaml.Node, where: str, allowed: frozenset[str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{where}: expected a mapping")
            return {}
        out: dict[str, yaml.Node] = {}
        for key_node, value in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else ""
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.error(key_node, f"{where}: unknown key '{key}' (known: {known})")
            elif key in out:
                self.error(key_node, f"{where}: duplicate key '{key}'")
            else:
                out[key] = value
        return out

    def sequence(self, node: yaml.Node, where: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, f"{where}: expected a list")
            return []
        return list(node.value)

    def text(self, node: yaml.Node, where: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            self.error(node, f"{where}: expected non-empty text")
            return None
        return str(node.value)

    def number(self, node: yaml.Node, where: str, low: float, high: float) -> float | None:
        try:
            value = float(str(node.value)) if isinstance(node, yaml.ScalarNode) else None
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            self.error(node, f"{where}: expected a number from {low:g} to {high:g}")
            return None
        return value

    def flag(self, node: yaml.Node, where: str) -> bool:
        value = str(node.value).lower() if isinstance(node, yaml.ScalarNode) else ""
        if value not in {"true", "false"}:
            self.error(node, f"{where}: expected true or false")
        return value == "true"

    def words(self, node: yaml.Node, where: str) -> tuple[str, ...] | None:
        """A phrase as normalised words, checking ``*`` is a suffix on a long enough stem."""
        raw = self.text(node, where)
        if raw is None:
            return None
        words: list[str] = []
        for part in normalise(raw).replace("-", " ").split():
            star = part.endswith("*")
            stem = part.rstrip("*")
            found = tokens(stem)
            if len(found) != 1 or found[0] != stem or "*" in stem:
                self.error(node, f"{where}: '{raw}' is not plain words (use 'patterns' for regex)")
                return None
            if star and len(stem) < _MIN_STEM:
                self.error(node, f"{where}: prefix '{part}' is shorter than {_MIN_STEM} letters")
                return None
            words.append(part)
        return tuple(words)


def parse_lexicon(
    text: str, file: str | Path = "<lexicon>"
) -> tuple[Lexicon | None, list[LexiconError]]:
    """A lexicon and every problem in its text; the lexicon is ``None`` when any exist."""
    reader = _Reader(str(file))
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        return None, [LexiconError(f"invalid YAML: {reason}", file=file, line=line)]
    except yaml.YAMLError as exc:
        return None, [LexiconError(f"invalid YAML: {exc}", file=file)]
    if root is None:
        return None, [LexiconError("empty lexicon", file=file, line=1)]
    top = reader.mapping(root, "lexicon", _TOP_KEYS)
    language = ""
    if "language" not in top:
        reader.error(root, "lexicon: missing 'language'")
    else:
        language = reader.text(top["language"], "language") or ""
        if language and language not in ESCALATION_LANGUAGES:
            reader.error(
                top["language"],
                f"language: '{language}' is not one of {', '.join(ESCALATION_LANGUAGES)}",
            )
        stem = Path(str(file)).stem
        if language and stem in ESCALATION_LANGUAGES and stem != language:
            reader.error(top["language"], f"language: '{language}' in a file named '{stem}'")

    window, negators, narrow, pseudo = 3, set[str](), set[str](), list[tuple[str, ...]]()
    if "negation" in top:
        neg = reader.mapping(top["negation"], "negation", _NEGATION_KEYS)
        if "window" in neg:
            value = reader.number(neg["window"], "negation.window", 1, 10)
            window = int(value) if value is not None else window
        for key, into in (("words", negators), ("narrow", narrow)):
            for item in reader.sequence(neg.get(key, yaml.SequenceNode("", [])), f"negation.{key}"):
                words = reader.words(item, f"negation.{key}")
                if words is not None and len(words) != 1:
                    reader.error(item, f"negation.{key}: negators are single words")
                elif words is not None:
                    into.add(words[0])
        for item in reader.sequence(
            neg.get("pseudo", yaml.SequenceNode("", [])), "negation.pseudo"
        ):
            words = reader.words(item, "negation.pseudo")
            if words is not None:
                pseudo.append(words)
    reported: list[tuple[str, ...]] = []
    for item in reader.sequence(
        top.get("reported_speech", yaml.SequenceNode("", [])), "reported_speech"
    ):
        words = reader.words(item, "reported_speech")
        if words is not None:
            reported.append(words)

    terms: list[Term] = []
    patterns: list[Pattern] = []
    if "signals" not in top:
        reader.error(root, "lexicon: missing 'signals'")
    else:
        signals_node = top["signals"]
        if isinstance(signals_node, yaml.MappingNode):
            allowed = frozenset(SIGNALS)
            seen: set[str] = set()
            for key_node, value in signals_node.value:
                name = str(key_node.value)
                if name not in allowed:
                    reader.error(key_node, f"signals: unknown signal '{name}'")
                    continue
                if name in seen:
                    reader.error(key_node, f"signals: duplicate signal '{name}'")
                    continue
                seen.add(name)
                _signal(reader, name, value, language, terms, patterns)
        else:
            reader.error(signals_node, "signals: expected a mapping of signal -> terms")
    if reader.errors:
        return None, reader.errors
    return Lexicon(
        language=language,
        file=str(file),
        terms=tuple(terms),
        patterns=tuple(patterns),
        negators=frozenset(negators),
        narrow_negators=frozenset(narrow),
        pseudo_negations=tuple(pseudo),
        negation_window=window,
        reported_markers=tuple(reported),
    ), []


def _signal(
    reader: _Reader,
    name: str,
    node: yaml.Node,
    language: str,
    terms: list[Term],
    patterns: list[Pattern],
) -> None:
    where = f"signals.{name}"
    spec = reader.mapping(node, where, _SIGNAL_KEYS)
    default = 0.5
    if "strength" in spec:
        value = reader.number(spec["strength"], f"{where}.strength", 0.0, 1.0)
        default = value if value is not None else default
    seen: dict[tuple[str, ...], int] = {}
    for kind in ("terms", "patterns"):
        if kind not in spec:
            continue
        for item in reader.sequence(spec[kind], f"{where}.{kind}"):
            line = item.start_mark.line + 1
            strength, strict, source = default, False, item
            if isinstance(item, yaml.MappingNode):
                entry = reader.mapping(item, f"{where}.{kind}", _ENTRY_KEYS)
                key = "term" if kind == "terms" else "pattern"
                if key not in entry:
                    reader.error(item, f"{where}.{kind}: entry needs '{key}'")
                    continue
                source = entry[key]
                if "strength" in entry:
                    value = reader.number(entry["strength"], f"{where}.{kind}.strength", 0.0, 1.0)
                    strength = value if value is not None else strength
                if "strict" in entry:
                    strict = reader.flag(entry["strict"], f"{where}.{kind}.strict")
            if kind == "terms":
                words = reader.words(source, f"{where}.terms")
                if words is None:
                    continue
                if words in seen:
                    reader.error(
                        source, f"{where}.terms: '{' '.join(words)}' repeats line {seen[words]}"
                    )
                    continue
                seen[words] = line
                terms.append(Term(words, name, strength, strict, language, line))
            else:
                raw = reader.text(source, f"{where}.patterns")
                if raw is None:
                    continue
                try:
                    regex = re.compile(strip_accents(raw), re.IGNORECASE)
                except re.error as exc:
                    reader.error(source, f"{where}.patterns: invalid regex {raw!r}: {exc}")
                    continue
                if regex.search(""):
                    reader.error(source, f"{where}.patterns: {raw!r} matches empty text")
                    continue
                patterns.append(Pattern(regex, name, strength, strict, language, line))


def load_lexicon(path: str | Path) -> Lexicon:
    """One lexicon file, or :class:`LexiconErrors` listing every problem in it."""
    path = Path(path)
    lexicon, errors = parse_lexicon(path.read_text(encoding="utf-8"), path)
    if errors or lexicon is None:
        raise LexiconErrors(errors)
    return lexicon


@cache
def builtin_lexicons() -> tuple[Lexicon, ...]:
    """The shipped lexicons (en, es, pt), loaded once; a broken one fails loudly."""
    folder = resources.files("custodes.triage") / "lexicons"
    lexicons: list[Lexicon] = []
    errors: list[LexiconError] = []
    for language in ESCALATION_LANGUAGES:
        item = folder / f"{language}.yaml"
        lexicon, problems = parse_lexicon(
            item.read_text(encoding="utf-8"), f"lexicons/{language}.yaml"
        )
        errors.extend(problems)
        if lexicon is not None:
            lexicons.append(lexicon)
    if errors:
        raise LexiconErrors(errors)
    return tuple(lexicons)
