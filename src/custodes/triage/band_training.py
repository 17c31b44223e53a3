"""Train the band model (:mod:`custodes.triage.band_model`) from labelled escalations.

Training uses scikit-learn (already a dependency for detection); the result is written as
plain numbers so that rating never needs it. The settings are the ones that did best on a
set nobody had tuned on (docs/triage.md, "Measured"): words and word pairs, sublinear TF-IDF,
L2-regularised multinomial logistic regression with C = 10 and classes weighted by their
inverse frequency, so that the rare P0s count as much as the common P2s.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from custodes.errors import InputError
from custodes.model.vocabulary import BANDS
from custodes.triage.band_model import BandModel, terms
from custodes.triage.escalation import EscalationInput

C: Final = 10.0


def train(
    records: Sequence[Mapping[str, Any]], *, version: str, trained_on: Iterable[dict[str, Any]] = ()
) -> BandModel:
    """A model fitted to ``records`` (contract §1.6 fields plus ``expected_band``)."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    texts, labels = [], []
    for row, record in enumerate(records, 1):
        e = EscalationInput.from_dict(record, row=row)
        band = record.get("expected_band")
        if band not in BANDS:
            raise InputError(f"must be one of {', '.join(BANDS)}", field="expected_band", row=row)
        texts.append(terms(e.text, e.source))
        labels.append(band)
    if len(set(labels)) < 2:
        raise InputError("training needs labels of at least two bands", field="expected_band")
    vectoriser = TfidfVectorizer(analyzer=lambda features: features, sublinear_tf=True)
    x = vectoriser.fit_transform(texts)
    fitted = LogisticRegression(C=C, max_iter=10_000, class_weight="balanced").fit(x, labels)
    vocabulary = vectoriser.get_feature_names_out()
    return BandModel(
        version=version,
        classes=tuple(str(c) for c in fitted.classes_),
        vocabulary={str(t): i for i, t in enumerate(vocabulary)},
        idf=tuple(float(v) for v in vectoriser.idf_),
        coef=tuple(tuple(float(v) for v in row) for row in fitted.coef_),
        intercept=tuple(float(v) for v in fitted.intercept_),
        trained_on=tuple(trained_on),
    )


def read_labelled(paths: Sequence[Path]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The records of JSON-lines files, and what each file was (name, rows, SHA-256), so a
    model names exactly the data it learned from."""
    records: list[dict[str, Any]] = []
    sources = []
    for path in paths:
        raw = path.read_bytes()
        rows = 0
        for line_no, line in enumerate(raw.decode("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise InputError(f"{path}: line {line_no} is not JSON ({exc})") from exc
            if not isinstance(record, dict):
                raise InputError(f"{path}: line {line_no} is not a JSON object")
            records.append(record)
            rows += 1
        sources.append({"file": path.name, "rows": rows, "sha256": hashlib.sha256(raw).hexdigest()})
    return records, sources
