"""Detection quality against ground-truth labels (data contract §1.5 and §2, `custodes evaluate`).

Why these metrics: an integrity team can only read so many actor-days, so what matters is
whether insiders surface *within an investigation budget*, not a threshold-free AUC. This
follows the CERT insider-threat literature (Tuor et al. 2017, "Deep learning for
unsupervised insider threat detection in structured cybersecurity data streams"), which ranks
user-days by anomaly score and reports recall under investigation budgets and the average
percentile of the insiders' days. Tuor et al. spend a budget per day (and sum recalls over
budgets, "cumulative recall"); here one budget is a fraction of *all* actor-days in the scored
period, so a single number compares runs over periods of different length.

Definitions (N = number of scored actor-days, one row per actor per day with activity):

* **Label window.** A label ``(actor_id, scenario, start, end)`` is the closed interval
  ``[start, end]``. ``end = None`` is open-ended: until the end of the last scored day (or
  without limit when nothing is scored). Timestamps without an offset are UTC; aware ones are
  converted to UTC.
* **Malicious actor-day.** A scored row ``(actor, day)`` whose calendar day (UTC) meets one of
  that actor's label windows, i.e. ``start.date() <= day <= end.date()``. A row is *benign*
  when it lies in no label window of any scenario: an analyst who reads another insider's day
  has not wasted budget.
* **Insider.** Per scenario, a distinct ``actor_id`` with at least one label of that scenario
  (several labels of one actor in one scenario are one insider with the union of their
  windows). Overall, a distinct labelled ``actor_id`` with the union of all its windows; an
  actor labelled in two scenarios counts once overall and once in each scenario.
* **Rank of a malicious day** (1 = most suspicious), with ties broken pessimistically:
  ``rank = 1 + #{rows with a higher score} + #{benign rows with an equal score}``. A malicious
  day tied with benign days ranks below all of them; malicious days tied with each other share
  a rank, so a scorer that gives every malicious day the top score is perfect.
* **Budget.** ``k(b) = ceil(b * N)`` actor-days for b = 0.1 %, 1 % and 5 %, computed exactly
  in rationals (0.1 % of 37 actor-days is ``ceil(0.037) = 1``, of 1000 is exactly 1).
* **recall_at_0_1pct / recall_at_1pct / recall_at_5pct.** The share of insiders with at least
  one malicious day of rank ``<= k(b)``. An insider with no scored activity in their window is
  never found.
* **mean_percentile.** Per insider, the percentile of their best (lowest-rank) malicious day,
  ``100 * (N - rank + 1) / N``: the share of actor-days ranked no better than it, so the top
  day is 100 and the bottom day is ``100 / N``. An insider without scored activity in their
  window scores 0. Averaged over the scenario's insiders.
* **detected.** Insiders with at least one alert of *any* category overlapping one of their
  windows in that scenario; **detected_same_category** only counts alerts whose category is
  the label's scenario. Alert windows are half-open ``[window_start, window_end)`` (a
  zero-length window is the instant ``window_start``), so an alert for the day before a label
  starts at midnight does not overlap it.
* **precision_top20.** Per scenario: among the 20 highest-scoring alerts whose category is that
  scenario, the share whose actor has a label *of that scenario* overlapping the alert.
  Overall: among the 20 highest-scoring alerts of any category, the share overlapping any label
  window of their actor. Ties at equal score are again pessimistic (misses sort first, then
  ``alert_id``). With fewer than 20 alerts the share is over those present; ``None`` with none.

Scenarios without insiders: the row is still reported (the contract's eight families by
default) with ``insiders = detected = 0`` and ``None`` for recalls and ``mean_percentile``,
because zero would read as "missed every insider" when there was nothing to miss;
``precision_top20`` is still computed, since alerts of that category are then all false.

Cost: one ``lexsort`` and two ``sort`` of the N scores plus binary searches, so
``O(N log N)``; labels and alerts are touched once per actor window.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time
from fractions import Fraction
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from custodes.detect.alert import Alert
from custodes.model.vocabulary import SCENARIOS

__all__ = [
    "BUDGETS",
    "FIELDS",
    "OVERALL",
    "TOP_ALERTS",
    "ActorDay",
    "ActorDayScores",
    "Evaluation",
    "Label",
    "ScenarioResult",
    "evaluate",
]

BUDGETS: Final[tuple[Fraction, ...]] = (Fraction(1, 1000), Fraction(1, 100), Fraction(5, 100))
TOP_ALERTS: Final = 20
OVERALL: Final = "overall"
_EPOCH: Final = date(1970, 1, 1)


@dataclass(frozen=True)
class ActorDay:
    """One actor's suspicion score for one day they were active (higher = more suspicious)."""

    actor_id: str
    day: date
    score: float


