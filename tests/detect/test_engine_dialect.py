"""The DuckDB → Spark rewrites, and every statement the feature build really runs: no
DuckDB-only idiom may reach Spark. These need no Spark; test_spark_parity runs the result."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from custodes.detect.engine.dialect import to_spark
from custodes.detect.engine.embedded import DuckDBEngine
from custodes.detect.features import build_features
from custodes.detect.features.verdicts import fallback_links_sql
from custodes.store.events import EventStore
from tests.detect.test_features import Org


def _flat(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def test_percentile_cont_becomes_the_exact_spark_percentile_not_an_estimate() -> None:
    out = to_spark("SELECT percentile_cont(0.1) WITHIN GROUP (ORDER BY d.ms) AS p FROM t AS d")
    assert out == "SELECT PERCENTILE(d.ms, 0.1) AS p FROM t AS d"
    assert "APPROX" not in out


def test_descending_percentile_is_refused_rather_than_silently_inverted() -> None:
    with pytest.raises(ValueError, match="WITHIN GROUP"):
        to_spark("SELECT percentile_cont(0.1) WITHIN GROUP (ORDER BY ms DESC) FROM t")


def test_zone_conversion_becomes_from_utc_timestamp_on_the_naive_utc_value() -> None:
    out = to_spark("SELECT timezone(p.tz, CAST(e.ts AS TIMESTAMPTZ)) AS local FROM e, p")
    assert out == "SELECT FROM_UTC_TIMESTAMP(e.ts, p.tz) AS local FROM e, p"


def test_json_path_list_becomes_an_array_of_single_extractions_indexed_from_zero() -> None:
    out = to_spark(
        "SELECT r.j[1] AS a, r.j[2] AS b FROM "
        "(SELECT json_extract_string(e.attrs, ['$.external', '$.grantee_id']) AS j FROM e) AS r"
    )
    pair = "GET_JSON_OBJECT(e.attrs, '$.external'), GET_JSON_OBJECT(e.attrs, '$.grantee_id')"
    assert f"ARRAY({pair})" in out
    assert "r.j[0] AS a, r.j[1] AS b" in out


def test_single_json_path_and_regex_escapes_survive() -> None:
    out = to_spark(
        r"SELECT regexp_replace(lower(json_extract_string(e.attrs, '$.url_domain')), "
        r"'^www\.', '') FROM e"
    )
    # Spark string literals treat backslash as an escape: it must be doubled.
    assert out == (
        r"SELECT REGEXP_REPLACE(LOWER(GET_JSON_OBJECT(e.attrs, '$.url_domain')), '^www\\.', '')"
        " FROM e"
    )


class Recording(DuckDBEngine):
    """The default engine, keeping every statement it ran."""

    def __init__(self, store: EventStore) -> None:
        super().__init__(store)
        self.statements: list[str] = []

    def execute(self, sql: str) -> None:
        self.statements.append(sql)
        super().execute(sql)

    def fetch_value(self, sql: str) -> Any:
        self.statements.append(sql)
        return super().fetch_value(sql)


# What must never reach Spark: DuckDB spellings SQLGlot does not (or wrongly) translate.
_DUCKDB_ONLY = (
    "TIMEZONE(",
    "TIMESTAMPTZ",
    "PERCENTILE_APPROX",
    "PERCENTILE_CONT",
    "GET_JSON_OBJECT(E.ATTRS, ARRAY",
    "JSON_EXTRACT_STRING",
    "ANY_VALUE",
    "ARG_MAX",
    "EPOCH(",
    "UNNEST(",
    "GENERATE_SERIES",
    "//",
    "::",
)


def test_every_statement_of_a_full_and_an_incremental_build_transpiles_cleanly(
    store: EventStore, tmp_path: Path
) -> None:
    org = Org()
    org.person("m", tz="Europe/Dublin", notice_date="2026-01-06")
    org.person("q", tz="Asia/Kolkata")
    decision = org.event(
        "2026-01-05T10:00:00Z",
        "m",
        "review_decision",
        target_type="content",
        target_id="c1",
        outcome="approve",
        duration_ms=900,
        attrs={"suggested_label": "remove", "owner_account_id": "a1"},
    )
    org.event("2026-01-05T11:00:00Z", "q", "qa_review", target_id=decision, outcome="agree")
    # Verdicts on unknown decisions: the fallback links (arg_max, any attrs) must run too.
    org.event(
        "2026-01-06T11:00:00Z",
        "q",
        "qa_review",
        target_id="gone",
        outcome="disagree",
        attrs={"reviewed_actor_id": "m"},
    )
    org.event(
        "2026-01-06T12:00:00Z",
        "q",
        "appeal_decision",
        target_id="c1",
        outcome="overturn",
        attrs={"original_decision_id": "unknown"},
    )
    org.event(
        "2026-01-06T13:00:00Z",
        "m",
        "email_send",
        bytes=10,
        attrs={"external": True, "recipient_domain": "www.gmail.com"},
    )
    org.load(store, tmp_path)
    engine = Recording(store)
    assert build_features(store, engine=engine) == 4
    assert build_features(store, dt.date(2026, 1, 6), engine=engine) == 2
    statements = engine.statements
    assert any("arg_max" in s for s in statements), "the fallback path did not run"
    assert fallback_links_sql() in statements
    for sql in statements:
        spark = to_spark(sql)
        upper = _flat(spark).upper()
        leftovers = [t for t in _DUCKDB_ONLY if t in upper]
        assert not leftovers, f"{leftovers} in:\n{spark}"
        assert sqlglot.parse_one(spark, read="spark") is not None
