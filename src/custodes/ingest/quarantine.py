"""Quarantine: every bad row kept with its file, line, field and reason, never twice."""

from __future__ import annotations

import pyarrow as pa

from custodes.clock import utc_now
from custodes.ingest.source import Source, sql_string, unique_name
from custodes.ingest.validation import SEP_ERROR, SEP_FIELD, quote
from custodes.store.events import EventStore

# Quarantined raw records are kept for repair, but never so large they bloat the store.
MAX_RAW_CHARS = 10_000


def rescan(source: Source, suffix: str) -> str:
    """The Source read again, with its own rejects tables, so broken records found by the
    first read are not recorded twice."""
    relation = source.relation_sql
    for table in (source.rejects_table, source.rejects_scan):
        if table:
            relation = relation.replace(sql_string(table), sql_string(table + suffix))
    return relation


def fetch_raw(store: EventStore, source: Source, bad: str) -> None:
    """Attach the raw record to each bad row, for repair; a second read, taken only when
    the file has bad rows."""
    relation = rescan(source, "_again")
    store.execute(
        f"UPDATE {bad} SET _raw = r.raw FROM (SELECT src._ord, "
        f"left(CAST(to_json(src) AS VARCHAR), {MAX_RAW_CHARS}) AS raw FROM ({relation}) src "
        f"WHERE src._ord IN (SELECT _ord FROM {bad})) r WHERE {bad}._ord = r._ord"
    )


def quarantine(store: EventStore, source: Source, bad: str, run_id: int) -> int:
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
        count += rejected_rows(store, source)
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
            utc_now(),
            source.entity.name,
            source.file,
        ],
    )


def rejected_rows(store: EventStore, source: Source) -> int:
    if not source.rejects_table:
        return 0
    return int(store.fetch_value(f"SELECT count(DISTINCT line) FROM {quote(source.rejects_table)}"))
