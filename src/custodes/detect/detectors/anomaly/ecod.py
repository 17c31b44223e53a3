"""ECOD in plain SQL: how far into its role's tails is each actor-day, measure by measure?

ECOD (Li et al. 2022, "ECOD: Unsupervised Outlier Detection Using Empirical Cumulative
Distribution Functions") scores a row by how improbable each of its values is under the
training data's empirical distribution: per measure, the left tail probability
``P(X <= x)`` and the right one ``P(X >= x)``; the outlier score is the sum over measures of
``-ln`` of the tail probability, in three variants (all left, all right, and each measure's
tail chosen by the sign of its training skewness), of which it keeps the largest. Measures
with a known suspicious tail (``Tail.HIGH``/``LOW``) use that tail in all three variants,
the one-sided form the paper allows; only ``Tail.BOTH`` measures tell the variants apart.

Why it is written in SQL and not taken from PyOD: PyOD was tried and dropped, because
importing it takes ~5 s here (it drags numba and matplotlib) and an incremental run of one
new day must finish in 5 s in total; and detection must also run on Apache Spark, so every
step is a plain SELECT (joins, aggregates, window functions; no DuckDB list lambdas) that
SQLGlot transpiles, and :func:`plan` hands them out as named steps that a Spark runner can
materialise as temporary views.

Choices that keep it honest and fast:

* **Trained on past days only.** Days fall into periods of ``period_days`` (weeks from a
  fixed Monday, so a full run and an incremental one agree day for day); the training data
  of a period are the ``train_days`` before it. A burst of misconduct is never its own
  baseline, and a behaviour repeated daily stops being surprising only once it is history.
* **Stratified by role**, because a moderator's normal is an admin's anomaly; a role with
  fewer than ``min_train`` actor-days in the window is compared with the whole staff.
* **Exact tail counts without a self-join.** Values are put on a per-measure grid
  (``Measure.step``), training rows are reduced to per-period histograms, and a running sum
  over each histogram gives ``#{train >= x}`` and ``#{train <= x}``; a scored row then finds
  its tail count by an equality join. A tail probability is the training share at least
  as extreme, ``count / n``, and ``1 / (n + 1)`` for a value beyond everything seen (more
  surprising than the rarest seen value, not infinitely so). Not the conformal
  ``(1 + count) / (1 + n)``: that drifts with ``n``, so while the window fills, a value
  exactly as common as before would score a little higher than it did, and the days at the
  top of the calibration scores would cross their own threshold. Rows at a high-tail
  measure's floor (bin 0) cannot be surprising (``P(X >= 0) = 1``) and are left out, which
  is most rows of most counts.
* **A calibrated threshold.** Each period's threshold is the ``quantile`` (99.9 %) of the
  scores its stratum's rows got in the training window (themselves scored out of sample),
  so about one ordinary actor-day in a thousand crosses it; scores map to 0..1 by a
  logistic that is 0.5 at the threshold and 0.01 at the window's mean score.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from custodes.detect.detectors.anomaly.measures import Measure, Tail
from custodes.detect.features.sqltext import quote
from custodes.store.events import EventStore

EPOCH: Final = date(1970, 1, 5)  # a Monday: periods of 7 days are ISO weeks


@dataclass(frozen=True)
class EcodParams:
    train_days: int = 56  # training window before each period (a multiple of period_days)
    period_days: int = 7  # days scored against the same training data and threshold
    min_train: int = 100  # actor-days a role needs in the window to be its own stratum
    quantile: float = 0.999  # of training-window scores: the alert threshold
    min_calibration: int = 100  # scored actor-days needed behind a threshold
    scale_floor: float = 1.0  # nats: the logistic's width never goes below this

    def __post_init__(self) -> None:
        if self.period_days < 1 or self.train_days % self.period_days:
            raise ValueError("train_days must be a positive multiple of period_days")
        if not 0.0 < self.quantile < 1.0:
            raise ValueError("quantile must lie strictly between 0 and 1")

    @property
    def periods(self) -> int:
        """Training periods per window."""
        return self.train_days // self.period_days

    def period_of(self, day: date) -> int:
        return (day - EPOCH).days // self.period_days

    def period_start(self, period: int) -> date:
        return EPOCH + timedelta(days=period * self.period_days)


@dataclass(frozen=True)
class Window:
    """Which periods a run reads, scores raw (for calibration) and reports."""

    since: date | None
    first_read: int | None  # None: everything
    first_raw: int | None
    first_reported: int | None

    @classmethod
    def of(cls, params: EcodParams, since: date | None) -> Window:
        if since is None:
            return cls(None, None, None, None)
        k0 = params.period_of(since)
        k = params.periods
        return cls(since, k0 - 2 * k, k0 - k, k0)


Step = tuple[str, str]  # (temporary table name, SELECT producing it)
# The plan's last steps turn ``ecod_raw.o`` into calibrated scores: another model can
# replace ``o`` before they run (``forest.py``).
CALIBRATION_STEPS: Final = 2


def plan(measures: tuple[Measure, ...], params: EcodParams, window: Window) -> list[Step]:
    """The model as named SELECTs, in dependency order. ``ecod_scores`` (one row per scored
    actor-day) is the output; :func:`contributions_sql` reads the steps' tables to say which
    measures made a day stand out."""
    if not measures:
        raise ValueError("ECOD needs at least one measure")
    return [
        ("ecod_offsets", _offsets_sql(params)),
        ("ecod_measures", _measures_sql(measures)),
        ("ecod_actors", _ACTORS_SQL),
        ("ecod_base", _base_sql(measures, params, window)),
        ("ecod_long", _long_sql(measures)),
        ("ecod_rows", _rows_sql(measures)),
        ("ecod_strata", _strata_sql(params, window)),
        ("ecod_hist", _HIST_SQL),
        ("ecod_ntrain", _NTRAIN_SQL),
        ("ecod_bins", _BINS_SQL),
        ("ecod_train", _TRAIN_SQL),
        ("ecod_scored", _scored_sql(window)),
        ("ecod_raw", _RAW_SQL),
        ("ecod_calibration", _calibration_sql(params, window)),
        ("ecod_scores", _scores_sql(params, window)),
    ]


@contextmanager
def materialised(store: EventStore, steps: list[Step]) -> Iterator[None]:
    """Run a plan on DuckDB: each step as a temporary table, all dropped afterwards
    whatever happens (a Spark runner would register temporary views instead)."""
    try:
        for name, sql in steps:
            store.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
        yield
    finally:
        for name, _ in reversed(steps):
            store.execute(f"DROP TABLE IF EXISTS {name}")


def contributions_sql(measures: tuple[Measure, ...], wanted: str) -> str:
    """Per actor-day in ``wanted`` (a table with a ``rid`` column) and measure off its
    floor: the raw value, the surprise in the three ECOD variants, which tail the
    skewness-chosen variant used, and the training counts behind it."""
    raw = " ".join(f"WHEN {i} THEN CAST(b.{m.name} AS DOUBLE)" for i, m in enumerate(measures))
    return f"""
        SELECT l.rid, l.mid, CASE l.mid {raw} END AS raw, tr.stratum, tr.tail, tr.le, tr.ge,
            tr.n, tr.auto_side, tr.u_left, tr.u_right, tr.u_auto
        FROM ecod_long l
        JOIN {wanted} w ON w.rid = l.rid
        JOIN ecod_base b ON b.rid = l.rid
        JOIN ecod_strata t ON t.role = l.role AND t.period = l.period
        JOIN ecod_train tr ON tr.stratum = t.stratum AND tr.period = l.period
            AND tr.mid = l.mid AND tr.bin = l.bin
    """


def _ge(column: str, value: int | None) -> str:
    return "TRUE" if value is None else f"{column} >= {value}"


def _offsets_sql(params: EcodParams) -> str:
    rows = ", ".join(f"({i})" for i in range(1, params.periods + 1))
    return f"SELECT o FROM (VALUES {rows}) AS t(o)"


def _measures_sql(measures: tuple[Measure, ...]) -> str:
    rows = ", ".join(f"({i}, {quote(m.tail.value)}, {m.step!r})" for i, m in enumerate(measures))
    return f"SELECT mid, tail, step FROM (VALUES {rows}) AS t(mid, tail, step)"


def _day_number(day: str) -> str:
    return f"datediff('day', DATE '{EPOCH.isoformat()}', {day})"


# Actors numbered, so that an actor-day has a compact integer key without sorting the days.
_ACTORS_SQL = """
    SELECT actor_id, row_number() OVER (ORDER BY actor_id) AS anum
    FROM (SELECT DISTINCT actor_id FROM features_actor_day) a
