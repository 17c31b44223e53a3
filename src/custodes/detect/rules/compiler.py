"""A rule becomes one parameterised DuckDB query over the store.

Every identifier in the SQL comes from the catalogue in ``fields`` (names a rule uses have
been matched against it when the rule was read), every value a rule supplies is a bound
``$parameter``, and the only numbers written into the text are validated integers (window
lengths). Each query returns one row per hit: ``actor_id, day, margin, v0, v1, ...`` where
``day`` is the actor's local day, ``v*`` are the observed values behind the rule (one per
comparison, or the threshold's measure) and ``margin`` says how far past the bar they are
(0 = just at it), which the score grows with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from custodes.detect.rules.fields import ACTOR, Type, default_aggregate, event_field
from custodes.detect.rules.model import Condition, Filter, Group, Rule

FEATURES_TABLE: Final = "features_actor_day"
_SQL_OP: Final = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "==": "=", "!=": "<>"}
_SQL_AGG: Final = {"sum": "sum", "mean": "avg", "max": "max", "min": "min"}
# A shift that starts on someone's last day may end the next morning (night shifts).
_END_GRACE_HOURS: Final = 36
# Zone offsets lie within -12 h..+14 h: a local day starts at most one UTC day earlier.
_MAX_LEAD: Final = timedelta(days=1)
_DAY_US: Final = 86_400_000_000


@dataclass(frozen=True)
class Query:
    """A compiled rule: SQL, its parameters, and what each value column means."""

    rule: Rule
    sql: str
    params: dict[str, Any]
    values: tuple[str, ...]  # how a person reads v0, v1, ...: "self_grants (7-day sum)"
    thresholds: tuple[str, ...]  # the bar each value is held to: ">= 1"
    per: str | None = None  # events rules with `per`: rows end with the key that passed


@dataclass
class _Params:
    values: dict[str, Any] = field(default_factory=dict)

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compile_rule(rule: Rule, since: date | None = None) -> Query:
    """The query finding the rule's hits on local days >= ``since`` (all days when None)."""
    if rule.over == "features":
        return _features(rule, since)
    return _events(rule, since)


# -- shared parts ---------------------------------------------------------------------------


def _scope(rule: Rule, params: _Params) -> str:
    """Who the rule looks at (people p); staff missing from the directory have no role, so
    only an explicit ``roles`` list leaves them out."""
    parts = ["TRUE"]
    scope = rule.scope
    if scope.roles:
        parts.append(f"p.role IN ({', '.join(params.add(r) for r in scope.roles)})")
    if scope.not_roles:
        names = ", ".join(params.add(r) for r in scope.not_roles)
        parts.append(f"coalesce(p.role NOT IN ({names}), TRUE)")
    if scope.privileged is not None:
        parts.append(f"coalesce(p.privileged, FALSE) = {params.add(scope.privileged)}")
    return " AND ".join(parts)


def _after(rule: Rule, day: str) -> str:
    """Same meaning as the employment features: on or after notice, strictly after the end."""
    if rule.after == "notice_date":
        return f"(p.notice_date IS NOT NULL AND {day} >= p.notice_date)"
    if rule.after == "end_date":
        return f"(p.end_date IS NOT NULL AND {day} > p.end_date)"
    return "TRUE"


def _after_event(rule: Rule, local_ts: str) -> str:
    """For single events: on or after the notice day; after the end date only once a night
    shift that started on the last day is over (noon the day after, local time)."""
    if rule.after == "end_date":
        return (
            f"(p.end_date IS NOT NULL AND {local_ts} >= "
            f"CAST(p.end_date AS TIMESTAMP) + INTERVAL {_END_GRACE_HOURS} HOUR)"
        )
    return _after(rule, f"CAST({local_ts} AS DATE)")


def _frame(days: int, partition: str = "actor_id") -> str:
    return (
        f"WINDOW w AS (PARTITION BY {partition} ORDER BY day "
        f"RANGE BETWEEN INTERVAL {int(days) - 1} DAYS PRECEDING AND CURRENT ROW)"
    )


