"""Read an escalation's text: language, signals (with the words behind them), categories.

A triage analyst skims for a handful of things — is someone's life at risk and *when*, is a
child involved, is it self-harm, extortion, terrorism — and discounts what is denied
("there is no threat") while keeping what is quoted (the offender's own words are the
evidence). :func:`read` does that skim with the curated lexicons in ``lexicons/``:

* text and terms are normalised alike (case- and accent-free), and every signal keeps the
  words *as written* so a rating can show exactly why it moved;
* a negator a few words before a term, in the same clause, marks the signal ``negated``
  (kept, but it supports nothing); phrases like "no doubt" or "won't hesitate" are not
  negations;
* words inside quotation marks, or after a reporting verb in the same sentence ("he said",
  "según", "segundo ela"), are ``reported``: flagged, never discarded;
* a term inside a longer term ("kill" in "kill myself") yields to the longer one, and a
  minor next to sexual content, or extortion next to it, is read as ``sexual_minor`` or
  ``sextortion`` even when no single term says so.

It is deterministic and pure (no I/O after the lexicons and language models load once).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Final

from custodes.model.vocabulary import ESCALATION_CATEGORIES, ESCALATION_LANGUAGES
from custodes.triage.language import UNDETERMINED, detect_language
from custodes.triage.lexicon import Lexicon, Pattern, Term, builtin_lexicons

MIN_SUPPORT: Final = 0.3  # below this, no category is claimed and it is "other"
COMBINE_WITHIN: Final = 40  # words between a minor and sexual content to read them together
NARROW_WINDOW: Final = 2
_TOKEN: Final = re.compile(r"\w+(?:'\w+)*")
_CLAUSE_BREAK: Final = re.compile(r"[,.;:!?()\[\]\"\u201c\u201d\u00ab\u00bb\u201e\n]")
_SENTENCE_BREAK: Final = re.compile(r"[.!?]\s|[.!?]$|\n")
_QUOTES: Final = re.compile(
    r"\"[^\"\n]{1,3000}\"|\u201c[^\u201d]{1,3000}\u201d|\u00ab[^\u00bb]{1,3000}\u00bb"
    r"|\u201e[^\u201c\u201d]{1,3000}[\u201c\u201d]|\u2018[^'\u2018\n]{1,3000}'"
)
# Account handles and web addresses name things; the words inside them say nothing (an
# account called "@lu.fraude" is not a fraud report). Only the evidence signal reads them.
_IDENTIFIER: Final = re.compile(r"(?<![\w@])@[\w.]+\w|\bhttps?://\S+|\bwww\.\S+")
_CONTRAST: Final = frozenset(
    {"but", "however", "although", "though", "pero", "aunque", "porem", "embora"}
)

# What each signal says about the category of harm (weights; combined by noisy-OR).
# imminence, court_order, removal orders, coordination and evidence change urgency or
# credibility, not the kind of harm, so they support no category on their own.
CATEGORY_WEIGHTS: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "sexual_minor": (("child_safety", 1.0),),
    "minor": (("child_safety", 0.35),),
    "threat_to_life": (("violent_threat", 1.0),),
    "weapon": (("violent_threat", 0.5),),
    "self_harm": (("self_harm", 1.0),),
    "doxxing": (("doxxing", 1.0), ("privacy", 0.2)),
    "extortion": (("fraud", 0.6), ("sextortion", 0.3)),  # see SEXUAL_EXTORTION_WEIGHTS
    "sextortion": (("sextortion", 1.0),),
    "bluff": (("sextortion", 0.9),),
    "sexual": (("privacy", 0.6),),  # intimate images of an adult: NCII
    "terrorism": (("terrorism", 1.0),),
    "glorification": (("terrorism", 0.5),),
    "propaganda": (("terrorism", 0.5),),
    "removal_order": (("terrorism", 0.2),),
    "fraud": (("fraud", 1.0),),
    "spam": (("fraud", 0.8),),
    "hate": (("hate", 1.0),),
    "harassment": (("harassment", 1.0),),
    "misinformation": (("misinformation", 1.0),),
    "voting": (("misinformation", 0.8),),
    "ip": (("ip", 1.0),),
    "ip_aggravation": (("ip", 0.3),),
    "privacy": (("privacy", 1.0),),
}


# Extortion (and sexual content) in a text also read as sextortion supports sextortion only.
SEXUAL_EXTORTION_WEIGHTS: Final = (("sextortion", 0.6),)
# Sexual content in a text naming a child is about the child (sexualised comments on
# children's photos), not an adult's intimate images.
SEXUAL_ABOUT_A_CHILD_WEIGHTS: Final = (("child_safety", 0.6),)
_NAMED_MINOR: Final = 0.5  # a minor cue this strong names a child ("niñas", "13 anos")


@dataclass(frozen=True)
class Signal:
    """One thing the text says, with the words that say it, as written."""

    name: str
    evidence: str
    negated: bool
    reported: bool
    strength: float
    hedged: bool = False  # a figure of speech, news or recovery: counts for the category only


@dataclass(frozen=True)
class TextReading:
    """What :func:`read` found: language, signals (strongest first) and category support."""

    language: str
    language_confidence: float
    signals: tuple[Signal, ...]
    categories: dict[str, float] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        """Whether a signal of that name was found, not negated and not hedged (reported
        ones count)."""
        return any(s.name == name and not s.negated and not s.hedged for s in self.signals)

    @property
    def figurative(self) -> bool:
        """Whether some harm signal was read as hyperbole, news or a recovery story — or the
        text is news or recovery framing ("a news station posted footage of yesterday's
        clash") and names no harm of its own at all. (A joke with no harm in it is not one:
        "posted a photo of me as a joke" is a privacy complaint, not hyperbole.)"""
        if any(s.hedged for s in self.signals):
            return True
        live = [s for s in self.signals if not s.negated]
        return any(s.name == "benign_context" for s in live) and not any(
            s.name in CATEGORY_WEIGHTS for s in live
        )

    def category(self) -> str:
        """The best-supported category, ``"other"`` when none reaches :data:`MIN_SUPPORT`."""
        best, support = "other", 0.0
        for name in ESCALATION_CATEGORIES:  # vocabulary order breaks ties, deterministically
            value = self.categories.get(name, 0.0)
            if value > support:
                best, support = name, value
        return best if support >= MIN_SUPPORT else "other"


@dataclass(frozen=True)
class _Entry:
    """A term compiled for matching: each word is (stem, is_prefix)."""

    words: tuple[tuple[str, bool], ...]
    term: Term


@dataclass
class _Index:
    exact: dict[str, list[_Entry]]
    prefix: dict[str, list[_Entry]]  # keyed by the first three letters of the first word
    negators: dict[str, int]  # word -> how many words ahead it reaches
    pseudo: dict[str, list[tuple[str, ...]]]
    markers: dict[str, list[tuple[str, ...]]]
    patterns: tuple[tuple[Pattern, frozenset[str] | None], ...]  # with their trigger prefixes
    reach_max: int = 0  # the furthest any negator reaches
    # word -> the languages it negates in: Portuguese "no" ("escreveu no story") is "in
    # the", not the Spanish or English negator
    negator_languages: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass
class _Match:
    name: str
    start: int  # first token
    end: int  # one past the last token
    char_start: int  # in the normalised text
    char_end: int
    strength: float
    from_term: bool


def _compile(lexicons: Iterable[Lexicon]) -> _Index:
    index = _Index({}, {}, {}, {}, {}, ())
    patterns: list[tuple[Pattern, frozenset[str] | None]] = []
    for lexicon in lexicons:
        for term in lexicon.terms:
            words = tuple((w.rstrip("*"), w.endswith("*")) for w in term.words)
            entry = _Entry(words, term)
            stem, is_prefix = words[0]
            if is_prefix:
                index.prefix.setdefault(stem[:3], []).append(entry)
            else:
                index.exact.setdefault(stem, []).append(entry)
        for word in lexicon.negators:
            index.negators[word] = max(index.negators.get(word, 0), lexicon.negation_window)
        for word in lexicon.narrow_negators:
            index.negators.setdefault(word, NARROW_WINDOW)
        for word in lexicon.negators | lexicon.narrow_negators:
            languages = index.negator_languages.get(word, frozenset())
            index.negator_languages[word] = languages | {lexicon.language}
        for phrase in lexicon.pseudo_negations:
            index.pseudo.setdefault(phrase[0], []).append(phrase)
        for phrase in lexicon.reported_markers:
            index.markers.setdefault(phrase[0], []).append(phrase)
        patterns.extend((p, _triggers(p.regex.pattern)) for p in lexicon.patterns)
    index.patterns = tuple(patterns)
    index.reach_max = max(index.negators.values(), default=0)
    return index


_LITERAL_GROUP: Final = re.compile(r"\((?:\?:)?([a-z0-9' |]+)\)(?![?*{])")
_LITERAL_RUN: Final = re.compile(r"[a-z0-9]+")


def _triggers(source: str) -> frozenset[str] | None:
    """The word beginnings (up to 3 letters) a pattern's match must start with, if plain.

    Regexes that start with ``\\b(`` cannot use the engine's literal search, so each one
    would scan the whole text; checking first that some word of the text begins like one of
    the alternatives skips most patterns on most texts. ``None``: always run it.
    """
    rest = source.removeprefix("\\b").lower()
    group = _LITERAL_GROUP.match(rest)
    if group:
        alternatives = group.group(1).split("|")
        if all(alternatives):
            return frozenset(a.split(" ")[0][:3] for a in alternatives if a.split(" ")[0]) or None
        return None
    if rest.startswith("(") and source.startswith("\\b"):  # a match starts at a word
        return _group_triggers(rest)
    run = _LITERAL_RUN.match(rest)
    if run is None:
        return None
    literal = run.group(0)
    if rest[len(literal) : len(literal) + 1] in {"?", "*", "{"}:
        literal = literal[:-1]
    return frozenset({literal[:3]}) if literal else None


_DIGITS: Final = "0123456789"


def _group_triggers(rest: str) -> frozenset[str] | None:
    """Triggers of a leading group whose every alternative starts with a literal word
    (``prais\\w*``, ``pics?``) or a digit (``[5-9]``, ``\\d{2,}``); ``None`` otherwise."""
    depth, end = 0, -1
    for i, ch in enumerate(rest):
        if ch == "\\":
            continue
        if i and rest[i - 1] == "\\":
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                end = i
                break
    if end < 0 or rest[end + 1 : end + 2] in {"?", "*", "{"}:
        return None  # unbalanced, or the whole group is optional
    body = rest[1:end].removeprefix("?:")
    if "(" in body:
        return None  # nested groups: not worth parsing
    out: set[str] = set()
    for alternative in body.split("|"):
        if alternative.startswith("\\d"):
            out.update(_DIGITS)
            continue
        digits = re.match(r"\[(\d)-(\d)\]", alternative)
        if digits:
            out.update(str(d) for d in range(int(digits[1]), int(digits[2]) + 1))
            continue
        run = re.match(r"[a-z0-9' ]+", alternative)
        literal = run.group(0) if run else ""
        if alternative[len(literal) : len(literal) + 1] in {"?", "*", "{"}:
            literal = literal[:-1]  # the last letter is optional
        word = literal.split(" ")[0]
        if not word:
            return None
        out.add(word[:3])
    return frozenset(out) or None


@cache
def _index() -> _Index:
    return _compile(builtin_lexicons())


def _fold(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", "'" if ch == "\u2019" else ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class _FoldTable(dict[int, str]):
    """``str.translate`` table folding each character, filled on first sight (C speed after).

    Characters that fold to other than one character (``ß``, a lone combining accent) are
    remembered, because only texts containing them need a character-offset map.
    """

    def __init__(self) -> None:
        super().__init__()
        self.irregular: set[str] = set()

    def __missing__(self, code: int) -> str:
        folded = _fold(chr(code))
        if len(folded) != 1:
            self.irregular.add(chr(code))
        if len(self) < 65536:  # bounded: adversarial input cannot grow it forever
            self[code] = folded
        return folded


_TABLE: Final = _FoldTable()


def _normalise(text: str) -> tuple[str, list[int] | None]:
    """Folded text and, when lengths differ from the original, each char's source offset."""
    if text.isascii():
        return text.lower(), None
    folded = text.translate(_TABLE)
    if len(folded) == len(text) and _TABLE.irregular.isdisjoint(text):
        return folded, None
    pieces: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        folded = _fold(ch)
        pieces.append(folded)
        offsets.extend([i] * len(folded))
    return "".join(pieces), offsets


def _matches_at(words: list[str], i: int, entry: _Entry) -> bool:
    if i + len(entry.words) > len(words):
        return False
    for k, (stem, is_prefix) in enumerate(entry.words):
        word = words[i + k]
        if not (word.startswith(stem) if is_prefix else word == stem):
            return False
    return True


def _phrase_at(words: list[str], i: int, phrases: list[tuple[str, ...]]) -> int:
    """Length of the longest phrase starting at word ``i`` (0 if none)."""
    best = 0
    for phrase in phrases:
        if tuple(words[i : i + len(phrase)]) == phrase:
            best = max(best, len(phrase))
    return best


class _Text:
    """One text, tokenised, with the lookups negation and reporting need."""

    def __init__(self, text: str, index: _Index) -> None:
        self.text = text
        self.norm, self.offsets = _normalise(text)
        spans = [(m.start(), m.end()) for m in _TOKEN.finditer(self.norm)]
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]
        self.words = [self.norm[s:e] for s, e in spans]
        self.quotes = [(m.start(), m.end()) for m in _QUOTES.finditer(self.norm)]
        self.quote_starts = [s for s, _ in self.quotes]
        self.names = [(m.start(), m.end()) for m in _IDENTIFIER.finditer(self.norm)]
        self.index = index
        self.active = frozenset(ESCALATION_LANGUAGES)  # languages the text may be in
        self.markers: list[tuple[int, int]] = []  # (first token, one past last) of "said" etc.
        self.covered: set[int] = set()  # tokens inside a matched term (not free negators)
        self.by_prefix: dict[str, list[int]] = {}  # word beginnings (1-3 letters) -> tokens
        for i, w in enumerate(self.words):
            for k in (1, 2, 3):
                self.by_prefix.setdefault(w[:k], []).append(i)

    def original(self, start: int, end: int) -> str:
        if self.offsets is None:
            return self.text[start:end]
        first = self.offsets[start]
        last = self.offsets[end - 1] + 1 if end > start else first
        return self.text[first:last]

    def in_quote(self, pos: int) -> bool:
        k = bisect_right(self.quote_starts, pos) - 1
        return k >= 0 and self.quotes[k][0] < pos < self.quotes[k][1]

    def in_name(self, start: int, end: int) -> bool:
        """Whether the characters ``start:end`` lie inside a handle or a web address."""
        return any(s <= start and end <= e for s, e in self.names)

    def token_at(self, char: int) -> int:
        return min(bisect_left(self.ends, char + 1), max(len(self.words) - 1, 0))

    def negated(self, start: int) -> bool:
        """A free negator within reach before token ``start``, with no clause break between."""
        words = self.words
        for j in range(start - 1, max(start - 1 - self.index.reach_max, -1), -1):
            gap = self.norm[self.ends[j] : self.starts[j + 1]]
            if _CLAUSE_BREAK.search(gap) or (words[j + 1] in _CONTRAST and j + 1 < start):
                return False
            reach = self.index.negators.get(words[j])
            if reach is None or j in self.covered or start - j > reach:
                continue
            if self.active.isdisjoint(self.index.negator_languages.get(words[j], ())):
                continue  # a negator in another language only ("no" in Portuguese)
            if _phrase_at(words, j, self.index.pseudo.get(words[j], [])):
                continue
            return True
        return False

    def reported(self, start: int) -> bool:
        """Inside quotation marks, or after a reporting verb earlier in the same sentence."""
        if not self.words:
            return False
        if self.in_quote(self.starts[start]):
            return True
        for _first, last in reversed(self.markers):
            if last > start:
                continue
            gap = self.norm[self.ends[last - 1] : self.starts[start]]
            return not _SENTENCE_BREAK.search(gap)
        return False


