"""Validate and store Sources: one transaction per file, so a file is stored whole or not at all.

Per file: find the bad rows and quarantine them (with file, line,
field and reason), then add the good ones — events append-only and deduplicated by
``event_id``; directory entities (people, accounts, tickets, labels) upserted by key. A
killed ingest leaves only whole files behind, and re-running it adds exactly what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from custodes.errors import InputError
from custodes.ingest.source import Source, sql_string, unique_name
from custodes.ingest.validation import SEP_ERROR, SEP_FIELD, compile_entity, quote
from custodes.model.schema import Entity
from custodes.store.events import EventStore

ProgressFn = Callable[[str, float], None]

# Quarantined raw records are kept for repair, but never so large they bloat the store.
MAX_RAW_CHARS = 10_000


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
        [run_id, entity, _now(), files],
    )
    return run_id


def _finish_run(store: EventStore, report: IngestReport, status: str, error: str | None) -> None:
    store.execute(
        'UPDATE ingest_runs SET finished_at = ?, status = ?, "read" = ?, stored = ?, '
        "duplicate = ?, quarantined = ?, failed_files = ?, error = ? WHERE run_id = ?",
        [
            _now(),
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


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _ingest_one(
    store: EventStore, source: Source, run_id: int, progress: ProgressFn | None
) -> FileResult:
    entity = source.entity
    try:
        columns = dict(store.columns(f"SELECT * FROM ({source.relation_sql})"))
    except duckdb.Error as exc:
        raise InputError(f"cannot be read: {_first_line(exc)}", file=source.file) from exc
    present = {c.strip().lower() for c in columns}
    for name in entity.required:
        if name not in present:
            raise InputError(
                f"missing required column '{name}' (columns found: {', '.join(columns) or 'none'})",
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
            step(_survey_sql(survey_table, validated(source.relation_sql)), 0.0, 0.4)
            survey = _Survey.read(store, survey_table)
            store.execute(f"CREATE TEMP TABLE {bad} (_ord BIGINT, _err VARCHAR, _raw VARCHAR)")
            if survey.bad:
                # Rare path: a second read keeps the bad rows, then their raw records.
                store.execute(
                    f"INSERT INTO {bad} SELECT _ord, _err, NULL FROM "
                    f"({validated(_rescan(source, '_bad'))}) WHERE _err IS NOT NULL"
                )
                _fetch_raw(store, source, bad)
            result.quarantined = _quarantine(store, source, bad, run_id)
            rejected_rows = _rejected_rows(store, source)
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
            result.read = survey.records + rejected_rows
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
                    _now(),
                ],
            )
    finally:
        store.execute(f"DROP TABLE IF EXISTS {bad}")
        for table in (source.rejects_table, source.rejects_scan):
            if table:
                for suffix in ("", "_bad", "_again"):
                    store.execute(f"DROP TABLE IF EXISTS {quote(table + suffix)}")
    return result


def _rescan(source: Source, suffix: str) -> str:
    """The Source read again, with its own rejects tables, so broken records found by the
    first read are not recorded twice."""
    relation = source.relation_sql
    for table in (source.rejects_table, source.rejects_scan):
        if table:
            relation = relation.replace(sql_string(table), sql_string(table + suffix))
    return relation


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


def _survey_sql(table: str, validated: str) -> str:
    # The window over (_ord, _t) is narrow; the checks themselves touch every column, so
    # DuckDB validates the encoding of every value in this same pass.
    return (
        f"CREATE TEMP TABLE {table} AS SELECT count(*) AS records, "
        "count(*) FILTER (WHERE _err IS NOT NULL) AS bad, min(_t) AS first, max(_t) AS last, "
        "count(*) FILTER (WHERE _t < prev) AS backwards FROM ("
        f"SELECT _err, _t, lag(_t) OVER (ORDER BY _ord) AS prev FROM ({validated}))"
    )


@dataclass
class _Survey:
    records: int
    bad: int
    first: datetime | None
    last: datetime | None
    in_order: bool

    @classmethod
    def read(cls, store: EventStore, table: str) -> _Survey:
        row = store.fetch_one(f"SELECT records, bad, first, last, backwards FROM {table}")
        store.execute(f"DROP TABLE {table}")
        assert row is not None
        return cls(int(row[0]), int(row[1]), row[2], row[3], int(row[4]) == 0)

    def fast(self, store: EventStore) -> bool:
        """True when the file can be appended as it is: already in time order, nothing to
        filter out, and no stored event in its time range (so no id can repeat one).

        The general path sorts every column of every row and joins on every id; for logs
        that arrive in order and do not overlap what is stored, both are wasted work.
        """
        if not self.in_order or self.bad or self.first is None:
            return False
        overlap = store.fetch_value(
            "SELECT count(*) FROM events WHERE ts BETWEEN ? AND ?", [self.first, self.last]
        )
        return not overlap


def _fetch_raw(store: EventStore, source: Source, bad: str) -> None:
    """Attach the raw record to each bad row, for repair; a second read, taken only when
    the file has bad rows."""
    relation = _rescan(source, "_again")
    store.execute(
        f"UPDATE {bad} SET _raw = r.raw FROM (SELECT src._ord, "
        f"left(CAST(to_json(src) AS VARCHAR), {MAX_RAW_CHARS}) AS raw FROM ({relation}) src "
        f"WHERE src._ord IN (SELECT _ord FROM {bad})) r WHERE {bad}._ord = r._ord"
    )


def _minified(expr: str) -> str:
    # Guarded: values are computed for bad rows too before they are filtered out.
    return f"CASE WHEN json_valid({expr}) THEN json({expr}) END"


def _quarantine(store: EventStore, source: Source, bad: str, run_id: int) -> int:
    """Record every problem (one quarantine row per row and field); return the bad rows."""
    row_expr = f"s._ord + {source.header_lines}"
    joins = ""
    count = 0
    has_bad = bool(store.fetch_value(f"SELECT count(*) FROM {bad}"))
    if source.rejects_table:
        # The reader skipped broken (and blank) records, so _ord counts only the records it
        # emitted; shift each position past the skipped lines before it.
        skipped = unique_name("skipped")
        rejects = quote(source.rejects_table)
        store.execute(f"CREATE TEMP TABLE {skipped} AS SELECT DISTINCT line FROM {rejects}")
        if has_bad and source.blank_lines is not None:
            blanks = list(source.blank_lines())
            if blanks:
                store.register(f"{skipped}_blank", pa.table({"line": pa.array(blanks, pa.int64())}))
                store.execute(
                    f"INSERT INTO {skipped} SELECT line FROM {skipped}_blank "
                    f"WHERE line NOT IN (SELECT line FROM {skipped})"
                )
                store.unregister(f"{skipped}_blank")
        gaps = unique_name("gaps")
        store.execute(
            f"CREATE TEMP TABLE {gaps} AS SELECT g, max(n) AS n FROM ("
            f"SELECT line - {source.header_lines} - row_number() OVER (ORDER BY line) AS g, "
            f"row_number() OVER (ORDER BY line) AS n FROM {skipped}) GROUP BY g"
        )
        joins = f"ASOF LEFT JOIN {gaps} gp ON s._ord > gp.g"
        row_expr = f"s._ord + {source.header_lines} + coalesce(gp.n, 0)"
        count += _rejected_rows(store, source)
        # A Source may read several files (CERT's monthly LDAP snapshots): name the one.
        file_expr = "NULL"
        scans = ""
        if source.rejects_scan:
            scans = f"LEFT JOIN {quote(source.rejects_scan)} sc USING (scan_id, file_id)"
            file_expr = "sc.file_path"
        _insert_quarantine(
            store,
            f"SELECT {file_expr} AS file, r.line AS row, "
            "coalesce(r.column_name, 'record') AS field, "
            "lower(replace(r.error_type, '_', ' ')) || ': ' || left(r.error_message, 300) "
            f"AS reason, left(r.csv_line, {MAX_RAW_CHARS}) AS raw FROM {rejects} r {scans}",
            source,
            run_id,
        )
    _insert_quarantine(
        store,
        f"SELECT NULL AS file, row, split_part(e, {SEP_FIELD}, 1) AS field, "
        f"split_part(e, {SEP_FIELD}, 2) AS reason, raw FROM (SELECT {row_expr} AS row, "
        f"unnest(string_split(s._err, {SEP_ERROR})) AS e, s._raw AS raw "
        f"FROM {bad} s {joins})",
        source,
        run_id,
    )
    count += int(store.fetch_value(f"SELECT count(*) FROM {bad}"))
    return count


def _insert_quarantine(store: EventStore, select: str, source: Source, run_id: int) -> None:
    """Quarantine rows not already there: re-ingesting a file must not repeat its problems.

    ``select`` yields file (NULL for the Source's own file), row, field, reason, raw.
    """
    store.execute(
        "INSERT INTO quarantine SELECT ?, ?, coalesce(q.file, ?), q.row, q.field, q.reason, "
        f"q.raw, ? FROM ({select}) q WHERE NOT EXISTS (SELECT 1 FROM quarantine x "
        "WHERE x.entity = ? AND x.file = coalesce(q.file, ?) AND x.row = q.row "
        "AND x.field = q.field AND x.reason = q.reason)",
        [
            run_id,
            source.entity.name,
            source.file,
            _now(),
            source.entity.name,
            source.file,
        ],
    )


def _rejected_rows(store: EventStore, source: Source) -> int:
    if not source.rejects_table:
        return 0
    return int(store.fetch_value(f"SELECT count(DISTINCT line) FROM {quote(source.rejects_table)}"))


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
