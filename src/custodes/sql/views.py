"""The pseudonymised views a workbench query reads, instead of the event store's tables.

Staff ids never reach a query: each exposed table becomes a view of the same name in which

* id columns are replaced by pseudonyms and renamed so nobody mistakes them for real ids
  (``actor_id`` → ``subject``, ``manager_id`` → ``manager``, ``conflict_actor_ids`` →
  ``conflict_subjects``), with the same keyed pseudonyms as every other view of Custodes,
  so a subject found in SQL is the one in alerts and cases;
* free text that may name staff (``attrs``, ``target_id``, alert reasons and patterns,
  verdict reasons, errors) has every known staff id replaced by its pseudonym, as alert
  reasons are in the API (``Pseudonyms.mask``);
* ``people.name`` (a real name) and ``run_id`` (ingest bookkeeping) are left out, and so is
  a column of a type this module does not know how to mask (it fails closed).

Which text columns can carry no staff identity (an action, a country, an event id) is a
list per table: those pass through untouched, which keeps the common group-bys fast. Any
other text column, including one a later migration adds, is masked by default.

Tables that are bookkeeping rather than data (``quarantine`` holds raw rows as read,
``ingest_runs``/``ingest_files`` hold server paths, ``meta``) are not exposed at all.

The masking happens inside DuckDB through two vectorised Python functions (Arrow in,
Arrow out) that close over the pseudonym key. They are registered under names that the
guard never lets a query call (it allows only DuckDB's own built-in functions), since
calling them on guessed ids would turn them into an unmasking oracle.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import duckdb
import duckdb.func
import pyarrow as pa
import pyarrow.compute as pc

from custodes.privacy.pseudonyms import Pseudonyms

# The views a query may read, named like the tables behind them.
EXPOSED: Final[tuple[str, ...]] = (
    "events",
    "people",
    "accounts",
    "tickets",
    "labels",
    "alerts",
    "alert_verdicts",
    "actor_day_scores",
    "detect_runs",
    "calibrations",
)

# Staff-id columns: pseudonymised and renamed.
RENAMED: Final[dict[str, str]] = {
    "actor_id": "subject",
    "manager_id": "manager",
    "conflict_actor_ids": "conflict_subjects",
}

# Columns left out of every view.
DROPPED: Final[dict[str, frozenset[str]]] = {
    "people": frozenset({"name"}),
}
DROPPED_EVERYWHERE: Final = frozenset({"run_id"})

# Text columns that hold no staff identity, per table: shown as stored.
PLAIN: Final[dict[str, frozenset[str]]] = {
    "events": frozenset(
        {
            "event_id",
            "action",
            "target_type",
            "outcome",
            "source",
            "ip",
            "country",
            "device_id",
            "ticket_id",
        }
    ),
    "people": frozenset(
        {"role", "team", "site", "country", "shift_start", "shift_end", "timezone"}
    ),
    "accounts": frozenset({"account_id", "country"}),
    "tickets": frozenset({"ticket_id"}),
    "labels": frozenset({"scenario"}),
    "alerts": frozenset({"alert_id", "detector", "category", "severity", "evidence_event_ids"}),
    "alert_verdicts": frozenset({"alert_id", "verdict", "analyst"}),
    "actor_day_scores": frozenset({"detector"}),
    "detect_runs": frozenset({"status"}),
    "calibrations": frozenset({"analyst"}),
}

# Types whose values are numbers, truth values or times: never a staff id.
_SAFE_TYPES: Final = re.compile(
    r"^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|"
    r"UHUGEINT|FLOAT|DOUBLE|DECIMAL\(\d+,\s*\d+\)|DATE|TIME|TIMESTAMP|TIMESTAMP_[A-Z]+|"
    r"TIMESTAMP WITH TIME ZONE|INTERVAL|UUID)$"
)

# The masking functions' SQL names; the guard refuses them (they are not DuckDB built-ins).
PSEUDONYM_FN: Final = "_custodes_pseudonym"
MASK_FN: Final = "_custodes_mask"
MASK_JSON_FN: Final = "_custodes_mask_json"


@dataclass(frozen=True)
class Column:
    name: str
    type: str


class Masker:
    """Replaces staff ids by pseudonyms in Arrow arrays: whole values (id columns), every
    occurrence inside text (free text, as ``Pseudonyms.mask`` does), or inside JSON text
    without breaking it (ids in strings are replaced in place; a number that is a staff id
    becomes the pseudonym as a JSON string, since numeric employee ids are common)."""

    def __init__(self, names: Pseudonyms, staff: Iterable[str]) -> None:
        self._names = names
        self._seen: dict[str, str] = {}
        self._ids = frozenset(s for s in staff if s)
        self._pattern: str | None = None
        self._regex: re.Pattern[str] | None = None
        if self._ids:
            try:
                self._pattern = _trie_pattern(sorted(self._ids))
                self._regex = re.compile(self._pattern)
            except (RecursionError, re.error):  # pathological ids: a plain alternation
                longest_first = sorted(self._ids, key=len, reverse=True)
                self._pattern = "|".join("".join(map(_escape, i)) for i in longest_first)
                self._regex = re.compile(self._pattern)
        self._re2 = True  # RE2 (in C++) finds the values to mask, unless it cannot compile

    def _of(self, actor: str) -> str:
        found = self._seen.get(actor)
        if found is None:
            found = self._seen[actor] = self._names.of(actor)
        return found

    def pseudonymise(self, values: Any) -> Any:
        """Each distinct value once through the keyed hash, then one vectorised lookup."""
        distinct = pc.unique(values)
        mapped = pa.array(
            [None if v is None else self._of(v) for v in distinct.to_pylist()], pa.string()
        )
        return pc.take(mapped, pc.index_in(values, value_set=distinct))

    def mask(self, values: Any) -> Any:
        """Free text with every staff id in it replaced."""
        return self._mask(values, self._mask_text)

    def mask_json(self, values: Any) -> Any:
        """JSON text with every staff id in it replaced, still valid JSON."""
        return self._mask(values, self._mask_json_text)

    def _mask(self, values: Any, masking: Callable[[str], str]) -> Any:
        """Only values that contain a staff id go through Python."""
        flags = self._hits(values)
        if not any(flags):
            return values
        texts = values.to_pylist()
        return pa.array(
            [masking(t) if f else t for t, f in zip(texts, flags, strict=True)], pa.string()
        )

    def _hits(self, values: Any) -> list[bool]:
        if self._pattern is None or self._regex is None:
            return []
        if self._re2:
            try:
                found = pc.match_substring_regex(values, self._pattern)
                return [bool(f) for f in found.to_pylist()]
            except pa.ArrowException:  # too many ids for RE2's memory: Python alone
                self._re2 = False
        search = self._regex.search
        return [t is not None and search(t) is not None for t in values.to_pylist()]

    def _mask_text(self, text: str) -> str:
        return self._regex.sub(self._replace, text) if self._regex is not None else text

    def _mask_json_text(self, text: str) -> str:
        def token(match: re.Match[str]) -> str:
            found = match.group(0)
            if found.startswith('"'):
                return self._mask_text(found)  # a pseudonym needs no JSON escaping
            return json.dumps(self._of(found)) if found in self._ids else found

        return _JSON_TOKENS.sub(token, text)

    def _replace(self, match: re.Match[str]) -> str:
        return self._of(match.group(0))


# A JSON string literal, or a bare number: the only JSON tokens a staff id can be.
_JSON_TOKENS: Final = re.compile(r'"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*')


def _escape(char: str) -> str:
    """One character as a literal both Python's ``re`` and RE2 read the same way."""
    if char.isalnum() and char.isascii():
        return char
    if ord(char) < 128:
        return f"\\x{ord(char):02x}"
    return char  # a non-ASCII letter or sign is literal in both