@dataclass(frozen=True)
class Label:
    """Ground truth (contract §1.5): ``actor_id`` misbehaved as ``scenario`` in [start, end]."""

    actor_id: str
    scenario: str
    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.scenario == OVERALL:
            raise ValueError(f"label scenario {OVERALL!r} is reserved for the overall row")
        if self.end is not None and _utc(self.end) < _utc(self.start):
            raise ValueError(
                f"label for {self.actor_id!r} ({self.scenario}) ends before it starts: "
                f"{self.start.isoformat()} > {self.end.isoformat()}"
            )


class ActorDayScores:
    """Actor-day scores held as columns, so half a million rows sort in numpy, not Python.

    ``codes`` index into ``actor_ids``; ``days`` are days since 1970-01-01.
    """

    __slots__ = ("actor_ids", "codes", "days", "scores")

    def __init__(
        self,
        actor_ids: Sequence[str],
        codes: npt.NDArray[np.int64],
        days: npt.NDArray[np.int64],
        scores: npt.NDArray[np.float64],
    ) -> None:
        if not len(codes) == len(days) == len(scores):
            raise ValueError("actor-day columns differ in length")
        bad = np.flatnonzero(np.isnan(scores))
        if bad.size:
            raise ValueError(f"actor-day score is NaN at row {int(bad[0])}")
        self.actor_ids: tuple[str, ...] = tuple(actor_ids)
        self.codes = codes
        self.days = days
        self.scores = scores

    def __len__(self) -> int:
        return len(self.scores)

    @classmethod
    def from_rows(cls, rows: Iterable[ActorDay]) -> ActorDayScores:
        index: dict[str, int] = {}
        codes: list[int] = []
        days: list[int] = []
        scores: list[float] = []
        for row in rows:
            codes.append(index.setdefault(row.actor_id, len(index)))
            days.append((row.day - _EPOCH).days)
            scores.append(row.score)
        return cls(
            list(index),
            np.asarray(codes, dtype=np.int64),
            np.asarray(days, dtype=np.int64),
            np.asarray(scores, dtype=np.float64),
        )

    @classmethod
    def from_arrow(cls, table: Any) -> ActorDayScores:
        """From a table with columns ``actor_id`` (string), ``day`` (date), ``score`` (float)."""
        for name in ("actor_id", "day", "score"):
            if name not in table.column_names:
                raise ValueError(f"actor-day table has no column {name!r}")
            nulls = table.column(name).null_count
            if nulls:
                raise ValueError(f"actor-day column {name!r} has {nulls} null value(s)")
        actors = pc.dictionary_encode(table.column("actor_id").combine_chunks())
        days = pc.cast(table.column("day"), pa.date32()).combine_chunks()
        return cls(
            actors.dictionary.to_pylist(),
            actors.indices.to_numpy(zero_copy_only=False).astype(np.int64),
            days.to_numpy(zero_copy_only=False).astype("datetime64[D]").astype(np.int64),
            table.column("score").to_numpy().astype(np.float64),
        )


@dataclass(frozen=True)
class ScenarioResult:
    """One row of `custodes evaluate`: a scenario family, or ``overall``."""

    scenario: str
    insiders: int
    detected: int
    detected_same_category: int
    recall_at_0_1pct: float | None
    recall_at_1pct: float | None
    recall_at_5pct: float | None
    mean_percentile: float | None
    precision_top20: float | None


FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in fields(ScenarioResult))


