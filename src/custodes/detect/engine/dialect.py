"""DuckDB-dialect feature SQL, rewritten for Spark SQL.

The feature queries have one source of truth, written for DuckDB. SQLGlot's generic
``duckdb → spark`` transpile gets almost all of it right; the few idioms it gets wrong, or
that have no Spark spelling at all, are rewritten here on the syntax tree first, each with
the reason. Anything not listed is left to SQLGlot, and the parity test (features and alerts
equal on both engines for the same data) is what says the pair is right.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp


def to_spark(sql: str) -> str:
    """One DuckDB statement or query as Spark SQL."""
    return to_spark_tree(parse(sql)).sql(dialect="spark")


def parse(sql: str) -> exp.Expr:
    tree = sqlglot.parse_one(sql, read="duckdb")
    if tree is None:  # pragma: no cover - parse_one raises on empty input
        raise ValueError("empty SQL")
    return tree


def to_spark_tree(tree: exp.Expr) -> exp.Expr:
    """The DuckDB syntax tree with the Spark-specific rewrites applied (a copy)."""
    return tree.copy().transform(_rewrite)


def _rewrite(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont):
        return _percentile(node)
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "timezone":
        return _from_utc(node)
    if isinstance(node, exp.JSONExtractScalar) and isinstance(node.expression, exp.Array):
        return _json_paths(node)
    return node


def _percentile(node: exp.WithinGroup) -> exp.Expr:
    """``percentile_cont(q) WITHIN GROUP (ORDER BY x)`` → ``percentile(x, q)``.

    SQLGlot turns it into ``percentile_approx``, which is an estimate; Spark's exact
    ``percentile`` interpolates linearly between the two closest ranks, as DuckDB does.
    """
    order = node.expression
    keys = order.expressions if isinstance(order, exp.Order) else []
    if len(keys) != 1 or keys[0].args.get("desc"):
        raise ValueError(f"unsupported WITHIN GROUP ordering: {node.sql('duckdb')}")
    value = keys[0].this
    return exp.Anonymous(this="percentile", expressions=[value, node.this.this])


def _from_utc(node: exp.Anonymous) -> exp.Expr:
    """``timezone(zone, CAST(ts AS TIMESTAMPTZ))`` → ``from_utc_timestamp(ts, zone)``.

    DuckDB (ICU) reads the UTC instant's wall-clock time in the zone; Spark has no
    ``timezone`` function, and its ``from_utc_timestamp`` does exactly that for a session
    in UTC (the Spark engine sets it). The cast only tells DuckDB the naive timestamp is UTC.
    """
    args = node.expressions
    if len(args) != 2:
        raise ValueError(f"timezone() takes two arguments: {node.sql('duckdb')}")
    zone, ts = args
    if isinstance(ts, exp.Cast) and ts.to.is_type(exp.DataType.Type.TIMESTAMPTZ):
        ts = ts.this
    return exp.Anonymous(this="from_utc_timestamp", expressions=[ts, zone])


def _json_paths(node: exp.JSONExtractScalar) -> exp.Expr:
    """``json_extract_string(doc, ['$.a', '$.b'])`` → ``array(get_json_object(doc, '$.a'),
    ...)``.

    DuckDB parses the document once for a list of paths, which is why the feature SQL uses
    it on the big passes; Spark has no list form (``json_tuple`` is a generator, not an
    expression), so each path is extracted on its own. Subscripts on the result are already
    0-based in the tree (SQLGlot normalises DuckDB's 1-based ones when parsing).
    """
    paths = node.expression.expressions
    return exp.Array(
        expressions=[
            exp.Anonymous(this="get_json_object", expressions=[node.this.copy(), path.copy()])
            for path in paths
        ]
    )
