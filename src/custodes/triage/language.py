"""Offline language identification for escalations: English, Spanish or Portuguese.

Uses lingua (``lingua-language-detector``), whose n-gram models ship inside the wheel, so
nothing is downloaded at run time. The detector is restricted to the three languages the
triage desk works in: a wider set would only add ways to be wrong between close
neighbours (Spanish/Galician/Catalan) that are routed the same way anyway. It is built
once, lazily, because loading models costs about a second and most processes never read
text.

Lingua's values are relative probabilities: a two-word text still gets a "winner". What
triage needs is *how sure to be*, so the confidence here is discounted for short texts and
is low when two languages are close (mixed text, code-switching). Below
:data:`UNSURE_BELOW` the answer is ``"und"`` — unless the sender told us the language, in
which case their hint wins (and only then: a hint never overrides a confident reading,
since requesters mislabel language often).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Final

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from custodes.model.vocabulary import ESCALATION_LANGUAGES

UNSURE_BELOW: Final = 0.5
FULL_CONFIDENCE_WORDS: Final = 6  # fewer words than this scales the confidence down
MAX_CHARS: Final = 400  # the language is clear well before this; keeps long texts cheap
UNDETERMINED: Final = "und"
MIXED_FACTOR: Final = 0.5  # each half clearly in a different language: code-switched text

_CODES: Final[dict[Language, str]] = {
    Language.ENGLISH: "en",
    Language.SPANISH: "es",
    Language.PORTUGUESE: "pt",
}
_WORD: Final = re.compile(r"[^\W\d_]{2,}")
_lock = threading.Lock()
_detector: LanguageDetector | None = None


@dataclass(frozen=True)
class LanguageGuess:
    """The language of a text (``"und"`` when unsure), how sure, and whether a hint decided."""

    language: str
    confidence: float
    from_hint: bool = False


def _get_detector() -> LanguageDetector:
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                _detector = LanguageDetectorBuilder.from_languages(*_CODES).build()
    return _detector


def _probabilities(sample: str, words: int) -> tuple[dict[Language, float], bool]:
    """Per-language probability of the sample, and whether it switches language halfway.

    Lingua's probabilities on a whole text hide code-switching (an English request that
    pastes a Portuguese message), so texts long enough are read as two halves: halves
    each clearly in a *different* language mean mixed text; otherwise their probabilities
    are averaged. Two half-length detections cost what one full one does, and are steadier
    than lingua's experimental multi-language mode.
    """
    detector = _get_detector()
    if words < 2 * FULL_CONFIDENCE_WORDS:
        values = detector.compute_language_confidence_values(sample)
        return {v.language: v.value for v in values}, False
    middle = len(sample) // 2
    cut = sample.rfind(" ", 0, middle)
    cut = cut if cut > 0 else middle
    halves = [
        {v.language: v.value for v in detector.compute_language_confidence_values(half)}
        for half in (sample[:cut], sample[cut:])
    ]
    tops = [max(h.items(), key=lambda kv: kv[1]) if h else None for h in halves]
    mixed = all(t is not None and t[1] >= 0.6 for t in tops) and tops[0][0] != tops[1][0]  # type: ignore[index]
    merged = {lang: (halves[0].get(lang, 0.0) + halves[1].get(lang, 0.0)) / 2 for lang in _CODES}
    return merged, mixed


def detect_language(text: str, *, hint: str | None = None) -> LanguageGuess:
    """The language of ``text``; ``hint`` (en/es/pt) is used only when detection is unsure.

    Confidence is lingua's top probability, times the margin over the runner-up, times a
    length factor, halved for text that switches language: a clear sentence scores near 1
    while "ok", "pix" or a message pasted into a request in another language scores low.
    """
    hint = hint.strip().lower()[:2] if hint else None
    if hint not in ESCALATION_LANGUAGES:
        hint = None
    sample = text[:MAX_CHARS]
    words = len(_WORD.findall(sample))
    confidence, language = 0.0, UNDETERMINED
    if words:
        probabilities, mixed = _probabilities(sample, words)
        ranked = sorted(probabilities.items(), key=lambda kv: (-kv[1], _CODES[kv[0]]))
        if ranked and ranked[0][1] > 0.0:
            top = ranked[0][1]
            second = ranked[1][1] if len(ranked) > 1 else 0.0
            margin = min(1.0, (top - second) / 0.5)  # a 0.5 lead counts as decisive
            length = min(1.0, words / FULL_CONFIDENCE_WORDS)
            confidence = top * (0.5 + 0.5 * margin) * length * (MIXED_FACTOR if mixed else 1.0)
            confidence = round(confidence, 3)
            language = _CODES[ranked[0][0]]
    if confidence >= UNSURE_BELOW:
        return LanguageGuess(language, confidence)
    if hint is not None:
        return LanguageGuess(hint, confidence, from_hint=True)
    return LanguageGuess(UNDETERMINED, confidence)
