"""The guard alone: one read of the views passes; every escape is refused with a message
that names what was refused. (The sandbox refusing the same escapes without the guard is
in test_workbench.py.)"""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custodes.sql.guard import MAX_CHARS, Checked, QueryRefused, check
from custodes.sql.views import EXPOSED

READS = [
    ("SELECT * FROM events", {"events"}),
    ("select subject, count(*) from EVENTS group by all order by 2 desc", {"events"}),
    ('SELECT * FROM "people"', {"people"}),
    ("FROM events SELECT action", {"events"}),
    (
        "WITH a AS (SELECT * FROM alerts) SELECT * FROM a JOIN people USING (subject)",
        {"alerts", "people"},
    ),
    (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
        "SELECT * FROM r",
        set(),
    ),
    ("VALUES (1, 'a'), (2, 'b')", set()),
    ("SELECT * FROM range(10) UNION ALL SELECT * FROM generate_series(1, 3)", set()),
    ("SELECT * FROM unnest([1, 2])", set()),
    ("SELECT key, value FROM events, json_each(attrs) WHERE attrs IS NOT NULL", {"events"}),
    ("DESCRIBE events", {"events"}),
    ("SUMMARIZE people", {"people"}),
    ("SHOW TABLES", set()),
    ("EXPLAIN SELECT count(*) FROM events", {"events"}),
    ("/* plan */ explain analyze SELECT count(*) FROM tickets", {"tickets"}),
    (
        "SELECT row_number() OVER w, lag(ts) OVER w FROM events WINDOW w AS (ORDER BY ts)",
        {"events"},
    ),
    (
        "SELECT attrs->>'$.grantee_id', list_transform(reasons, lambda r: upper(r)) "
        "FROM events, alerts",
        {"events", "alerts"},
    ),
    ("SELECT * FROM (PIVOT events ON action IN ('login', 'logout') USING count(*))", {"events"}),
    (
        "SELECT date_trunc('day', ts) AS day, count(*) FILTER (WHERE action = 'x') FROM events "
        "WHERE ts > TIMESTAMP '2026-01-01' - INTERVAL 7 DAY GROUP BY ALL QUALIFY true",
        {"events"},
    ),
    ("SELECT 1; -- a trailing semicolon and comment", set()),
    ("SELECT ';DROP TABLE events', $$; DROP TABLE events$$ /* ; DROP TABLE x */", set()),
    ("WITH quarantine AS (SELECT 1 AS x) SELECT * FROM quarantine", set()),
]


@pytest.mark.parametrize(("sql", "tables"), READS, ids=[r[0][:40] for r in READS])
def test_one_read_of_the_views_passes(sql: str, tables: set[str]) -> None:
    checked = check(sql, EXPOSED)
    assert checked.tables == tables
    statements = duckdb.extract_statements(checked.sql)
    assert len(statements) == 1


def test_explain_runs_the_checked_inner_query() -> None:
    checked = check("-- why slow?\nEXPLAIN   ANALYZE  SELECT * FROM events", EXPOSED)
    assert checked.explain
    assert checked.sql == "EXPLAIN ANALYZE SELECT * FROM events"