def _active(language: str, hint: str | None) -> frozenset[str]:
    """Languages whose ``strict`` terms apply: all of them when the language is unknown."""
    if language == UNDETERMINED:
        return frozenset(ESCALATION_LANGUAGES)
    return frozenset({language} | ({hint} if hint in ESCALATION_LANGUAGES else set()))


def _find(doc: _Text, active: frozenset[str]) -> list[_Match]:
    index, words = doc.index, doc.words
    doc.active = active
    found: list[_Match] = []
    for i, word in enumerate(words):
        marker = _phrase_at(words, i, index.markers.get(word, []))
        if marker:
            doc.markers.append((i, i + marker))
        candidates = index.exact.get(word, [])
        prefixed = index.prefix.get(word[:3])
        if prefixed:
            candidates = candidates + prefixed
        for entry in candidates:
            stem, is_prefix = entry.words[0]
            if is_prefix and not word.startswith(stem):
                continue  # cheap first-word check before the full match
            term = entry.term
            if term.strict and term.language not in active:
                continue
            if len(entry.words) == 1 or _matches_at(words, i, entry):
                end = i + len(entry.words)
                found.append(
                    _Match(
                        term.signal, i, end, doc.starts[i], doc.ends[end - 1], term.strength, True
                    )
                )
    if words:
        for pattern, triggers in index.patterns:
            if pattern.strict and pattern.language not in active:
                continue
            if triggers is None:
                hits = list(pattern.regex.finditer(doc.norm))
            else:  # try it only where a word begins as its match must
                starts = sorted({i for t in triggers for i in doc.by_prefix.get(t, ())})
                hits = [h for i in starts if (h := pattern.regex.match(doc.norm, doc.starts[i]))]
            for hit in hits:
                if hit.end() == hit.start():
                    continue
                first = doc.token_at(hit.start())
                last = max(doc.token_at(hit.end() - 1) + 1, first + 1)
                found.append(
                    _Match(
                        pattern.signal, first, last, hit.start(), hit.end(), pattern.strength, False
                    )
                )
    if doc.names:
        found = [
            m for m in found if m.name == "evidence" or not doc.in_name(m.char_start, m.char_end)
        ]
    # A match inside a longer one yields to it: "kill" in "kill myself", "menina" in "menina
    # de 13 anos"; and a threat overlapping self-harm words is self-harm ("going to kill
    # myself"). Words of surviving terms are not free negators ("no reason to live").
    found.sort(key=lambda m: (m.char_start, -(m.char_end - m.char_start), m.name))
    harm = [m for m in found if m.name == "self_harm"]
    kept: list[_Match] = []
    reach: _Match | None = None  # the kept match reaching furthest right so far
    for m in found:
        if m.name == "threat_to_life" and any(
            h.char_start < m.char_end and m.char_start < h.char_end for h in harm
        ):
            continue
        # Sorted by start, so the furthest-reaching earlier match contains m if any does.
        if (
            reach is not None
            and m.char_end <= reach.char_end
            and (reach.char_start, reach.char_end) != (m.char_start, m.char_end)
        ):
            continue
        kept.append(m)
        if reach is None or m.char_end > reach.char_end:
            reach = m
    for m in kept:
        if m.from_term:
            doc.covered.update(range(m.start, m.end))
    return kept