"""


def _base_sql(measures: tuple[Measure, ...], params: EcodParams, window: Window) -> str:
    """One row per actor-day: an integer key, role, period and each measure's raw value."""
    since = (
        "TRUE"
        if window.first_read is None
        else f"day >= DATE '{params.period_start(window.first_read).isoformat()}'"
    )
    values = ", ".join(f"{m.sql} AS {m.name}" for m in measures)
    return f"""
        SELECT a.anum * 100000 + {_day_number("f.day")} AS rid, f.*,
            coalesce(p.role, '?') AS role,
            CAST(floor({_day_number("f.day")} / {params.period_days}) AS BIGINT) AS period
        FROM (SELECT actor_id, day, {values} FROM features_actor_day WHERE {since}) f
        JOIN ecod_actors a ON a.actor_id = f.actor_id
        LEFT JOIN people p ON p.actor_id = f.actor_id
    """


def _long_sql(measures: tuple[Measure, ...]) -> str:
    """One row per actor-day and measure that can add surprise, with its grid bin.

    Rows in bin 0 of a high-tail measure are left out: every value is >= 0, so
    ``P(X >= x)`` is 1 there and the row adds nothing (most rows of most counts)."""
    branches = []
    for i, m in enumerate(measures):
        bin_ = f"CAST(floor({m.compared(m.name)} / {m.step!r} + 0.5) AS BIGINT)"
        floor = f" AND {bin_} > 0" if m.tail is Tail.HIGH else ""
        branches.append(
            f"SELECT rid, role, period, {i} AS mid, {bin_} AS bin "
            f"FROM ecod_base WHERE {m.name} IS NOT NULL{floor}"
        )
    return "\nUNION ALL\n".join(branches)