@dataclass(frozen=True)
class Evaluation:
    scenarios: tuple[ScenarioResult, ...]
    overall: ScenarioResult
    actor_days: int
    budget_days: tuple[int, ...]  # k(b) for each of BUDGETS

    def to_records(self) -> list[dict[str, str | int | float | None]]:
        """Scenario rows in order, then ``overall``; keys are exactly :data:`FIELDS`."""
        return [
            {name: getattr(row, name) for name in FIELDS} for row in (*self.scenarios, self.overall)
        ]


@dataclass(frozen=True)
class _Window:
    """A label resolved against the scored period: naive-UTC instants and day numbers."""

    actor_id: str
    scenario: str
    start: datetime
    end: datetime
    first_day: int
    last_day: int

    def overlaps(self, alert: Alert) -> bool:
        a_start, a_end = _utc(alert.window_start), _utc(alert.window_end)
        return a_start <= self.end and (a_end > self.start or a_start >= self.start)


def evaluate(
    scores: ActorDayScores | Iterable[ActorDay] | Any,
    labels: Iterable[Label],
    alerts: Iterable[Alert],
    *,
    scenarios: Sequence[str] = SCENARIOS,
) -> Evaluation:
    """Score a detection run against labels; see the module docstring for every definition.

    ``scores`` is an :class:`ActorDayScores`, an iterable of :class:`ActorDay`, or a pyarrow
    table (``actor_id``, ``day``, ``score``). ``scenarios`` fixes which rows are reported and
    their order; scenarios that appear only in the labels follow, sorted.
    """
    table = _as_scores(scores)
    n = len(table)
    last_scored = int(table.days.max()) if n else None
    windows = [_resolve(label, last_scored) for label in labels]
    best = _best_ranks(table, windows)
    alert_list = list(alerts)
    hits = _alert_hits(alert_list, windows)
    budget_days = tuple(math.ceil(b * n) for b in BUDGETS)

    # Which alerts count as true for precision: overlapping a window of their own actor (any
    # scenario for the overall row; the alert's own category for a scenario row).
    true_any: set[int] = set()
    true_same: set[int] = set()
    for w, found in zip(windows, hits, strict=True):
        true_any.update(found)
        true_same.update(j for j in found if alert_list[j].category == w.scenario)

    scope = _Scope(n, budget_days, windows, alert_list, hits, best)
    by_scenario: dict[str, list[int]] = defaultdict(list)
    for i, w in enumerate(windows):
        by_scenario[w.scenario].append(i)
    names = list(dict.fromkeys(scenarios))
    names += sorted(set(by_scenario) - set(names))
    rows = tuple(
        scope.result(
            name,
            by_scenario.get(name, []),
            [j for j, a in enumerate(alert_list) if a.category == name],
            true_same,
        )
        for name in names
    )
    overall = scope.result(OVERALL, range(len(windows)), range(len(alert_list)), true_any)
    return Evaluation(rows, overall, n, budget_days)


@dataclass(frozen=True)
class _Scope:
    """What every row shares; :meth:`result` aggregates one scenario (or all of them)."""

    n: int
    budget_days: tuple[int, ...]
    windows: list[_Window]
    alerts: list[Alert]
    hits: list[tuple[int, ...]]  # per window: indices of the alerts overlapping it
    best: list[int | None]  # per window: best rank of its malicious days, None if no activity

    def result(
        self,
        name: str,
        window_ids: Iterable[int],
        alert_ids: Iterable[int],
        true_alerts: set[int],
    ) -> ScenarioResult:
        per_actor: dict[str, list[int]] = defaultdict(list)
        for i in window_ids:
            per_actor[self.windows[i].actor_id].append(i)

        insiders = len(per_actor)
        detected = same = 0
        best_ranks: list[int | None] = []
        for ids in per_actor.values():
            ranks = [r for r in (self.best[i] for i in ids) if r is not None]
            best_ranks.append(min(ranks) if ranks else None)
            detected += any(self.hits[i] for i in ids)
            same += any(
                self.alerts[j].category == self.windows[i].scenario
                for i in ids
                for j in self.hits[i]
            )

        recalls: list[float | None] = [
            sum(r is not None and r <= k for r in best_ranks) / insiders if insiders else None
            for k in self.budget_days
        ]
        percentile = (
            # fsum is exactly rounded, so the mean does not depend on the labels' order.
            math.fsum(100.0 * (self.n - r + 1) / self.n for r in best_ranks if r is not None)
            / insiders
            if insiders
            else None
        )

        # Pessimistic at equal scores: false alerts sort before true ones.
        ranked = sorted(
            alert_ids,
            key=lambda j: (-self.alerts[j].score, j in true_alerts, self.alerts[j].alert_id),
        )
        top = ranked[:TOP_ALERTS]
        precision = sum(j in true_alerts for j in top) / len(top) if top else None
        r_small, r_mid, r_large = recalls
        return ScenarioResult(
            name, insiders, detected, same, r_small, r_mid, r_large, percentile, precision
        )