ESCAPES = [
    # files and the network
    ("COPY (SELECT 1) TO '/tmp/x.csv'", "COPY is refused (it reads or writes files)"),
    ("COPY events TO '/tmp/x.parquet' (FORMAT parquet)", "COPY is refused"),
    ("COPY events FROM '/tmp/x.csv'", "COPY is refused"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv() is refused"),
    ("SELECT * FROM read_csv_auto('/etc/passwd', sep = ':')", "read_csv_auto() is refused"),
    ("SELECT content FROM read_text('/etc/passwd')", "read_text() is refused"),
    ("SELECT * FROM read_blob('/etc/hostname')", "read_blob() is refused"),
    ("SELECT * FROM read_parquet('http://example.com/x.parquet')", "read_parquet() is refused"),
    ("SELECT * FROM read_json('https://example.com/x.json')", "read_json() is refused"),
    ("SELECT * FROM glob('/etc/*')", "glob() is refused"),
    ("SELECT * FROM sniff_csv('/etc/passwd')", "sniff_csv() is refused"),
    ("SELECT * FROM '/etc/passwd'", "reading the file or URL '/etc/passwd' is refused"),
    ("FROM 'https://example.com/x.csv'", "file or URL"),
    ("EXPORT DATABASE '/tmp/dump'", "EXPORT is refused (it writes files)"),
    ("IMPORT DATABASE '/tmp/dump'", "IMPORT is refused"),
    # other databases and extensions
    ("ATTACH '/tmp/x.db'", "ATTACH is refused (it opens another database)"),
    ("ATTACH ':memory:' AS m", "ATTACH is refused"),
    ("DETACH store", "DETACH is refused"),
    ("INSTALL httpfs", "INSTALL is refused (it installs or loads extensions)"),
    ("LOAD httpfs", "LOAD is refused (it installs or loads extensions)"),
    # settings
    ("SET enable_external_access = true", "SET is refused (it changes settings)"),
    ("SET GLOBAL lock_configuration = false", "SET is refused"),
    ("RESET enable_external_access", "RESET is refused"),
    ("PRAGMA enable_external_access = true", "PRAGMA is refused"),
    ("PRAGMA threads = 64", "PRAGMA is refused"),
    ("PRAGMA memory_limit = '100GB'", "PRAGMA is refused"),
    ("PRAGMA show_tables", "PRAGMA is refused"),
    ("SET VARIABLE x = 1", "SET is refused"),
    ("USE store", "USE is refused"),
    ("CALL pragma_version()", "CALL is refused"),
    ("CHECKPOINT", "CHECKPOINT is refused"),
    ("BEGIN TRANSACTION", "BEGIN is refused (it controls transactions)"),
    # writes
    ("CREATE TABLE t AS SELECT 1", "CREATE is refused (it writes or changes the database)"),
    ("CREATE TEMP TABLE t AS SELECT * FROM events", "CREATE is refused"),
    ("CREATE MACRO leak(x) AS x", "CREATE is refused"),
    ("INSERT INTO events (event_id) VALUES ('x')", "INSERT is refused"),
    ("UPDATE events SET action = 'x'", "UPDATE is refused"),
    ("DELETE FROM events", "DELETE is refused"),
    ("DROP TABLE events", "DROP is refused"),
    ("ALTER TABLE events RENAME TO e", "ALTER is refused"),
    ("TRUNCATE events", "TRUNCATE is refused"),
    ("VACUUM", "VACUUM is refused"),
    ("PIVOT events ON action", "PIVOT is refused (it creates objects first"),
    # more than one statement, with comment, whitespace and case tricks
    ("SELECT 1; DROP TABLE events", "one statement at a time: found 2 (SELECT, DROP)"),
    ("select 1 ;\n\n\t dRoP   tAbLe events --", "found 2 (SELECT, DROP)"),
    ("SELECT 1; SELECT 2", "one statement at a time: found 2"),
    ("/* SELECT */ CoPy events TO '/tmp/x.csv'", "COPY is refused"),
    ("-- a comment\n  InSeRt INTO events (event_id) VALUES ('x')", "INSERT is refused"),
    ("SeLeCt * FrOm ReAd_CsV('/etc/passwd')", "read_csv() is refused"),
    ("SELECT * FROM \"read_csv\"('/etc/passwd')", "read_csv() is refused"),
    ("SELECT (SELECT content FROM read_text('/etc/passwd'))", "read_text() is refused"),
    ("WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x", "read_csv()"),
    ("SELECT * FROM events WHERE subject IN (SELECT * FROM read_csv('/x'))", "read_csv()"),
    ("SUMMARIZE SELECT * FROM read_text('/etc/passwd')", "read_text() is refused"),
    ("EXPLAIN COPY (SELECT 1) TO '/tmp/x.csv'", "COPY is refused"),
    ("EXPLAIN SELECT * FROM read_csv('/etc/passwd')", "read_csv() is refused"),
    ("EXPLAIN EXPLAIN SELECT 1", "does not parse"),
    # the store behind the views, and the catalog
    ("SELECT * FROM store_0123abcd.main.events", "store_0123abcd.main.events is refused"),
    ("SELECT * FROM main.events", "main.events is refused: name tables without a database"),
    ('SELECT * FROM "memory"."main"."people"', "memory.main.people is refused"),
    ("DESCRIBE store_x.events", "store_x.events is refused"),
    ("SELECT * FROM quarantine", "there is no table 'quarantine' here"),
    ("SELECT * FROM ingest_files", "there is no table 'ingest_files' here"),
    ("SELECT * FROM duckdb_views()", "the table function duckdb_views() is refused"),
    ("SELECT * FROM duckdb_databases", "there is no table 'duckdb_databases'"),
    ("SELECT * FROM information_schema.tables", "information_schema.tables is refused"),
    (
        "SELECT * FROM (WITH duckdb_views AS (SELECT 1) FROM duckdb_views), duckdb_views",
        "there is no table 'duckdb_views'",
    ),
    ("SELECT * FROM query('SELECT * FROM store.main.events')", "table function query()"),
    ("SELECT * FROM query_table('events')", "table function query_table()"),
    ("SHOW ALL TABLES", "only SHOW TABLES is allowed"),
    ("SHOW DATABASES", "only SHOW TABLES is allowed"),
    # functions that are not DuckDB's, or read the session
    ("SELECT _custodes_pseudonym('staff-mallory-7391')", "_custodes_pseudonym() is not"),
    ("SELECT _custodes_mask(subject) FROM events", "_custodes_mask() is not available"),
    ("SELECT current_setting('enable_external_access')", "current_setting() is refused"),
    ("SELECT getvariable('x')", "getvariable() is refused"),
    ("SELECT nextval('run_ids')", "nextval() is refused"),
    ("SELECT main.upper('x')", "a qualified function name (upper) is refused"),
    # not SQL, or not the workbench's
    ("SELECT ?", "parameters ($1, ?, $name) are not supported"),
    ("SELECT * FROM events WHERE subject = $1", "parameters"),
    ("SELEC 1", "does not parse"),
    ("", "the statement is empty"),
    ("  \n\t ", "the statement is empty"),
    (";", "found 0"),
    ("-- only a comment", "found 0"),
]


@pytest.mark.parametrize(("sql", "says"), ESCAPES, ids=[e[0][:48] for e in ESCAPES])
def test_every_escape_is_refused_with_a_clear_message(sql: str, says: str) -> None:
    with pytest.raises(QueryRefused) as refused:
        check(sql, EXPOSED)
    assert says in str(refused.value)


def test_a_statement_too_long_is_refused() -> None:
    with pytest.raises(QueryRefused, match="longer than 20,000 characters"):
        check("SELECT 1 " + " " * MAX_CHARS + "-- padding", EXPOSED)


def test_an_unknown_table_lists_the_tables_there_are() -> None:
    with pytest.raises(QueryRefused) as refused:
        check("SELECT * FROM evnts", EXPOSED)
    assert "there is no table 'evnts' here: the tables are accounts" in str(refused.value)
    assert "events" in str(refused.value)


def test_deep_nesting_is_refused_not_a_crash() -> None:
    deep = "SELECT " + "(" * 3000 + "1" + ")" * 3000
    with pytest.raises(QueryRefused):
        check(deep, EXPOSED)


def _accepts_or_refuses(sql: str) -> None:
    refusal: str | None = None
    try:
        checked = check(sql, EXPOSED)
    except QueryRefused as exc:
        refusal = str(exc)
    if refusal is not None:
        assert refusal  # a refusal always says why
        return
    assert isinstance(checked, Checked)
    # Whatever passes is exactly one read, by DuckDB's own parser.
    statements = duckdb.extract_statements(checked.sql)
    assert len(statements) == 1
    assert statements[0].type in (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN)
    assert checked.tables <= set(EXPOSED)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_fuzz_any_text_is_accepted_or_cleanly_refused(sql: str) -> None:
    _accepts_or_refuses(sql)


TOKENS = [
    "SELECT",
    "FROM",
    "WHERE",
    "WITH",
    "AS",
    "(",
    ")",
    ",",
    ";",
    "*",
    "'",
    '"',
    "--",
    "/*",
    "*/",
    "\n",
    "$$",
    "events",
    "people",
    "store_x.main.events",
    "main.events",
    "read_csv('/etc/passwd')",
    "read_text('/etc/passwd')",
    "query('SELECT 1')",
    "COPY",
    "TO",
    "'/tmp/x.csv'",
    "ATTACH",
    "INSTALL",
    "LOAD",
    "httpfs",
    "SET",
    "PRAGMA",
    "enable_external_access",
    "=",
    "true",
    "DROP",
    "TABLE",
    "CREATE",
    "INSERT",
    "INTO",
    "VALUES",
    "(1)",
    "EXPLAIN",
    "DESCRIBE",
    "SUMMARIZE",
    "SHOW",
    "TABLES",
    "UNION",
    "ALL",
    "range(3)",
    "1",
    "subject",
    "count(*)",
    "_custodes_pseudonym('a')",
    "LATERAL",
    "JOIN",
    "ON",
    "ORDER",
    "BY",
    "LIMIT",
    "CALL",
    "EXPORT",
    "DATABASE",
    "PIVOT",
    "USING",
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=16).map(" ".join))
def test_fuzz_sql_like_text_is_accepted_or_cleanly_refused(sql: str) -> None:
    _accepts_or_refuses(sql)