def _rows_sql(measures: tuple[Measure, ...]) -> str:
    """Per role and period: actor-days, and how many of them define each measure."""
    counts = ", ".join(f"count({m.name}) AS {m.name}" for m in measures)
    wide = f"SELECT role, period, count(*) AS n_rows, {counts} FROM ecod_base GROUP BY role, period"
    branches = [
        f"SELECT role, period, n_rows, {i} AS mid, {m.name} AS n FROM w"
        for i, m in enumerate(measures)
    ]
    return f"WITH w AS ({wide})\n" + "\nUNION ALL\n".join(branches)


def _strata_sql(params: EcodParams, window: Window) -> str:
    """Which training data each role is compared with in each period: its own, the whole
    staff's when its own is too thin, or none (not scored)."""
    return f"""
        WITH r AS (SELECT DISTINCT role, period, n_rows FROM ecod_rows),
        role_train AS (
            SELECT r.role, r.period + o.o AS period, sum(r.n_rows) AS n
            FROM r CROSS JOIN ecod_offsets o GROUP BY r.role, r.period + o.o
        ),
        all_train AS (SELECT period, sum(n) AS n FROM role_train GROUP BY period)
        SELECT t.role, t.period,
            CASE WHEN coalesce(rt.n, 0) >= {params.min_train} THEN t.role
                 WHEN coalesce(a.n, 0) >= {params.min_train} THEN '*' END AS stratum
        FROM (SELECT DISTINCT role, period FROM r WHERE {_ge("period", window.first_raw)}) t
        LEFT JOIN role_train rt ON rt.role = t.role AND rt.period = t.period
        LEFT JOIN all_train a ON a.period = t.period
    """


