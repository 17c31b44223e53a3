"""Isolation Forest (Liu, Ting and Zhou 2008) as the anomaly model's alternative to ECOD.

Optional, and imported only when chosen: scikit-learn alone takes ~3 s to import, and an
incremental run of one new day has 5 s in total; it also runs in Python, not in SQL, so
unlike ECOD it does not move to Spark with the rest of detection. It reuses everything
around the model — measures, role strata, periods, training windows, calibration — and only
replaces ECOD's raw score in ``ecod_raw``: one forest per stratum and period, fitted on the
training window and scoring the period. Alerts still explain themselves with ECOD's
per-measure tail rarities, which say *what* is unusual even though a forest cannot.

What it sees that ECOD does not: combinations (two measures that usually trade off, both
high at once). What it cannot see: a value far beyond everything in training scores no
higher than the largest value seen, because every split lies within the training range;
and a measure that was always 0 in training is never split on at all. Most misconduct is
exactly that (the first unticketed views, the first removable copy), which is why ECOD is
the default.

Two adaptations to the actor-day data: a forest isolates extremes in any direction, so each
measure is clipped at its training median on its innocent side (unusually *few* unticketed
views is not a finding); and undefined values (a share of nothing) become -1, outside every
measure's range, their own region rather than a guess.
"""

from __future__ import annotations

import warnings
from typing import Any, Final

import numpy as np
import pyarrow as pa

from custodes.detect.detectors.anomaly.ecod import EcodParams
from custodes.detect.detectors.anomaly.measures import Measure, Tail
from custodes.store.events import EventStore

TREES: Final = 100
SAMPLES: Final = 256  # per tree, the paper's default
UNDEFINED: Final = -1.0
SEED: Final = 0  # forests are random; a fixed seed keeps runs reproducible


def rescore(store: EventStore, measures: tuple[Measure, ...], params: EcodParams) -> None:
    """Replace ``ecod_raw.o`` by Isolation Forest anomaly scores (0..1, higher = stranger)."""
    from sklearn.ensemble import IsolationForest  # type: ignore[import-untyped]

    values = ", ".join(f"{m.compared(m.name)} AS m{i}" for i, m in enumerate(measures))
    base = store.fetch_arrow(f"SELECT rid, role, period, {values} FROM ecod_base ORDER BY rid")
    x = np.column_stack(
        [base.column(f"m{i}").to_numpy(zero_copy_only=False) for i in range(len(measures))]
    ).astype(float)
    rid = base.column("rid").to_numpy()
    role = np.asarray(base.column("role").to_pylist(), dtype=object)
    period = base.column("period").to_numpy()
    strata = store.fetch_all(
        "SELECT role, period, stratum FROM ecod_strata WHERE stratum IS NOT NULL "
        "ORDER BY period, role"
    )
    forests: dict[tuple[str, int], tuple[Any, np.ndarray[Any, Any]]] = {}
    out_rid: list[np.ndarray[Any, Any]] = []
    out_score: list[np.ndarray[Any, Any]] = []
    for group, k, stratum in strata:
        if (stratum, k) not in forests:
            window = (period >= k - params.periods) & (period < k)
            if stratum != "*":
                window &= role == stratum
            train = x[window]
            medians = _medians(train)
            sample = min(SAMPLES, len(train))
            forest = IsolationForest(n_estimators=TREES, max_samples=sample, random_state=SEED)
            forest.fit(_prepared(train, medians, measures))
            forests[(stratum, k)] = (forest, medians)
        forest, medians = forests[(stratum, k)]
        scored = (role == group) & (period == k)
        if scored.any():
            out_rid.append(rid[scored])
            out_score.append(-forest.score_samples(_prepared(x[scored], medians, measures)))
    table = pa.table(
        {
            "rid": pa.array(np.concatenate(out_rid) if out_rid else [], pa.int64()),
            "o": pa.array(np.concatenate(out_score) if out_score else [], pa.float64()),
        }
    )
    store.register("forest_scores", table)
    try:
        store.execute(
            "UPDATE ecod_raw SET o = round(f.o, 9) FROM forest_scores f WHERE ecod_raw.rid = f.rid"
        )
    finally:
        store.unregister("forest_scores")


def _medians(train: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Per measure, over defined values; 0 for a measure nobody defined."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-undefined columns
        medians = np.nanmedian(train, axis=0)
    filled: np.ndarray[Any, Any] = np.nan_to_num(medians, nan=0.0)
    return filled


def _prepared(
    x: np.ndarray[Any, Any], medians: np.ndarray[Any, Any], measures: tuple[Measure, ...]
) -> np.ndarray[Any, Any]:
    out = x.copy()
    for j, m in enumerate(measures):
        column = out[:, j]
        if m.tail is Tail.HIGH:
            np.maximum(column, medians[j], out=column, where=~np.isnan(column))
        elif m.tail is Tail.LOW:
            np.minimum(column, medians[j], out=column, where=~np.isnan(column))
    prepared: np.ndarray[Any, Any] = np.nan_to_num(out, nan=UNDEFINED)
    return prepared