def _trie_pattern(words: Sequence[str]) -> str:
    """One regex matching any of ``words``, longest first, built as a trie so matching
    costs the same for 10 ids or 10,000 (a plain alternation tries each id in turn)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [_escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:  # a word ends here: what follows is optional (greedy: longest first)
            return f"(?:{body})?" if len(branches) == 1 else f"{body}?"
        return body

    return build(trie)


def staff_ids(con: duckdb.DuckDBPyConnection, catalog: str, tables: Mapping[str, Any]) -> set[str]:
    """Every staff id the store knows: the directory, and whoever acted or was named as an
    actor anywhere (an event's actor may be missing from a partial directory)."""
    sources = [
        (table, column)
        for table, columns in tables.items()
        for column in columns
        if column in RENAMED and table in EXPOSED
    ]
    parts = []
    for table, column in sources:
        ref = f"{_quote(catalog)}.main.{_quote(table)}"
        if column == "conflict_actor_ids":
            parts.append(f"SELECT DISTINCT unnest({_quote(column)}) AS id FROM {ref}")
        else:
            parts.append(f"SELECT DISTINCT {_quote(column)} AS id FROM {ref}")
    if not parts:
        return set()
    rows = con.execute(" UNION ".join(parts)).fetchall()
    return {str(r[0]) for r in rows if r[0] is not None}


def columns_of(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[Column]]:
    """The exposed tables the store has, with their columns in order."""
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = 'main' ORDER BY table_name, column_index",
        [catalog],
    ).fetchall()
    found: dict[str, list[Column]] = {}
    for table, name, kind in rows:
        if table in EXPOSED:
            found.setdefault(table, []).append(Column(name, kind))
    return found


