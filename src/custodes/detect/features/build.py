"""Building ``features_actor_day``: each group into a temp table, then one joined insert.

Every statement scans the events at most once and reduces them to per-actor-day (or
smaller) rows, so memory stays bounded at tens of millions of events; the final insert
joins small tables. The whole build is one transaction of the event store: a failure
leaves the previous table as it was.

The statements are DuckDB SQL run by an engine (``detect.engine``): the event store itself
by default, or Spark, which runs the same statements transpiled and hands the final rows
back to the store.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from custodes.detect.engine.base import Engine
from custodes.detect.engine.embedded import DuckDBEngine
from custodes.detect.features.activity import activity_sql, slices_sql
from custodes.detect.features.attributes import favour_sql, flags_sql
from custodes.detect.features.catalog import FEATURE_COLUMNS, FEATURES, Group
from custodes.detect.features.clock import Window, day_from_number, offsets_sql, people_sql
from custodes.detect.features.decisions import decisions_sql, gaps_sql
from custodes.detect.features.employment import EXPRESSIONS as EMPLOYMENT
from custodes.detect.features.lookups import conflicts_sql, lookups_sql
from custodes.detect.features.sessions import first_seen_sql, presence_sql, sessions_sql
from custodes.detect.features.verdicts import (
    OLDER_SQL,
    UNRESOLVED_SQL,
    fallback_links_sql,
    given_sql,
    links_source,
    links_sql,
    received_sql,
    relink_sql,
)
from custodes.store.events import EventStore

TABLE: Final = "features_actor_day"
# Temp tables holding feature columns, joined onto fx_activity (which defines the rows).
_GROUP_TABLES: Final = (
    "fx_activity",
    "fx_flags",
    "fx_favour",
    "fx_decisions",
    "fx_gaps",
    "fx_received",
    "fx_given",
    "fx_lookups",
    "fx_sessions",
)
_HELPERS: Final = (
    "fx_people",
    "fx_slices",
    "fx_offsets",
    "fx_recent_links",
    "fx_verdict_links",
    "fx_fallback_links",
    "fx_conflicts",
    "fx_presence",
    "fx_first",
)


def table_ddl() -> str:
    cols = ", ".join(f"{f.name} {f.kind.sql_type}" for f in FEATURES)
    return f"CREATE TABLE {TABLE} (actor_id VARCHAR NOT NULL, day DATE NOT NULL, {cols})"


def build_features(
    store: EventStore,
    since: dt.date | None = None,
    engine: Engine | None = None,
    sightings: str | None = None,
) -> int:
    """(Re)compute features_actor_day for local days >= since (all when None); returns
    rows written. ``engine`` computes them (default: the store's DuckDB); ``sightings``
    names a table of first sightings over all events in the store (``detect.sightings``)
    that the DuckDB engine reads instead of aggregating the events again.

    A table left by an older feature set is rebuilt in full, whatever ``since`` says:
    a partial rebuild cannot add columns to days it does not touch.
    """
    engine = engine or DuckDBEngine(store)
    if not _table_current(store):
        since = None
    window = Window(since)
    written = f"SELECT count(*) FROM {TABLE} WHERE {_day_filter(window)}"
    try:
        with store.transaction():
            local = isinstance(engine, DuckDBEngine) and engine.store is store
            shared = sightings if local else None
            source = _stage(engine, window, shared)
            if not _table_current(store):
                store.execute(f"DROP TABLE IF EXISTS {TABLE}")
                store.execute(table_ddl())
            store.execute(f"DELETE FROM {TABLE} WHERE {_day_filter(window)}")
            engine.execute(_insert_sql(source))
            return int(store.fetch_value(written))
    finally:
        _drop(engine, *_GROUP_TABLES, *_HELPERS)


def _stage(engine: Engine, window: Window, sightings: str | None) -> dict[str, str]:
    """Compute every group into its temp table, in dependency order, dropping each helper
    as soon as nothing needs it (they are the big ones); returns which table holds each
    feature."""
    run = engine.execute
    for sql in (people_sql(), offsets_sql(window), slices_sql(window), activity_sql()):
        run(sql)
    for sql in (presence_sql(), first_seen_sql(sightings), sessions_sql()):
        run(sql)
    _drop(engine, "fx_slices", "fx_presence", "fx_first")
    for sql in (flags_sql(window), decisions_sql(window), gaps_sql(window), favour_sql(window)):
        run(sql)
    run(links_sql(window))
    if window.since is not None:
        run(relink_sql(window, older=int(engine.fetch_value(OLDER_SQL) or 0) > 0))
        _drop(engine, "fx_recent_links")
    fallback = int(engine.fetch_value(UNRESOLVED_SQL) or 0) > 0
    if fallback:
        run(fallback_links_sql())
    links = links_source(fallback)
    for sql in (received_sql(window, links), given_sql(window, links)):
        run(sql)
    _drop(engine, "fx_verdict_links", "fx_fallback_links")
    for sql in (conflicts_sql(), lookups_sql(window)):
        run(sql)
    return _sources(engine)


def _drop(engine: Engine, *tables: str) -> None:
    for name in tables:
        engine.execute(f"DROP TABLE IF EXISTS {name}")


def _sources(engine: Engine) -> dict[str, str]:
    """Feature → temp table; each catalogued feature must come from exactly one table
    (employment ones are computed in the final select)."""
    produced: list[tuple[str, str]] = []
    for table in _GROUP_TABLES:
        cols = engine.columns(table)
        produced += [(c, table) for c in cols if c not in ("aid", "dn")]
    names = sorted(c for c, _ in produced)
    expected = sorted(f.name for f in FEATURES if f.group is not Group.EMPLOYMENT)
    if names != expected:
        extra = set(names) - set(expected)
        missing = set(expected) - set(names)
        raise AssertionError(f"feature SQL out of step with the catalogue: {extra=} {missing=}")
    return dict(produced)


def _insert_sql(source: dict[str, str]) -> str:
    """The feature rows from the staged temp tables into the store's table (the one
    statement whose rows leave the engine)."""
    exprs: list[str] = []
    for f in FEATURES:
        if f.group is Group.EMPLOYMENT:
            exprs.append(f"{EMPLOYMENT[f.name]} AS {f.name}")
            continue
        ref = f"{_alias(source[f.name])}.{f.name}"
        exprs.append(f"coalesce({ref}, 0) AS {f.name}" if f.kind.zero_default else ref)
    joins = "\n".join(
        f"LEFT JOIN {t} {_alias(t)} "
        f"ON {_alias(t)}.aid = activity.aid AND {_alias(t)}.dn = activity.dn"
        for t in _GROUP_TABLES[1:]
    )
    select = ",\n    ".join(exprs)
    return f"""
INSERT INTO {TABLE} (actor_id, day, {", ".join(FEATURE_COLUMNS)})
SELECT p.actor_id, {day_from_number("activity.dn")} AS day,
    {select}
FROM fx_activity activity
{joins}
JOIN fx_people p ON p.aid = activity.aid
"""


def _alias(table: str) -> str:
    return table.removeprefix("fx_")


def _day_filter(window: Window) -> str:
    return "TRUE" if window.since is None else f"day >= DATE '{window.since.isoformat()}'"


def _table_current(store: EventStore) -> bool:
    """Whether the stored table has exactly today's columns (in order)."""
    rows = store.fetch_all(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = ? AND table_schema = 'main' ORDER BY ordinal_position",
        [TABLE],
    )
    return tuple(r[0] for r in rows) == ("actor_id", "day", *FEATURE_COLUMNS)