def _as_scores(scores: ActorDayScores | Iterable[ActorDay] | Any) -> ActorDayScores:
    if isinstance(scores, ActorDayScores):
        return scores
    if isinstance(scores, pa.Table):
        return ActorDayScores.from_arrow(scores)
    return ActorDayScores.from_rows(scores)


def _utc(ts: datetime) -> datetime:
    """Naive UTC, as the contract stores every timestamp."""
    return ts if ts.tzinfo is None else ts.astimezone(UTC).replace(tzinfo=None)


def _day_number(ts: datetime) -> int:
    return (ts.date() - _EPOCH).days


def _from_day_number(day: int) -> date:
    return date.fromordinal(_EPOCH.toordinal() + day)


def _resolve(label: Label, last_scored: int | None) -> _Window:
    start = _utc(label.start)
    if label.end is not None:
        end = _utc(label.end)
    elif last_scored is not None:
        end = datetime.combine(_from_day_number(last_scored), time.max)
    else:
        end = datetime.max
    # An open-ended label that starts after the last scored day is the instant of its start.
    end = max(end, start)
    return _Window(label.actor_id, label.scenario, start, end, _day_number(start), _day_number(end))


def _best_ranks(table: ActorDayScores, windows: Sequence[_Window]) -> list[int | None]:
    """Per window, the pessimistic rank of its best malicious day (None: no scored activity)."""
    n = len(table)
    order = np.lexsort((table.days, table.codes))
    codes = table.codes[order]
    days = table.days[order]
    scores = table.scores[order]
    dupes = np.flatnonzero((codes[1:] == codes[:-1]) & (days[1:] == days[:-1]))
    if dupes.size:
        row = int(order[dupes[0] + 1])
        raise ValueError(
            f"actor-day scores repeat actor {table.actor_ids[int(codes[dupes[0]])]!r} on "
            f"{_from_day_number(int(days[dupes[0]]))} (row {row}); "
            "expected one row per actor per day"
        )

    code_of = {actor: c for c, actor in enumerate(table.actor_ids)}
    spans: list[tuple[int, int]] = []
    malicious = np.zeros(n, dtype=bool)
    for w in windows:
        code = code_of.get(w.actor_id)
        if code is None:
            spans.append((0, 0))
            continue
        lo = int(np.searchsorted(codes, code, "left"))
        hi = int(np.searchsorted(codes, code, "right"))
        a = lo + int(np.searchsorted(days[lo:hi], w.first_day, "left"))
        b = lo + int(np.searchsorted(days[lo:hi], w.last_day, "right"))
        spans.append((a, b))
        malicious[a:b] = True

    ranks = np.zeros(n, dtype=np.int64)
    if malicious.any():
        all_sorted = np.sort(scores)
        benign_sorted = np.sort(scores[~malicious])
        s = scores[malicious]
        higher = n - np.searchsorted(all_sorted, s, "right")
        benign_ties = np.searchsorted(benign_sorted, s, "right") - np.searchsorted(
            benign_sorted, s, "left"
        )
        ranks[malicious] = 1 + higher + benign_ties
    return [int(ranks[a:b].min()) if b > a else None for a, b in spans]


def _alert_hits(alerts: Sequence[Alert], windows: Sequence[_Window]) -> list[tuple[int, ...]]:
    by_actor: dict[str, list[int]] = defaultdict(list)
    for j, alert in enumerate(alerts):
        by_actor[alert.actor_id].append(j)
    return [
        tuple(j for j in by_actor.get(w.actor_id, ()) if w.overlaps(alerts[j])) for w in windows
    ]
