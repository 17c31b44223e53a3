"""Validate and store Sources: one transaction per file, so a file is stored whole or not at all.

Per file: survey it (records, bad rows, time range, order), quarantine the bad rows with
file, line, field and reason, then add the good ones — events append-only and deduplicated
by ``event_id``; directory entities (people, accounts, tickets, labels) upserted by key. A
killed ingest leaves only whole files behind, and re-running it adds exactly what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import duckdb

from custodes.clock import utc_now
from custodes.errors import InputError
from custodes.ingest.quarantine import fetch_raw, quarantine, rejected_rows, rescan
from custodes.ingest.source import Source, unique_name
from custodes.ingest.survey import Survey, survey_sql
from custodes.ingest.validation import compile_entity, quote
from custodes.model.schema import Entity
from custodes.store.events import EventStore

ProgressFn = Callable[[str, float], None]


@dataclass
class FileResult:
    """What happened to one file."""

    file: str
    entity: str
    read: int = 0
    stored: int = 0
    duplicate: int = 0
    quarantined: int = 0
    error: str | None = None


@dataclass
class IngestReport:
    """The summary a person or a pipeline reads at the end of an ingest."""

    run_id: int
    files: list[FileResult] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(f, name) for f in self.files)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.error]


def ingest_sources(
    store: EventStore,
    sources: Iterable[Source | InputError],
    progress: ProgressFn | None = None,
    *,
    entity_label: str | None = None,
    on_file: Callable[[FileResult], None] | None = None,
) -> IngestReport:
    """Ingest every Source; an InputError in the list is recorded as a failed file.

    A failed file never stops the others: the report lists it, and the caller decides the
    exit status.
    """
    sources = list(sources)
    label = entity_label or ",".join(
        sorted({s.entity.name for s in sources if isinstance(s, Source)})
    )
    run_id = _start_run(store, label, len(sources))
    report = IngestReport(run_id)
    try:
        for source in sources:
            if isinstance(source, InputError):
                failed = FileResult(source.file or "?", label, error=str(source))
                report.files.append(failed)
                if on_file is not None:
                    on_file(failed)
                continue
            try:
                result = _ingest_one(store, source, run_id, progress)
            except InputError as exc:
                result = FileResult(source.file, source.entity.name, error=str(exc))
            report.files.append(result)
            if on_file is not None:
                on_file(result)
    except BaseException as exc:
        _finish_run(store, report, "failed", repr(exc))
        raise
    _finish_run(store, report, "failed" if report.failed else "completed", None)
    return report


def _start_run(store: EventStore, entity: str, files: int) -> int:
    # A writer that finds a run still "running" knows its process died: DuckDB admits
    # one writing process at a time.
    store.execute("UPDATE ingest_runs SET status = 'interrupted' WHERE status = 'running'")
    run_id = int(store.fetch_value("SELECT nextval('run_ids')"))
    store.execute(
        "INSERT INTO ingest_runs (run_id, entity, started_at, status, files) "
        "VALUES (?, ?, ?, 'running', ?)",
        [run_id, entity, utc_now(), files],
    )
    return run_id


def _finish_run(store: EventStore, report: IngestReport, status: str, error: str | None) -> None:
    store.execute(
        'UPDATE ingest_runs SET finished_at = ?, status = ?, "read" = ?, stored = ?, '
        "duplicate = ?, quarantined = ?, failed_files = ?, error = ? WHERE run_id = ?",
        [
            utc_now(),
            status,
            report.total("read"),
            report.total("stored"),
            report.total("duplicate"),
            report.total("quarantined"),
            len(report.failed),
            error or "; ".join(f.error or "" for f in report.failed)[:10_000] or None,
            report.run_id,
        ],
    )


def _ingest_one(
    store: EventStore, source: Source, run_id: int, progress: ProgressFn | None
) -> FileResult:
    entity = source.entity
    try:
        columns = dict(store.columns(f"SELECT * FROM ({source.relation_sql})"))
    except duckdb.Error as exc:
        raise InputError(f"cannot be read: {_first_line(exc)}", file=source.file) from exc
    present = {c.strip().lower() for c in columns}
    shown = [c for c in columns if c not in ("ordinality", "_ord", "_error")]
    for name in entity.required:
        if name not in present:
            raise InputError(
                f"missing required column '{name}' (columns found: {', '.join(shown) or 'none'})",
                file=source.file,
                field=name,
            )
    compiled = compile_entity(entity, columns)
    values = dict(compiled.values)
    if entity.name == "events":
        values["event_id"] = _event_id(values)
    select = ", ".join(f"{expr} AS {quote(name)}" for name, expr in values.items())
    texts = "".join(f", {expr} AS {quote(name)}" for name, expr in compiled.texts.items())

    def validated(relation: str) -> str:
        time = values[entity.time_field] if entity.append_only and entity.time_field else "NULL"
        return (
            f"SELECT src._ord AS _ord, {compiled.error} AS _err, {time} AS _t "
            f"FROM (SELECT src.*{texts} FROM ({relation}) src) src"
        )

    # The insert excludes the rows pass 1 found bad instead of re-running every check.
    values_only = (
        f"SELECT src._ord AS _ord, {select} FROM (SELECT src.*{texts} "
        f"FROM ({source.relation_sql}) src) src"
    )
    bad = unique_name("bad")
    result = FileResult(source.file, entity.name)

    def step(sql: str, start: float, share: float) -> None:
        """Run one pass over the file; a failure to read it names the file."""
        try:
            if progress is None:
                store.execute(sql)
            else:
                store.execute_with_progress(
                    sql, lambda frac: progress(source.file, start + frac * share)
                )
        except duckdb.Error as exc:
            raise InputError(f"cannot be read: {_first_line(exc)}", file=source.file) from exc

    try:
        with store.transaction():
            # Pass 1: one aggregate over every check — records, bad records, time range and
            # order — so a clean file materialises nothing at all.
            survey_table = unique_name("survey")
            step(survey_sql(survey_table, validated(source.relation_sql)), 0.0, 0.4)
            survey = Survey.read(store, survey_table)
            store.execute(f"CREATE TEMP TABLE {bad} (_ord BIGINT, _err VARCHAR, _raw VARCHAR)")
            if survey.bad:
                # Rare path: a second read keeps the bad rows, then their raw records.
                store.execute(
                    f"INSERT INTO {bad} SELECT _ord, _err, NULL FROM "
                    f"({validated(rescan(source, '_bad'))}) WHERE _err IS NOT NULL"
                )
                fetch_raw(store, source, bad)
            result.quarantined = quarantine(store, source, bad, run_id)
            broken = rejected_rows(store, source)
            good_sql = (
                f"SELECT * FROM ({values_only}) WHERE _ord NOT IN (SELECT _ord FROM {bad})"
                if survey.bad
                else values_only
            )
            # Pass 2: good rows go straight from the file into the table.
            if entity.append_only:
                fast = survey.fast(store)
                result.stored = _append(store, good_sql, entity, run_id, step, fast=fast)
            else:
                result.stored = _upsert(store, good_sql, entity, run_id, step)
            result.read = survey.records + broken
            result.duplicate = survey.records - survey.bad - result.stored
            store.execute(
                "INSERT INTO ingest_files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run_id,
                    entity.name,
                    source.file,
                    result.read,
                    result.stored,
                    result.duplicate,
                    result.quarantined,
                    utc_now(),
                ],
            )
    finally:
        store.execute(f"DROP TABLE IF EXISTS {bad}")
        for table in (source.rejects_table, source.rejects_scan):
            if table:
                for suffix in ("", "_bad", "_again"):
                    store.execute(f"DROP TABLE IF EXISTS {quote(table + suffix)}")
    return result


def _event_id(values: dict[str, str]) -> str:
    """Rows without an id get one from a hash of their contract fields, so re-ingesting the
    same data (even converted from CSV to Parquet) derives the same ids and adds nothing."""
    # attrs is hashed minified, so a file's JSON spacing does not change the id.
    parts = ", ".join(
        f"coalesce(CAST({_minified(expr) if name == 'attrs' else expr} AS VARCHAR), '')"
        for name, expr in values.items()
        if name != "event_id"
    )
    given = values["event_id"]
    return f"coalesce({given}, 'h-' || left(md5(concat_ws(chr(31), {parts})), 24))"


def _minified(expr: str) -> str:
    # Guarded: values are computed for bad rows too before they are filtered out.
    return f"CASE WHEN json_valid({expr}) THEN json({expr}) END"


def _columns(entity: Entity) -> str:
    return ", ".join(quote(n) for n in entity.names)


StepFn = Callable[[str, float, float], None]


def _append(
    store: EventStore, good_sql: str, entity: Entity, run_id: int, step: StepFn, *, fast: bool
) -> int:
    """Insert new events only, in time order so DuckDB's zone maps prune time ranges.

    ``fast``: the file is in time order and overlaps nothing stored, so it is appended as
    read (DuckDB preserves insertion order), with neither the sort nor the id join.

    The sort keys are fixed-width (time, then position in the file): sorting on the actor
    string as well cost a third more and buys nothing for time-range pruning.

    Repeats of an id inside the file are removed after the insert, among this run's rows
    only: a window over the whole file would cost more than the insert itself, and such
    repeats are rare.
    """
    cols = _columns(entity)
    run = int(run_id)
    before = int(store.fetch_value("SELECT count(*) FROM events"))
    checked = (
        ""
        if fast
        else "WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = s.event_id) "
        "ORDER BY s.ts, s._ord"
    )
    step(
        f"INSERT INTO events ({cols}, run_id) SELECT {cols}, {run} FROM ({good_sql}) s {checked}",
        0.4,
        0.6,
    )
    store.execute(
        f"DELETE FROM events WHERE run_id = {run} AND rowid IN ("
        f"SELECT rowid FROM (SELECT rowid, row_number() OVER (PARTITION BY event_id "
        f"ORDER BY rowid) AS n FROM events WHERE run_id = {run} AND event_id IN ("
        f"SELECT event_id FROM events WHERE run_id = {run} GROUP BY event_id "
        "HAVING count(*) > 1)) WHERE n > 1)"
    )
    return int(store.fetch_value("SELECT count(*) FROM events")) - before


def _upsert(store: EventStore, good_sql: str, entity: Entity, run_id: int, step: StepFn) -> int:
    """Directory records: the last row for a key wins; identical rows count as duplicates."""
    cols = _columns(entity)
    table = quote(entity.name)
    key = " AND ".join(f"t.{quote(k)} = g.{quote(k)}" for k in entity.key)
    same = " AND ".join(f"t.{quote(n)} IS NOT DISTINCT FROM g.{quote(n)}" for n in entity.names)
    good = unique_name("good")
    step(
        f"CREATE TEMP TABLE {good} AS SELECT {cols} FROM ({good_sql}) s "
        f"QUALIFY row_number() OVER (PARTITION BY {', '.join(quote(k) for k in entity.key)} "
        "ORDER BY s._ord DESC) = 1",
        0.4,
        0.6,
    )
    try:
        store.execute(f"DELETE FROM {good} g WHERE EXISTS (SELECT 1 FROM {table} t WHERE {same})")
        store.execute(f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM {good} g WHERE {key})")
        store.execute(
            f"INSERT INTO {table} ({cols}, run_id) SELECT {cols}, {int(run_id)} FROM {good}"
        )
        return int(store.fetch_value(f"SELECT count(*) FROM {good}"))
    finally:
        store.execute(f"DROP TABLE IF EXISTS {good}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