def _margin(value: str, op: str, bar: str) -> str:
    """How far past the bar, relative to it: 0 at the bar, 1 at twice it."""
    scale = f"greatest(abs({bar}), 1e-9)"
    if op in (">", ">="):
        return f"(({value}) - {bar}) / {scale}"
    if op in ("<", "<="):
        return f"({bar} - ({value})) / {scale}"
    return "0.0"


def _since_filter(since: date | None, params: _Params, column: str = "day") -> str:
    return "TRUE" if since is None else f"{column} >= {params.add(since)}"


def _history_start(rule: Rule, since: date | None) -> date | None:
    """The first day a window ending on ``since`` reaches back to."""
    return None if since is None else since - timedelta(days=rule.window.days - 1)


# -- features rules -------------------------------------------------------------------------


def _features(rule: Rule, since: date | None) -> Query:
    params = _Params()
    comparisons = rule.comparisons
    window = rule.window
    windowed = window.days > 1
    picks = []
    rolled = []
    names = []
    for i, c in enumerate(comparisons):
        picks.append(f"CAST(f.{_quote(c.feature)} AS DOUBLE) AS x{i}")
        aggregate = c.aggregate or window.aggregate or default_aggregate(c.feature)
        if windowed:
            rolled.append(f"{_SQL_AGG[aggregate]}(x{i}) OVER w AS v{i}")
            names.append(f"{c.feature} ({window.days}-day {aggregate})")
        else:
            rolled.append(f"x{i} AS v{i}")
            names.append(c.feature)
    known = " AND ".join(f"x{i} IS NOT NULL" for i in range(len(comparisons)))
    signal = " OR ".join(f"x{i} <> 0" for i in range(len(comparisons)))
    # Thin evidence: the days in the window on which every feature the rule names is known.
    # A window is reported on the days that carry the signal themselves, not on every
    # quiet day while an old burst is still inside the window.
    if windowed:
        rolled.append(f"count(*) FILTER (WHERE {known}) OVER w AS n_days")
        rolled.append(f"coalesce({known} AND ({signal}), FALSE) AS today")
    else:
        rolled.append("1 AS n_days, TRUE AS today")
    index = {id(c): i for i, c in enumerate(comparisons)}
    assert rule.where is not None
    condition, margin = _condition(rule.where, index, params)
    lo = _history_start(rule, since)
    history = "TRUE" if lo is None else f"f.day >= {params.add(lo)}"
    sql = f"""
WITH base AS (
    SELECT f.actor_id, f.day, {", ".join(picks)}
    FROM {FEATURES_TABLE} f
    LEFT JOIN people p ON p.actor_id = f.actor_id
    WHERE {_scope(rule, params)} AND {_after(rule, "f.day")} AND {history}
),
rolled AS (
    SELECT actor_id, day, {", ".join(rolled)}
    FROM base
    {_frame(window.days) if windowed else ""}
)
SELECT actor_id, day, greatest(coalesce({margin}, 0.0), 0.0) AS margin,
       {", ".join(f"v{i}" for i in range(len(comparisons)))}
FROM rolled
WHERE ({condition}) AND today AND n_days >= {int(window.min_days)}
    AND {_since_filter(since, params)}
ORDER BY actor_id, day
"""
    bars = tuple(f"{c.op} {plain_number(c.value)}" for c in comparisons)
    return Query(rule, sql, params.values, tuple(names), bars)


def _condition(condition: Condition, index: dict[int, int], params: _Params) -> tuple[str, str]:
    """(SQL that holds on a hit, SQL for its margin)."""
    if isinstance(condition, Group):
        parts = [_condition(item, index, params) for item in condition.items]
        joiner = " AND " if condition.mode == "all" else " OR "
        # All must hold: the rule is as far past the bar as its closest call; any: its best.
        combine = "least" if condition.mode == "all" else "greatest"
        test = joiner.join(f"({t})" for t, _ in parts)
        margin = f"{combine}({', '.join(m for _, m in parts)})" if len(parts) > 1 else parts[0][1]
        return test, margin
    i = index[id(condition)]
    bar = params.add(float(condition.value))
    return f"v{i} {_SQL_OP[condition.op]} {bar}", _margin(f"v{i}", condition.op, bar)


