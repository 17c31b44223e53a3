"""Turn user-supplied paths into Sources: expand folders and globs, pick a format, describe
the file as DuckDB SQL. DuckDB reads, decompresses and parallelises; we only say how."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Final

from custodes.errors import InputError
from custodes.ingest.source import Source, sql_string, unique_name
from custodes.model.schema import Entity

FORMATS: Final = ("csv", "tsv", "jsonl", "parquet")

_SUFFIXES: Final[dict[str, str]] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}

# Longest record DuckDB will read (a larger buffer slows every CSV read); longer fields
# inside it are quarantined by length checks, and a longer line fails the file clearly.
MAX_LINE_BYTES: Final = 4 * 1024 * 1024


def expand(paths: list[str]) -> list[Path]:
    """Files named by paths, folders (recursively, supported files only) and globs, in order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and format_of(p, None) is not None)
            )
        elif path.exists():
            found.append(path)
        elif any(ch in raw for ch in "*?["):
            anchor = Path(raw).anchor or "."
            pattern = str(Path(raw).relative_to(anchor)) if Path(raw).is_absolute() else raw
            matches = sorted(p for p in Path(anchor).glob(pattern) if p.is_file())
            if not matches:
                raise InputError("no file matches this pattern", file=raw)
            found.extend(matches)
        else:
            raise InputError("no such file or folder", file=raw)
    seen: set[Path] = set()
    unique = []
    for p in found:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def format_of(path: Path, forced: str | None) -> str | None:
    """The format by ``--format`` or by extension (``.gz`` looked through)."""
    if forced:
        return forced
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".gzip"):
        suffixes = suffixes[:-1]
    return _SUFFIXES.get(suffixes[-1]) if suffixes else None


def source_for(path: Path, entity: Entity, forced_format: str | None = None) -> Source:
    """Describe one file as a Source, or say clearly why it cannot be read."""
    fmt = format_of(path, forced_format)
    if fmt is None:
        raise InputError(
            "unknown file type; use a .csv, .tsv, .jsonl or .parquet extension "
            "(optionally .gz) or pass --format",
            file=path,
        )
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}", file=path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=path) from exc
    if size == 0:
        raise InputError("the file is empty", file=path)
    if fmt == "parquet":
        return _parquet(path, entity, size)
    if fmt == "jsonl":
        return _jsonl(path, entity, size)
    return _csv(path, entity, size, "\t" if fmt == "tsv" else ",")


def _csv(path: Path, entity: Entity, size: int, delim: str) -> Source:
    header = _first_line(path)
    if not header.strip():
        raise InputError(
            "the first line is empty; a CSV file starts with its header row", file=path
        )
    rejects, scan = unique_name("rejects"), unique_name("reject_scans")
    sql = (
        f"SELECT *, ordinality AS _ord FROM read_csv({sql_string(str(path))}, header = true, "
        f"all_varchar = true, delim = {sql_string(delim)}, quote = '\"', escape = '\"', "
        f"strict_mode = true, null_padding = false, max_line_size = {MAX_LINE_BYTES}, "
        f"store_rejects = true, rejects_table = {sql_string(rejects)}, "
        f"rejects_scan = {sql_string(scan)}, rejects_limit = 0) WITH ORDINALITY"
    )
    return Source(
        entity,
        str(path),
        sql,
        size,
        rejects,
        scan,
        header_lines=1,
        blank_lines=lambda: csv_blank_lines(path, delim),
    )


def csv_blank_lines(path: Path, delim: str) -> list[int]:
    """Line numbers (DuckDB's way: a quoted multi-line value counts once) of blank records.

    DuckDB skips blank lines without a trace, which would shift the line numbers of every
    bad record after them. This slow pass runs only when a file has bad records.
    """
    import csv
    import io

    opener = gzip.open if path.suffix.lower() in (".gz", ".gzip") else open
    csv.field_size_limit(MAX_LINE_BYTES)
    blanks = []
    with opener(path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
        reader = csv.reader(text, delimiter=delim, quotechar='"', doublequote=True, strict=False)
        for number, record in enumerate(reader, start=1):
            if not record:
                blanks.append(number)
    return blanks


def _jsonl(path: Path, entity: Entity, size: int) -> Source:
    """Read JSON Lines as one text column so every broken line is caught with its number.

    A raw control character never appears in valid JSON, so \\x01 as a delimiter keeps each
    line whole; JSON is then parsed by DuckDB, field by field.
    """
    rejects, scan = unique_name("rejects"), unique_name("reject_scans")
    lines = (
        f"read_csv({sql_string(str(path))}, header = false, columns = {{'line': 'VARCHAR'}}, "
        "delim = '\x01', quote = '', escape = '', auto_detect = false, strict_mode = true, "
        f"null_padding = false, max_line_size = {MAX_LINE_BYTES}, store_rejects = true, "
        f"rejects_table = {sql_string(rejects)}, rejects_scan = {sql_string(scan)}, "
        "rejects_limit = 0) WITH ORDINALITY"
    )
    known = ", ".join(f'"{n}": null' for n in entity.names)
    fields = ", ".join(
        f"CASE WHEN _ok THEN json_extract_string(_json, {sql_string('$.' + _json_key(n))}) END "
        f'AS "{n}"'
        for n in entity.names
        if n != "attrs"
    )
    sql = f"""
        SELECT {fields},
            CASE WHEN _ok THEN json_merge_patch(
                coalesce(nullif(json_merge_patch(_json, '{{{known}}}')::VARCHAR, '{{}}'), '{{}}'),
                CASE WHEN json_type(_json, '$.attrs') = 'OBJECT' THEN _json -> '$.attrs'
                     ELSE '{{}}' END)::VARCHAR END AS attrs,
            CASE WHEN NOT _valid THEN 'record' || chr(31) || 'not valid JSON'
                 WHEN NOT _ok THEN 'record' || chr(31) || 'not a JSON object'
                 WHEN json_type(_json, '$.attrs') NOT IN ('OBJECT', 'NULL')
                 THEN 'attrs' || chr(31) || 'not a JSON object'
            END AS _error,
            _ord
        FROM (
            SELECT _valid,
                   coalesce(CASE WHEN _valid THEN json_type(line) = 'OBJECT' END, false) AS _ok,
                   CASE WHEN _valid THEN line::JSON END AS _json, _ord
            FROM (SELECT line, json_valid(line) AS _valid, ordinality AS _ord FROM {lines}
                  WHERE trim(line) <> '')
        )
    """
    return Source(entity, str(path), sql, size, rejects, scan, header_lines=0)


def _parquet(path: Path, entity: Entity, size: int) -> Source:
    sql = (
        f"SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS _ord "
        f"FROM read_parquet({sql_string(str(path))}, file_row_number = true)"
    )
    return Source(entity, str(path), sql, size, None, None, header_lines=0)


def _json_key(name: str) -> str:
    return '"' + name + '"'


def _first_line(path: Path) -> str:
    opener = gzip.open if path.suffix.lower() in (".gz", ".gzip") else open
    try:
        with opener(path, "rb") as fh:
            raw: bytes = fh.readline(65_536)
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot be read: {exc}", file=path) from exc
    return raw.decode("utf-8", errors="replace")
