"""Small helpers for writing SQL text safely from Python constants."""

from __future__ import annotations

from collections.abc import Iterable


def quote(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def in_list(values: Iterable[str]) -> str:
    """``('a', 'b')`` for an IN predicate."""
    return "(" + ", ".join(quote(v) for v in values) + ")"


def attr(key: str, alias: str = "e") -> str:
    """One attrs key as text (DuckDB json_extract_string; Spark: get_json_object)."""
    return f"json_extract_string({alias}.attrs, {quote('$.' + key)})"


def share(numerator: str, denominator: str) -> str:
    """A share that is NULL, not an error or 0, when the denominator is 0 or NULL."""
    return f"CAST({numerator} AS DOUBLE) / nullif({denominator}, 0)"