def _signal(doc: _Text, m: _Match) -> tuple[Signal, int, str]:
    """The public signal for a match, its first token, and its folded words (for de-dup)."""
    evidence = " ".join(doc.original(m.char_start, m.char_end).split())
    folded = " ".join(doc.norm[m.char_start : m.char_end].split())
    return (
        Signal(m.name, evidence, doc.negated(m.start), doc.reported(m.start), m.strength),
        m.start,
        folded,
    )


# Signals no single term states, in order (a later rule sees what an earlier one added):
# (left, right, the signal they make together, its strength, the least strength of left,
# the least strength of right, whether a denial of the right signal in the text blocks it).
_COMBINATIONS: Final = (
    # A minor near sexual content is read as sexual abuse of a minor, but not from a faint
    # cue ("explícito" alone), and not when the text itself denies sexual content ("no
    # son fotos desnudas", "não há nudez"): sexualised comments on children are P1, not
    # CSAM (guide). Explicit CSAM terms and sextortion of a minor are not affected.
    ("minor", "sexual", "sexual_minor", 0.85, 0.0, 0.5, True),
    ("extortion", "sexual", "sextortion", 0.85, 0.0, 0.0, False),
    # Blackmail of a named child ("13 anos", not "my daughter" as the family told): the
    # guide's sextortion of a minor. A relationship word alone (0.3) does not combine.
    ("minor", "extortion", "sextortion", 0.8, 0.5, 0.0, False),
    # A minor being sextorted: the images are CSAM (category stays sextortion, so weak).
    ("minor", "sextortion", "sexual_minor", 0.6, 0.5, 0.0, False),
)


