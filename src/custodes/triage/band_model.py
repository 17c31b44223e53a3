"""A learned reader of escalation text: how urgent (P0-P4) the words make it, with the words.

Why it exists: the curated rules were tuned on the development sets and scored 94-95 % exact
there, but on sets written independently and never seen they scored 53-70 % exact and let
4-7 P0-worthy escalations fall below P1 (docs/triage.md, "Measured"). A bag-of-words
logistic regression trained on a few hundred labelled escalations did better on the same
unseen sets, because it weighs every word a lead has seen matter instead of the few a rule
names. So the policy can let this model decide the band (``text_model: decide``) while the
rules keep what they are good at and must stay deterministic: P0 fast lanes with legal
clocks, floors, category, routing and SLA clocks.

It stays explainable: the model is linear, so each word's contribution to the chosen band is
its TF-IDF weight times the band's coefficient, and a rating lists the strongest ones. It is
a file in the package (``models/band-model.json.gz``, trained by ``custodes triage
train-model`` from the labelled sets it names with their SHA-256), loaded once, with no
download and no third-party code at run time: the arithmetic below is the whole model.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any, Final

from custodes.errors import CustodesError
from custodes.model.vocabulary import BANDS
from custodes.triage.lexicon import normalise

FORMAT: Final = "custodes-band-model/1"
BUILTIN: Final = "band-model.json.gz"
_WORD: Final = re.compile(r"\w\w+")
EXPLAIN: Final = 5  # words named in a rating's explanation


class BandModelError(CustodesError):
    """A model file that cannot be used, naming the file and what is wrong."""


def terms(text: str, source: str | None) -> list[str]:
    """The model's features of one escalation: its words and word pairs (case- and
    accent-free, so "AMENAÇA" and "ameaca" are one term) and the kind of sender."""
    words = _WORD.findall(normalise(text))
    out = words + [f"{a} {b}" for a, b in pairwise(words)]
    if source:
        out.append(f"source:{source}")
    return out


@dataclass(frozen=True)
class Opinion:
    """What the model makes of one text: a probability per band, the likeliest band, and the
    terms that pushed most towards it (term, contribution to that band's logit)."""

    probabilities: dict[str, float]
    band: str
    terms: tuple[tuple[str, float], ...]
    words: int = 0  # words in the text: a bag of a handful of words is noise

    @property
    def confidence(self) -> float:
        return self.probabilities[self.band]

    def describe(self) -> str:
        """One line for a rating's factor: the band, its probability, the words behind it."""
        words = ", ".join(f"'{t}' {w:+.2f}" for t, w in self.terms) or "no known words"
        return f"{self.band} {self.confidence:.2f} ({words})"


@dataclass(frozen=True)
class BandModel:
    """Multinomial logistic regression over sublinear TF-IDF of :func:`terms`."""

    version: str
    classes: tuple[str, ...]
    vocabulary: dict[str, int]
    idf: tuple[float, ...]
    coef: tuple[tuple[float, ...], ...]  # one row per class, one column per term
    intercept: tuple[float, ...]
    trained_on: tuple[dict[str, Any], ...] = ()

    def opinion(self, text: str, source: str | None = None) -> Opinion:
        names: dict[int, str] = {}
        counts: Counter[int] = Counter()
        features = terms(text, source)
        for t in features:
            if (i := self.vocabulary.get(t)) is not None:
                counts[i] += 1
                names[i] = t
        weights = {i: (1.0 + math.log(n)) * self.idf[i] for i, n in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        x = {i: w / norm for i, w in weights.items()}
        logits = [
            b + sum(row[i] * w for i, w in x.items())
            for row, b in zip(self.coef, self.intercept, strict=True)
        ]
        top = max(logits)
        exp = [math.exp(v - top) for v in logits]
        total = sum(exp)
        probabilities = {band: e / total for band, e in zip(self.classes, exp, strict=True)}
        best = max(range(len(self.classes)), key=lambda k: (logits[k], -k))
        pushes = sorted(
            ((names[i], self.coef[best][i] * w) for i, w in x.items()), key=lambda p: -p[1]
        )
        return Opinion(
            probabilities=probabilities,
            band=self.classes[best],
            terms=tuple((t, round(c, 2)) for t, c in pushes[:EXPLAIN] if c > 0),
            words=len(_WORD.findall(text)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "classes": list(self.classes),
            "trained_on": list(self.trained_on),
            "terms": sorted(self.vocabulary, key=self.vocabulary.__getitem__),
            "idf": [round(v, 6) for v in self.idf],
            "coef": [[round(v, 6) for v in row] for row in self.coef],
            "intercept": [round(v, 6) for v in self.intercept],
        }

    @classmethod
    def from_dict(cls, data: Any, *, file: str = "<model>") -> BandModel:
        def bad(reason: str) -> BandModelError:
            return BandModelError(f"{file}: {reason}")

        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise bad(f"not a band model (expected format {FORMAT!r})")
        try:
            classes = tuple(str(c) for c in data["classes"])
            vocabulary = [str(t) for t in data["terms"]]
            idf = tuple(float(v) for v in data["idf"])
            coef = tuple(tuple(float(v) for v in row) for row in data["coef"])
            intercept = tuple(float(v) for v in data["intercept"])
            version = str(data["version"])
            trained_on = tuple(dict(t) for t in data.get("trained_on", ()))
        except (KeyError, TypeError, ValueError) as exc:
            raise bad(f"malformed field ({exc})") from exc
        if not classes or set(classes) - set(BANDS) or len(set(classes)) != len(classes):
            raise bad(f"classes must be distinct bands of {', '.join(BANDS)}")
        if len(set(vocabulary)) != len(vocabulary):
            raise bad("terms are not distinct")
        if (
            len(idf) != len(vocabulary)
            or len(coef) != len(classes)
            or len(intercept) != len(classes)
        ):
            raise bad("idf, coef and intercept do not match the terms and classes")
        if any(len(row) != len(vocabulary) for row in coef):
            raise bad("every coef row needs one value per term")
        if not all(math.isfinite(v) for v in (*idf, *intercept, *(v for row in coef for v in row))):
            raise bad("numbers must be finite")
        return cls(
            version=version,
            classes=classes,
            vocabulary={t: i for i, t in enumerate(vocabulary)},
            idf=idf,
            coef=coef,
            intercept=intercept,
            trained_on=trained_on,
        )


def load_model(path: str | Path) -> BandModel:
    """A model file (``.json`` or gzip-compressed ``.json.gz``)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        data = json.loads(raw)
    except (OSError, EOFError, ValueError) as exc:
        raise BandModelError(f"{p}: cannot be read as a band model ({exc})") from exc
    return BandModel.from_dict(data, file=str(p))


@cache
def builtin_model() -> BandModel:
    """The model shipped in the package (read once per process)."""
    ref = resources.files("custodes.triage").joinpath("models", BUILTIN)
    with resources.as_file(ref) as path:
        return load_model(path)


def save_model(model: BandModel, path: str | Path) -> None:
    """Write ``model``; gzip-compressed when the name ends in ``.gz``. Written whole to a
    temporary name first, so a reader never sees half a model."""
    p = Path(path)
    body = json.dumps(model.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()
    if p.name.endswith(".gz"):
        body = gzip.compress(body, mtime=0)  # same content, same bytes
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_bytes(body)
    tmp.replace(p)
