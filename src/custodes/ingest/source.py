"""A Source is one input file described as SQL, so that only the store gateway connects.

Readers (CSV, JSON Lines, Parquet, CERT) build Sources; the ingest pipeline validates and
stores them, one transaction per Source.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from custodes.model.schema import Entity

_names = itertools.count(1)


def unique_name(prefix: str) -> str:
    """A fresh identifier for temporary tables (reject tables, staging), unique per process."""
    return f"{prefix}_{next(_names)}"


def sql_string(value: str) -> str:
    """A SQL string literal; paths and user text never go into SQL any other way."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Source:
    """One readable input.

    ``relation_sql`` is a SELECT (or table function) yielding columns named as the contract
    names them (any subset, any types; unknown extra columns go to ``attrs``) plus
    ``_ord``: the 1-based position of the record among the records the reader *emitted*.

    Quarantine rows name the record by its line number in the file (header = line 1; a
    quoted value spanning lines counts once, as DuckDB counts). When the reader drops broken
    records into a DuckDB rejects table (``read_csv(..., store_rejects=true,
    rejects_table=…)``), ``rejects_table`` names it and ``header_lines`` says how many lines
    precede the first record; ``blank_lines``, when given, lists the lines the reader skipped
    silently (only called when some row is bad). With these the pipeline turns ``_ord`` into
    the line number.
    """

    entity: Entity
    file: str
    relation_sql: str
    size: int = 0
    rejects_table: str | None = None
    rejects_scan: str | None = None
    header_lines: int = 1
    blank_lines: Callable[[], Sequence[int]] | None = None