def _combine(signals: list[tuple[Signal, int, str]]) -> list[tuple[Signal, int, str]]:
    """Signals no single term states: a minor near sexual content, extortion near it, a
    child being blackmailed."""
    live = [(s, pos) for s, pos, _ in signals if not s.negated]
    denied = {s.name for s, _, _ in signals if s.negated}
    extra: list[tuple[Signal, int, str]] = []
    for left, right, name, strength, least, least_right, deniable in _COMBINATIONS:
        if any(s.name == name for s, _ in live):
            continue  # already stated, in words or by an earlier rule
        if deniable and right in denied:
            continue
        pairs = [
            (a, pa, b, pb)
            for a, pa in live
            if a.name == left and a.strength >= least
            for b, pb in live
            if b.name == right and b.strength >= least_right and abs(pa - pb) <= COMBINE_WITHIN
        ]
        if pairs:
            a, pa, b, pb = min(pairs, key=lambda p: (abs(p[1] - p[3]), p[1]))
            first, second = (a, b) if pa <= pb else (b, a)
            evidence = f"{first.evidence} … {second.evidence}"
            signal = Signal(name, evidence, False, a.reported and b.reported, strength)
            extra.append((signal, min(pa, pb), _normalise(evidence)[0]))
            live.append((signal, min(pa, pb)))
    return signals + extra