# -- events rules ---------------------------------------------------------------------------


def _events(rule: Rule, since: date | None) -> Query:
    params = _Params()
    threshold = rule.threshold
    window = rule.window
    windowed = window.days > 1
    needs_accounts = any(_field(f.field).account for f in rule.filters)
    measure = "NULL"
    if threshold.field != "events":
        fld = _field(threshold.field)
        needs_accounts = needs_accounts or fld.account
        measure = fld.sql
        if threshold.measure in ("sum", "max") and (fld.attrs or fld.type is not Type.number):
            measure = f"TRY_CAST({fld.sql} AS DOUBLE)"
    key, keyed = "NULL", "TRUE"
    if threshold.per is not None:
        per = _field(threshold.per)
        needs_accounts = needs_accounts or per.account
        key = f"CAST({per.sql} AS VARCHAR)"
        keyed = f"{key} IS NOT NULL"  # an event without the key belongs to no group
    actions = ", ".join(params.add(a) for a in rule.actions)
    filters = " AND ".join(_filter(f, params) for f in rule.filters) or "TRUE"
    lo = _history_start(rule, since)
    history = "TRUE"
    if lo is not None:
        history = f"e.ts >= {params.add(datetime.combine(lo, time.min) - _MAX_LEAD)}"
    # The local time of each event: the zone's offset on that UTC day when it holds all
    # day (a join on a few thousand rows), else (days with a change) converted one by one.
    local_ts = (
        "CASE WHEN z.off IS NOT NULL THEN e.ts + z.off "
        "ELSE timezone(coalesce(p.timezone, 'UTC'), CAST(e.ts AS TIMESTAMPTZ)) END"
    )
    accounts = "LEFT JOIN accounts a ON a.account_id = e.target_id" if needs_accounts else ""
    daily, roll, single = _measure(threshold.measure, threshold.field)
    if windowed:
        rolled = f"{roll} AS v, count(*) OVER w AS n_days"
        frame = _frame(window.days, "actor_id, k")
    else:
        rolled, frame = f"{single} AS v, 1 AS n_days", ""
    bar = params.add(float(threshold.value))
    # With `per`, each (actor, key) is measured on its own; an actor-day is a hit when some
    # key passes, and the key furthest past the bar is the one reported (the first in order
    # among equals, so that runs agree).
    sql = f"""
WITH {_zones_sql(history)},
ev AS (
    SELECT e.actor_id, CAST({local_ts} AS DATE) AS day, {key} AS k, {measure} AS m
    FROM events e
    LEFT JOIN people p ON p.actor_id = e.actor_id
    LEFT JOIN zones z ON z.tz = coalesce(p.timezone, 'UTC') AND z.d = CAST(e.ts AS DATE)
    {accounts}
    WHERE e.action IN ({actions}) AND ({filters}) AND {_scope(rule, params)} AND {history}
        AND {keyed} AND {_after_event(rule, local_ts)}
),
daily AS (
    SELECT actor_id, k, day, {daily} AS d
    FROM ev
    GROUP BY actor_id, k, day
),
rolled AS (
    SELECT actor_id, k, day, {rolled}
    FROM daily
    {frame}
),
passed AS (
    SELECT actor_id, k, day, v, greatest(coalesce({_margin("v", threshold.op, bar)}, 0.0), 0.0)
        AS margin
    FROM rolled
    WHERE v {_SQL_OP[threshold.op]} {bar} AND n_days >= {int(window.min_days)}
        AND {_since_filter(since, params)}
)
SELECT actor_id, day, max(margin) AS margin, first(v ORDER BY margin DESC, k) AS v0,
    first(k ORDER BY margin DESC, k) AS k
FROM passed
GROUP BY actor_id, day
ORDER BY actor_id, day
"""
    span = f" in {window.days} days" if windowed else " that day"
    return Query(
        rule,
        sql,
        params.values,
        (f"{_what(rule)}{span}",),
        (f"{threshold.op} {plain_number(threshold.value)}",),
        per=threshold.per,
    )