# Per role, period, measure and bin: how many actor-days (the training histograms).
_HIST_SQL = """
    SELECT role, period, mid, bin, count(*) AS cnt FROM ecod_long GROUP BY role, period, mid, bin
"""

# Per stratum, period and measure: the training actor-days defining it, and the skewness of
# their (grid) values, which is ECOD's tail choice for ``Tail.BOTH``. Moments add up, so
# each period's are shifted onto the periods it trains and summed.
_NTRAIN_SQL = """
    WITH moments AS (
        SELECT h.role, h.period, h.mid, sum(h.cnt * h.bin * m.step) AS s1,
            sum(h.cnt * power(h.bin * m.step, 2)) AS s2,
            sum(h.cnt * power(h.bin * m.step, 3)) AS s3
        FROM ecod_hist h JOIN ecod_measures m ON m.mid = h.mid
        GROUP BY h.role, h.period, h.mid
    ),
    per AS (
        SELECT r.role, r.period, r.mid, r.n,
            coalesce(m.s1, 0) AS s1, coalesce(m.s2, 0) AS s2, coalesce(m.s3, 0) AS s3
        FROM ecod_rows r LEFT JOIN moments m
            ON m.role = r.role AND m.period = r.period AND m.mid = r.mid
    ),
    shifted AS (
        SELECT p.role AS stratum, p.period + o.o AS period, p.mid, p.n, p.s1, p.s2, p.s3
        FROM per p CROSS JOIN ecod_offsets o
    ),
    pooled AS (
        SELECT stratum, period, mid, n, s1, s2, s3 FROM shifted
        UNION ALL
        SELECT '*' AS stratum, period, mid, n, s1, s2, s3 FROM shifted
    ),
    need AS (SELECT DISTINCT stratum, period FROM ecod_strata WHERE stratum IS NOT NULL),
    summed AS (
        SELECT p.stratum, p.period, p.mid, sum(p.n) AS n,
            sum(p.s1) / sum(p.n) AS e1, sum(p.s2) / sum(p.n) AS e2, sum(p.s3) / sum(p.n) AS e3
        FROM pooled p JOIN need d ON d.stratum = p.stratum AND d.period = p.period
        GROUP BY p.stratum, p.period, p.mid
        HAVING sum(p.n) > 0
    ),
    centred AS (
        SELECT stratum, period, mid, n, e2 - e1 * e1 AS var,
            e3 - 3 * e1 * e2 + 2 * e1 * e1 * e1 AS m3
        FROM summed
    )
    SELECT stratum, period, mid, n,
        CASE WHEN var > 1e-12 THEN m3 / power(var, 1.5) ELSE 0 END AS skew
    FROM centred
"""

# Per stratum, period, measure and bin: the training actor-days in that bin. Each
# period's histogram is shifted onto the periods it trains (``ecod_offsets``); the bins
# the period's own rows fall in are added with a count of 0, so that every scored row finds
# its bin by an equality join, with no self-join of rows. (The shifted rows are filtered
# after the shift: joining them to the wanted strata directly invites a plan that joins
# before shifting.)
_BINS_SQL = """
    WITH need AS (
        SELECT DISTINCT stratum, period FROM ecod_strata WHERE stratum IS NOT NULL
    ),
    everyone AS (
        SELECT period, mid, bin, sum(cnt) AS cnt FROM ecod_hist GROUP BY period, mid, bin
    ),
    stream AS (
        SELECT x.stratum, x.period, x.mid, x.bin, x.cnt FROM (
            SELECT h.role AS stratum, h.period + o.o AS period, h.mid, h.bin, h.cnt
            FROM ecod_hist h CROSS JOIN ecod_offsets o
        ) x
        WHERE x.period IN (SELECT period FROM need)
        UNION ALL
        SELECT y.stratum, y.period, y.mid, y.bin, y.cnt FROM (
            SELECT '*' AS stratum, a.period + o.o AS period, a.mid, a.bin, a.cnt
            FROM everyone a CROSS JOIN ecod_offsets o
        ) y
        WHERE y.period IN (SELECT period FROM need WHERE stratum = '*')
        UNION ALL
        SELECT t.stratum, h.period, h.mid, h.bin, 0 AS cnt
        FROM ecod_hist h JOIN ecod_strata t ON t.role = h.role AND t.period = h.period
        WHERE t.stratum IS NOT NULL
    )
    SELECT stratum, period, mid, bin, sum(cnt) AS cnt
    FROM stream GROUP BY stratum, period, mid, bin
"""