# Hyperbole ("lol", "es broma") and benign framing (news reporting, a recovery story,
# counter-speech) turn these harms into what was *alleged*: they still name the category,
# but open no fast lane or floor. Never when the text also gives means, a near time or an
# address ("when in doubt about a life, go up"), and never for children or extortion.
FRAMES: Final = frozenset({"hyperbole", "benign_context"})
HEDGEABLE: Final = frozenset(
    {"threat_to_life", "self_harm", "terrorism", "hate", "weapon", "glorification"}
)
_UNHEDGED_BY: Final = frozenset({"doxxing", "sexual_minor"})
_MEANS_FOR: Final = frozenset({"threat_to_life", "self_harm"})  # a weapon is means for these
_NEAR_TIME: Final = 0.6  # imminence at least this strong ("tonight", not "today") blocks it


def _hedge(signals: list[tuple[Signal, int, str]]) -> list[tuple[Signal, int, str]]:
    live = [s for s, _, _ in signals if not s.negated]
    if not any(s.name in FRAMES for s in live):
        return signals
    if any(
        s.name in _UNHEDGED_BY or (s.name == "imminence" and s.strength >= _NEAR_TIME) for s in live
    ):
        return signals
    # A threat with the means to carry it out is not a figure of speech; a weapon alone (the
    # news report of yesterday's shooting) is hedged with the rest.
    names = {s.name for s in live}
    if "weapon" in names and names & _MEANS_FOR:
        return signals
    return [
        (replace(s, hedged=True) if s.name in HEDGEABLE and not s.negated else s, pos, folded)
        for s, pos, folded in signals
    ]