def _zones_sql(history: str) -> str:
    """CTE ``zones`` (tz, d, off): each staff time zone's UTC offset on each UTC day ``d``
    of the events read, for the days on which it does not change (its offset at the first
    and the last instant of the day agree; zones change offset a few times a year at
    most). Converting every event's time through the zone database would cost more than
    the rest of an events rule over review decisions."""
    return f"""zones AS (
    SELECT tz, d, off FROM (
        SELECT z.tz, r.d,
            timezone(z.tz, CAST(r.d AS TIMESTAMPTZ)) - CAST(r.d AS TIMESTAMP) AS off,
            timezone(z.tz, CAST(r.d AS TIMESTAMPTZ) + INTERVAL {_DAY_US - 1} MICROSECOND)
                - (CAST(r.d AS TIMESTAMP) + INTERVAL {_DAY_US - 1} MICROSECOND) AS off_end
        FROM (
            SELECT coalesce(timezone, 'UTC') AS tz FROM people UNION SELECT 'UTC'
        ) AS z
        CROSS JOIN (
            SELECT first + CAST(unnest(range(last - first + 1)) AS INTEGER) AS d
            FROM (
                SELECT CAST(min(e.ts) AS DATE) AS first, CAST(max(e.ts) AS DATE) AS last
                FROM events e WHERE {history}
            )
        ) AS r
        WHERE z.tz IN (SELECT name FROM pg_timezone_names())
    ) WHERE off = off_end
)"""


def _what(rule: Rule) -> str:
    """'copy_to_removable events', 'distinct target_id of view_private_data', ..."""
    actions = " or ".join(rule.actions) if len(rule.actions) <= 2 else "matching"
    threshold = rule.threshold
    if threshold.measure == "count":
        of = "" if threshold.field == "events" else f" with {threshold.field}"
        return f"{actions} events{of}"
    return f"{threshold.describe()} of {actions} events"


def _measure(measure: str, target: str) -> tuple[str, str, str]:
    """(the per-day aggregate d, its roll-up over a window, its value for one day)."""
    if measure == "count":
        return ("count(*)" if target == "events" else "count(m)"), "sum(d) OVER w", "d"
    if measure == "distinct":
        # Distinct across days needs the values themselves, not per-day counts.
        return (
            "list(DISTINCT m) FILTER (WHERE m IS NOT NULL)",
            "len(list_distinct(flatten(list(d) OVER w)))",
            "len(d)",
        )
    if measure == "sum":
        return "sum(m)", "sum(d) OVER w", "d"
    return "max(m)", "max(d) OVER w", "d"


def _field(name: str) -> Any:
    fld = event_field(name)
    if fld is None:  # rules are validated when read; this guards hand-built Rule objects
        raise ValueError(f"unknown event field {name!r}")
    return fld


def _filter(f: Filter, params: _Params) -> str:
    fld = _field(f.field)
    expr = fld.sql
    if f.test == "exists":
        return f"{expr} IS {'NOT ' if f.values[0] else ''}NULL"
    if f.values == (ACTOR,):
        return f"{expr} {_SQL_OP[f.test]} e.actor_id"
    values: list[Any] = list(f.values)
    if fld.attrs:
        first = values[0]
        if isinstance(first, bool):
            values = ["true" if v else "false" for v in values]
        elif isinstance(first, int | float):
            expr = f"TRY_CAST({expr} AS DOUBLE)"
    if f.test in ("in", "not_in"):
        names = ", ".join(params.add(v) for v in values)
        return f"{expr} {'NOT IN' if f.test == 'not_in' else 'IN'} ({names})"
    return f"{expr} {_SQL_OP[f.test]} {params.add(values[0])}"


def plain_number(value: float) -> str:
    """How people read numbers in reasons: 3, 0.417, 25,000,000."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def describe_day(day: date, days: int) -> str:
    """'on 2026-02-10' or 'in the 7 days to 2026-02-10'."""
    return f"on {day.isoformat()}" if days <= 1 else f"in the {days} days to {day.isoformat()}"