# Per stratum, period, measure and bin: training rows at or below it and at or above it
# (running sums over the bins), and the surprise of a scored row in that bin in the three
# ECOD variants. Surprise depends on nothing but the bin, so it is computed here, once per
# bin, and not once per row.
_TRAIN_SQL = """
    WITH running AS (
        SELECT stratum, period, mid, bin, cnt,
            sum(cnt) OVER (PARTITION BY stratum, period, mid ORDER BY bin
                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS le,
            sum(cnt) OVER (PARTITION BY stratum, period, mid) AS total
        FROM ecod_bins
    ),
    tails AS (
        SELECT r.stratum, r.period, r.mid, r.bin, r.le, r.total - r.le + r.cnt AS ge,
            coalesce(n.n, 0) AS n, coalesce(n.skew, 0) AS skew, m.tail
        FROM running r
        JOIN ecod_measures m ON m.mid = r.mid
        LEFT JOIN ecod_ntrain n ON n.stratum = r.stratum AND n.period = r.period
            AND n.mid = r.mid
    ),
    surprise AS (
        SELECT stratum, period, mid, bin, le, ge, n, tail,
            CASE WHEN tail = 'low' OR (tail = 'both' AND skew < 0) THEN 'low'
                 ELSE 'high' END AS auto_side,
            -ln(CASE WHEN ge > 0 THEN CAST(ge AS DOUBLE) / n ELSE 1.0 / (1 + n) END) AS u_high,
            -ln(CASE WHEN le > 0 THEN CAST(le AS DOUBLE) / n ELSE 1.0 / (1 + n) END) AS u_low
        FROM tails
    )
    SELECT stratum, period, mid, bin, le, ge, n, tail, auto_side,
        CASE tail WHEN 'high' THEN u_high ELSE u_low END AS u_left,
        CASE tail WHEN 'low' THEN u_low ELSE u_high END AS u_right,
        CASE auto_side WHEN 'low' THEN u_low ELSE u_high END AS u_auto
    FROM surprise
"""


def _scored_sql(window: Window) -> str:
    """Each scored actor-day's measures off their floor, with their bin's surprise (only
    what the sums need: this is the biggest table of the run)."""
    return f"""
        SELECT l.rid, tr.u_left, tr.u_right, tr.u_auto
        FROM ecod_long l
        JOIN ecod_strata t ON t.role = l.role AND t.period = l.period
        JOIN ecod_train tr ON tr.stratum = t.stratum AND tr.period = l.period
            AND tr.mid = l.mid AND tr.bin = l.bin
        WHERE {_ge("l.period", window.first_raw)}
    """


# ECOD's outlier score per scored actor-day: the largest of the three variant sums (0 for a
# day on which no measure left its floor).
_RAW_SQL = """
    WITH sums AS (
        SELECT rid, sum(u_left) AS sl, sum(u_right) AS sr, sum(u_auto) AS sa
        FROM ecod_scored GROUP BY rid
    )
    SELECT b.rid, b.actor_id, b.day, b.role, b.period, s.stratum,
        round(greatest(coalesce(c.sl, 0), coalesce(c.sr, 0), coalesce(c.sa, 0)), 9) AS o,
        CASE WHEN coalesce(c.sl, 0) >= coalesce(c.sr, 0)
                AND coalesce(c.sl, 0) >= coalesce(c.sa, 0) THEN 'left'
             WHEN coalesce(c.sr, 0) >= coalesce(c.sa, 0) THEN 'right'
             ELSE 'auto' END AS variant
    FROM ecod_base b
    JOIN ecod_strata s ON s.role = b.role AND s.period = b.period
    LEFT JOIN sums c ON c.rid = b.rid
    WHERE s.stratum IS NOT NULL
"""