def _categories(signals: Iterable[Signal]) -> dict[str, float]:
    """Noisy-OR support per category from non-negated signals: each can only add."""
    missing = dict.fromkeys(ESCALATION_CATEGORIES, 1.0)
    signals = [s for s in signals if not s.negated]
    sexual = any(s.name == "sextortion" for s in signals)
    child = any(s.name == "minor" and s.strength >= _NAMED_MINOR for s in signals)
    for s in signals:
        weights = CATEGORY_WEIGHTS.get(s.name, ())
        if sexual and s.name in ("extortion", "sexual"):  # the blackmail and its images
            weights = SEXUAL_EXTORTION_WEIGHTS  # are the sextortion, not a scam or NCII
        elif child and s.name == "sexual":
            weights = SEXUAL_ABOUT_A_CHILD_WEIGHTS
        for category, weight in weights:
            missing[category] *= 1.0 - s.strength * weight
    return {c: round(1.0 - m, 3) for c, m in missing.items()}


def read(text: str, *, language_hint: str | None = None) -> TextReading:
    """Read ``text``: its language (the hint decides only when detection is unsure), its
    signals — de-duplicated, strongest first, negated ones kept but marked — and how much it
    supports each escalation category."""
    guess = detect_language(text, hint=language_hint)
    doc = _Text(text, _index())
    hint = language_hint.strip().lower()[:2] if language_hint else None
    located = [_signal(doc, m) for m in _find(doc, _active(guess.language, hint))]
    located = _hedge(_combine(located))
    best: dict[tuple[str, str, bool, bool], tuple[Signal, int]] = {}
    for signal, pos, folded in located:
        key = (signal.name, folded, signal.negated, signal.reported)
        held = best.get(key)
        if held is None or signal.strength > held[0].strength:
            best[key] = (signal, pos if held is None else min(pos, held[1]))
    ordered = sorted(
        best.values(),
        key=lambda sp: (
            -sp[0].strength,
            sp[1],
            sp[0].name,
            sp[0].evidence,
            sp[0].negated,
            sp[0].reported,
        ),
    )
    signals = tuple(s for s, _ in ordered)
    return TextReading(guess.language, guess.confidence, signals, _categories(signals))