def view_columns(tables: Mapping[str, Sequence[Column]]) -> dict[str, tuple[Column, ...]]:
    """The columns each view shows, by the same rules that build it (renamed ids, dropped
    and unknown columns left out): what the workbench lists as help, without building the
    views or their masking functions."""
    out: dict[str, tuple[Column, ...]] = {}
    for table in EXPOSED:
        shown = tuple(
            Column(RENAMED.get(c.name, c.name), c.type)
            for c in tables.get(table, ())
            if _column(table, c) is not None
        )
        if shown:
            out[table] = shown
    return out


def view_sql(table: str, columns: Sequence[Column], catalog: str) -> str | None:
    """``CREATE VIEW`` for one table, or None when no column is left to show."""
    select = []
    for column in columns:
        expr = _column(table, column)
        if expr is not None:
            select.append(expr)
    if not select:
        return None
    source = f"{_quote(catalog)}.main.{_quote(table)}"
    return f"CREATE VIEW {_quote(table)} AS SELECT {', '.join(select)} FROM {source}"


def _column(table: str, column: Column) -> str | None:
    name, kind = column.name, column.type.upper()
    if name in DROPPED_EVERYWHERE or name in DROPPED.get(table, ()):
        return None
    q = _quote(name)
    if name in RENAMED:
        alias = _quote(RENAMED[name])
        if kind == "VARCHAR":
            return f"{PSEUDONYM_FN}({q}) AS {alias}"
        if kind == "VARCHAR[]":
            return f"list_transform({q}, lambda v: {PSEUDONYM_FN}(v)) AS {alias}"
        return None  # an id column of a type we cannot pseudonymise: left out
    if name in PLAIN.get(table, ()) or _SAFE_TYPES.match(kind):
        return q
    if kind == "VARCHAR":
        return f"{MASK_FN}({q}) AS {q}"
    if kind == "JSON":
        return f"CAST({MASK_JSON_FN}(CAST({q} AS VARCHAR)) AS JSON) AS {q}"
    if kind == "VARCHAR[]":
        return f"list_transform({q}, lambda v: {MASK_FN}(v)) AS {q}"
    return None  # unknown type: fail closed


def install(con: duckdb.DuckDBPyConnection, catalog: str, names: Pseudonyms) -> tuple[str, ...]:
    """Register the masking functions and create the views over ``catalog`` (the store,
    attached read-only); returns the names of the views created."""
    tables = columns_of(con, catalog)
    staff = staff_ids(con, catalog, {t: [c.name for c in cs] for t, cs in tables.items()})
    masker = Masker(names, staff)
    text = duckdb.sqltype("VARCHAR")
    for name, function in (
        (PSEUDONYM_FN, masker.pseudonymise),
        (MASK_FN, masker.mask),
        (MASK_JSON_FN, masker.mask_json),
    ):
        con.create_function(
            name, function, [text], text, type=duckdb.func.ARROW, side_effects=False
        )
    made = []
    for table in EXPOSED:
        if table in tables and (sql := view_sql(table, tables[table], catalog)) is not None:
            con.execute(sql)
            made.append(table)
    return tuple(made)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