def _calibration_sql(params: EcodParams, window: Window) -> str:
    """Per stratum and period: the threshold (the ``quantile`` of the training window's
    out-of-sample scores), their mean and count.

    The threshold is the m-th largest score, m = ceil((1 - quantile) * n); the m-th largest
    of a union is among the union of each part's m largest, so only those are shifted."""
    tail = 1.0 - params.quantile
    return f"""
        WITH need AS (
            SELECT DISTINCT stratum, period FROM ecod_strata
            WHERE stratum IS NOT NULL AND {_ge("period", window.first_reported)}
        ),
        per AS (
            SELECT role, period, count(*) AS n, sum(o) AS total FROM ecod_raw
            GROUP BY role, period
        ),
        shifted AS (
            SELECT p.role AS stratum, p.period + o.o AS period, p.n, p.total
            FROM per p CROSS JOIN ecod_offsets o
        ),
        pooled AS (
            SELECT stratum, period, n, total FROM shifted
            UNION ALL
            SELECT '*' AS stratum, period, n, total FROM shifted
        ),
        counts AS (
            SELECT p.stratum, p.period, sum(p.n) AS n, round(sum(p.total) / sum(p.n), 9) AS mean,
                greatest(1, CAST(ceil({tail!r} * sum(p.n) - 1e-9) AS BIGINT)) AS m
            FROM pooled p JOIN need d ON d.stratum = p.stratum AND d.period = p.period
            GROUP BY p.stratum, p.period
        ),
        ranked AS (
            SELECT role, period, o,
                row_number() OVER (PARTITION BY role, period ORDER BY o DESC) AS r_role,
                row_number() OVER (PARTITION BY period ORDER BY o DESC) AS r_all
            FROM ecod_raw
        ),
        tops AS (
            SELECT r.role AS stratum, r.period + f.o AS period, r.o
            FROM ranked r CROSS JOIN ecod_offsets f
            WHERE r.r_role <= (SELECT max(m) FROM counts)
            UNION ALL
            SELECT '*' AS stratum, r.period + f.o AS period, r.o
            FROM ranked r CROSS JOIN ecod_offsets f
            WHERE r.r_all <= (SELECT max(m) FROM counts)
        ),
        ordered AS (
            SELECT stratum, period, o,
                row_number() OVER (PARTITION BY stratum, period ORDER BY o DESC) AS r
            FROM tops
        )
        SELECT c.stratum, c.period, c.n, c.mean, t.o AS threshold
        FROM counts c JOIN ordered t
            ON t.stratum = c.stratum AND t.period = c.period AND t.r = c.m
    """


def _scores_sql(params: EcodParams, window: Window) -> str:
    """Raw scores mapped to 0..1: 0.5 at the threshold, 0.01 at the window's mean."""
    since = "TRUE" if window.since is None else f"r.day >= DATE '{window.since.isoformat()}'"
    slope = math.log(99.0)
    return f"""
        SELECT r.rid, r.actor_id, r.day, r.stratum, r.variant, r.o,
            c.threshold, c.mean, c.n AS n_cal,
            1.0 / (1.0 + exp(least(greatest(
                -(r.o - c.threshold) * {slope!r}
                    / greatest(c.threshold - c.mean, {params.scale_floor!r}),
                -50.0), 50.0))) AS score
        FROM ecod_raw r
        JOIN ecod_calibration c ON c.stratum = r.stratum AND c.period = r.period
        WHERE c.n >= {params.min_calibration} AND {since}
    """
