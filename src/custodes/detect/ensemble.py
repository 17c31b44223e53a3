"""One ranking score per actor-day from every detector's scores: agreement and persistence.

Why not the maximum over detectors: each detector has its own tail of innocent extremes (a
legitimate big download, a day of odd QA luck), and the maximum inherits every one of those
tails, so the more detectors run, the more innocent days crowd the top. Misconduct differs
from those accidents in two ways an analyst also uses:

* **agreement** — independent detectors see it on the same day (a rule and a baseline and the
  anomaly model); and
* **persistence** — it recurs over days and weeks, while an innocent spike is a one-off.

So each detector's score ``s`` becomes evidence ``e = max(0, logit(s) - logit(FLOOR))`` (zero
for ordinary days, growing with how sure the detector is; ``s`` is clipped away from 0 and 1).
A day's evidence ``E`` adds the detectors' evidence with diminishing weights ``1, 1/2, 1/4,
...`` from the strongest down (as in the risk score), so agreement counts but one noisy
detector cannot dominate by repetition. The actor-day's ensemble evidence accumulates the
actor's recent days with a decay of ``HALF_LIFE_DAYS``, over ``WINDOW_DAYS``:
``T(d) = sum over d - WINDOW < d' <= d of E(d') * 2 ** (-(d - d') / HALF_LIFE)``, and the
ranking score is ``1 - exp(-T / SCALE)``: monotone in ``T``, in 0..1.

The result is stored as detector ``ensemble`` in ``actor_day_scores`` and is what `custodes
evaluate` ranks. Alerts and risk scores are unchanged by it: an alert is still one
detector's checkable finding.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Final

from custodes.store.events import EventStore

NAME: Final = "ensemble"
FLOOR: Final = 0.3  # detector scores at or below this are no evidence at all
HALF_LIFE_DAYS: Final = 4.0
WINDOW_DAYS: Final = 1
SCALE: Final = 8.0
_CLIP: Final = 1e-6


def build_ensemble(store: EventStore, since: date | None, run: int) -> int:
    """Replace the ensemble rows for days >= since (all when None); returns rows written.
    Call inside the detection transaction, after every detector's scores are stored."""
    floor = math.log(FLOOR / (1 - FLOOR))
    decay = math.log(2) / HALF_LIFE_DAYS
    cutoff = "TRUE" if since is None else f"day >= DATE '{since.isoformat()}'"
    store.execute(f"DELETE FROM actor_day_scores WHERE detector = '{NAME}' AND {cutoff}")
    store.execute(
        f"""
        INSERT INTO actor_day_scores (actor_id, day, detector, score, detect_run)
        WITH per_detector AS (
            SELECT actor_id, day, detector,
                   greatest(0, ln(s / (1 - s)) - {floor}) AS e
            FROM (
                SELECT actor_id, day, detector,
                       least(greatest(max(score), {_CLIP}), 1 - {_CLIP}) AS s
                FROM actor_day_scores WHERE detector <> '{NAME}'
                GROUP BY actor_id, day, detector
            )
        ),
        daily AS (
            SELECT actor_id, day, sum(e * w) AS e
            FROM (
                SELECT actor_id, day, e,
                       pow(0.5, row_number() OVER (
                           PARTITION BY actor_id, day ORDER BY e DESC, detector) - 1) AS w
                FROM per_detector WHERE e > 0
            )
            GROUP BY actor_id, day
        ),
        days AS (  -- every active actor-day is ranked, scored or not
            SELECT actor_id, day FROM features_actor_day WHERE {cutoff}
            UNION
            SELECT actor_id, day FROM actor_day_scores WHERE detector <> '{NAME}' AND {cutoff}
        ),
        accumulated AS (
            SELECT d.actor_id, d.day,
                   coalesce(sum(x.e * exp(-{decay} * (d.day - x.day))), 0) AS t
            FROM days d
            LEFT JOIN daily x ON x.actor_id = d.actor_id
                AND x.day <= d.day AND x.day > d.day - {WINDOW_DAYS}
            GROUP BY d.actor_id, d.day
        )
        SELECT actor_id, day, '{NAME}', 1 - exp(-t / {SCALE}), {int(run)} FROM accumulated
        """
    )
    return int(
        store.fetch_value(f"SELECT count(*) FROM actor_day_scores WHERE detector = '{NAME}'")
    )
