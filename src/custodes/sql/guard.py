"""The guard: refuses, before anything runs, every statement but one read of the views.

It parses with DuckDB's own parser, the one that will run the statement, so the guard and
the engine can never disagree about what the text means (a second SQL parser, such as
SQLGlot's, would add exactly that risk: a comment, a quote or a dialect quirk read one way
by the checker and another by the engine). Two steps:

1. ``extract_statements`` says how many statements the text holds and of which kind:
   exactly one SELECT (which in DuckDB includes WITH, VALUES, FROM-first, DESCRIBE,
   SUMMARIZE and SHOW) or an EXPLAIN of one; anything else (COPY, ATTACH, INSTALL, LOAD,
   SET, PRAGMA, CALL, EXPORT, CREATE, INSERT, a transaction, a second statement) is refused.
2. ``json_serialize_sql`` gives the parsed tree, which is walked node by node: a table must
   be one of the views, unqualified (no ``catalog.schema.`` prefix, so no way to the store
   attached behind them), or a CTE of the statement; a table function must be one of a few
   generators (``range``, ``unnest``…: never ``read_csv``, ``query``, ``glob`` or a
   ``duckdb_*`` catalog function); a scalar, aggregate or window function must be one of
   DuckDB's built-ins (so never the masking functions behind the views) and not one of the
   few that read settings, variables or sequences. A node of a kind this module does not
   know is refused, so a DuckDB upgrade that adds syntax fails closed.

Every refusal says what was refused and what is allowed. The guard is one layer: the
sandbox the statement then runs in (see ``workbench``) refuses file, network, extension,
setting and store writes on its own, whatever got past here.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import duckdb

from custodes.errors import CustodesError

MAX_CHARS: Final = 20_000

ALLOWED_KINDS: Final = "SELECT, WITH, VALUES, FROM, DESCRIBE, SUMMARIZE, SHOW TABLES or EXPLAIN"

# Table functions that only generate rows from their arguments.
TABLE_FUNCTIONS: Final = frozenset({"range", "generate_series", "unnest", "json_each", "json_tree"})

# Built-in functions that reveal or change session state rather than compute on values.
DENIED_FUNCTIONS: Final = frozenset(
    {
        "getvariable",
        "current_setting",
        "nextval",
        "currval",
        "setval",
        "setseed",
        "pg_sleep",
    }
)
DENIED_PREFIXES: Final = ("pg_get_", "duckdb_", "__internal")
# Names of DuckDB's catalog views (in its ``system`` database, found without a prefix).
SYSTEM_PREFIXES: Final = ("duckdb_", "sqlite_", "pragma_", "pg_", "information_schema")

# Node kinds (the ``type`` of a node that is not an expression) the walk knows to be safe
# or checks itself; anything else is refused.
KNOWN_NODES: Final = frozenset(
    {
        "SELECT_NODE",
        "SET_OPERATION_NODE",
        "RECURSIVE_CTE_NODE",
        "CTE_NODE",
        "BASE_TABLE",
        "JOIN",
        "SUBQUERY",
        "TABLE_FUNCTION",
        "EMPTY",
        "EXPRESSION_LIST",
        "SHOW_REF",
        "PIVOT",
        "ORDER_MODIFIER",
        "LIMIT_MODIFIER",
        "LIMIT_PERCENT_MODIFIER",
        "DISTINCT_MODIFIER",
        "ORDER_DEFAULT",
        "ASCENDING",
        "DESCENDING",
    }
)

# Why each refused kind of statement is refused (DuckDB's statement type → reason).
_WHY: Final[dict[str, str]] = {
    "COPY": "it reads or writes files",
    "EXPORT": "it writes files",
    "ATTACH": "it opens another database",
    "DETACH": "it closes a database",
    "LOAD": "it installs or loads extensions",
    "SET": "it changes settings",
    "VARIABLE_SET": "it changes settings",
    "PRAGMA": "it changes settings or the database",
    "CALL": "it calls a procedure",
    "TRANSACTION": "it controls transactions",
    "MULTI": "it creates objects first (write PIVOT … ON … IN (…) inside a SELECT)",
}

_FILE_FUNCTIONS: Final = re.compile(r"^(read_|parquet_|sniff_|glob$|iceberg|delta|sqlite|postgres)")
_EXPLAIN: Final = re.compile(
    r"^(?:\s|--[^\n]*(?:\n|$)|/\*.*?\*/)*EXPLAIN\s+(ANALY[SZ]E\s+)?(.*)$",
    re.IGNORECASE | re.DOTALL,
)


class QueryRefused(CustodesError):
    """The statement is not one the workbench runs; the message says what and why."""


@dataclass(frozen=True)
class Checked:
    """A statement the guard let through: the text to run, and the views it reads."""

    sql: str
    tables: frozenset[str]
    explain: bool = False


def check(statement: str, views: Collection[str]) -> Checked:
    """``statement`` if it is one read of ``views``; else :class:`QueryRefused`."""
    text = statement.strip()
    if not text:
        raise QueryRefused("the statement is empty")
    if len(text) > MAX_CHARS:
        raise QueryRefused(f"the statement is longer than {MAX_CHARS:,} characters")
    statements = _split(text)
    if len(statements) != 1:
        kinds = ", ".join(_first_word(s.query) for s in statements) or "nothing"
        raise QueryRefused(
            f"one statement at a time: found {len(statements)} ({kinds}); "
            "remove the extra ones (and any ';' between them)"
        )
    found = statements[0]
    kind = found.type.name
    if kind == "EXPLAIN":
        match = _EXPLAIN.match(found.query)
        if match is None:
            raise QueryRefused(
                f"only a plain EXPLAIN [ANALYZE] of a query is allowed ({ALLOWED_KINDS})"
            )
        inner = check(match.group(2), views)
        if inner.explain:
            raise QueryRefused("EXPLAIN of an EXPLAIN is refused")
        prefix = "EXPLAIN ANALYZE " if match.group(1) else "EXPLAIN "
        return Checked(prefix + inner.sql, inner.tables, explain=True)
    if kind != "SELECT":
        why = _WHY.get(kind, "it writes or changes the database")
        raise QueryRefused(
            f"{_first_word(found.query)} is refused ({why}): the workbench runs one "
            f"read-only query ({ALLOWED_KINDS})"
        )
    tree = _tree(found.query)
    tables = _walk(tree, {v.lower() for v in views})
    return Checked(found.query, frozenset(tables))


# -- parsing ----------------------------------------------------------------------------


_LOCK: Final = threading.Lock()


@cache
def _parser() -> duckdb.DuckDBPyConnection:
    """A private, empty, locked-down DuckDB used only to parse: no data, no files."""
    con = duckdb.connect(
        ":memory:",
        config={
            "autoload_known_extensions": False,
            "autoinstall_known_extensions": False,
            "allow_community_extensions": False,
            "python_enable_replacements": False,
        },
    )
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _split(text: str) -> list[Any]:
    with _LOCK:
        try:
            return list(_parser().extract_statements(text))
        except duckdb.Error as exc:
            raise QueryRefused(f"the statement does not parse: {_first_line(exc)}") from None


def _tree(sql: str) -> dict[str, Any]:
    with _LOCK:
        row = _parser().execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()
    try:
        tree: dict[str, Any] = json.loads(row[0] if row else "{}")
    except (RecursionError, ValueError):
        raise QueryRefused("the statement is nested too deeply to check") from None
    if tree.get("error") or len(tree.get("statements", ())) != 1:
        reason = tree.get("error_message", "it is not a single query")
        raise QueryRefused(f"the statement cannot be checked: {reason}")
    return tree


@cache
def builtin_functions() -> frozenset[str]:
    """DuckDB's own scalar, aggregate, window and macro functions, minus the denied ones,
    read from the empty parser database (so functions registered elsewhere never count)."""
    with _LOCK:
        rows = (
            _parser()
            .execute(
                "SELECT DISTINCT function_name FROM duckdb_functions() "
                "WHERE function_type IN ('scalar', 'aggregate', 'window', 'macro')"
            )
            .fetchall()
        )
    return frozenset(
        name.lower()
        for (name,) in rows
        if name.lower() not in DENIED_FUNCTIONS and not name.lower().startswith(DENIED_PREFIXES)
    )


# -- the walk ---------------------------------------------------------------------------


def _walk(tree: dict[str, Any], views: set[str]) -> set[str]:
    """Check every node; return the views read. Iterative: deep trees cannot overflow."""
    ctes = {name.lower() for name in _cte_names(tree)}
    functions = builtin_functions()
    read: set[str] = set()
    exempt: set[int] = set()  # the function node of a table function, checked as such
    for node in _nodes(tree):
        if node.get("named_param_map"):
            raise QueryRefused("parameters ($1, ?, $name) are not supported: write the values")
        cls, kind = node.get("class"), node.get("type")
        if cls in ("FUNCTION", "WINDOW") and id(node) not in exempt:
            _check_function(node, functions)
        elif cls is None and isinstance(kind, str):
            if kind not in KNOWN_NODES:
                raise QueryRefused(f"the workbench cannot check a {kind.lower()} clause; refused")
            if kind == "BASE_TABLE":
                read.add(_check_table(node, views, ctes))
            elif kind == "TABLE_FUNCTION":
                function = node.get("function") or {}
                exempt.add(id(function))
                _check_table_function(function)
            elif kind == "SHOW_REF" and node.get("query") is None:
                _check_show(node)
    return read & views


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def _cte_names(tree: Any) -> Iterator[str]:
    for node in _nodes(tree):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map", ()):
                if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                    yield entry["key"]


def _check_table(node: dict[str, Any], views: set[str], ctes: set[str]) -> str:
    name = str(node.get("table_name", ""))
    qualifier = ".".join(p for p in (node.get("catalog_name"), node.get("schema_name")) if p)
    listed = ", ".join(sorted(views))
    if qualifier:
        raise QueryRefused(
            f"{qualifier}.{name} is refused: name tables without a database or schema "
            f"prefix; the tables are {listed}"
        )
    lowered = name.lower()
    if lowered in views:
        return lowered
    # A CTE's name, unless it is a system view's: outside the CTE's scope that name would
    # reach DuckDB's catalog views (duckdb_views, sqlite_master…) instead.
    if lowered in ctes and not lowered.startswith(SYSTEM_PREFIXES):
        return lowered
    if "/" in name or "." in name or ":" in name:
        raise QueryRefused(
            f"reading the file or URL '{name}' is refused: the workbench reads only the "
            f"tables {listed}"
        )
    raise QueryRefused(f"there is no table {name!r} here: the tables are {listed}")


def _check_table_function(function: dict[str, Any]) -> None:
    name = str(function.get("function_name", "")).lower()
    allowed = ", ".join(sorted(TABLE_FUNCTIONS))
    if function.get("schema") or function.get("catalog"):
        raise QueryRefused(f"a qualified table function ({name}) is refused")
    if name in TABLE_FUNCTIONS:
        return
    if _FILE_FUNCTIONS.match(name):
        raise QueryRefused(
            f"{name}() is refused: the workbench cannot read files, URLs or other databases"
        )
    raise QueryRefused(f"the table function {name}() is refused; allowed: {allowed}")


def _check_function(node: dict[str, Any], functions: frozenset[str]) -> None:
    name = str(node.get("function_name", "")).lower()
    if node.get("schema") or node.get("catalog"):
        raise QueryRefused(f"a qualified function name ({name}) is refused")
    if name in functions:
        return
    if name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES):
        raise QueryRefused(f"the function {name}() is refused: it reads the session, not data")
    raise QueryRefused(f"the function {name}() is not available in the workbench")


def _check_show(node: dict[str, Any]) -> None:
    name = str(node.get("table_name", "")).strip('"').lower()
    if name != "tables":
        raise QueryRefused(f"only SHOW TABLES is allowed here ({ALLOWED_KINDS})")


def _first_word(sql: str) -> str:
    body = _EXPLAIN_FREE.sub("", sql)
    match = re.match(r"[A-Za-z_]+", body)
    return match.group(0).upper() if match else "?"


_EXPLAIN_FREE: Final = re.compile(r"^(?:\s|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.DOTALL)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
