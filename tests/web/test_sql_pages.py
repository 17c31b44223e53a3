"""The SQL workbench page, saved queries and dashboards over real stores (SQLite and
PostgreSQL): results with pseudonyms, the row limit and truncation, a quick chart that is
valid Vega-Lite, every escape refused with its reason on the page (and audited), saving
with errors beside the fields, sharing, dashboards, and CSRF."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import altair as alt
import pytest
from sqlalchemy import func, select

from custodes.access.roles import Role
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.store.schema import AuditEntry, Dashboard, SavedQuery
from tests.web.conftest import Api, TestClient, running_api
from tests.web.pages import browser, csrf_of, fill
from tests.web.world import ACTORS

COUNT = "SELECT subject, count(*) AS events FROM events GROUP BY ALL ORDER BY subject"
# Every way out of the sandbox the workbench refuses, and what the page says about it.
ESCAPES = [
    ("COPY events TO '/tmp/out.csv'", "COPY is refused (it reads or writes files)"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv() is refused"),
    ("ATTACH '/tmp/other.db' AS other", "ATTACH is refused (it opens another database)"),
    ("INSTALL httpfs", "INSTALL is refused (it installs or loads extensions)"),
    ("LOAD httpfs", "LOAD is refused (it installs or loads extensions)"),
    ("SET enable_external_access = true", "SET is refused (it changes settings)"),
    ("PRAGMA database_list", "PRAGMA is refused"),
    ("SELECT 1; DROP TABLE events", "one statement at a time: found 2"),
]


@pytest.fixture
def site(case_url: str, tmp_path: Path) -> Iterator[Api]:
    with running_api(case_url, tmp_path / "data") as api:
        fill(api)
        yield api


def _post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    token = csrf_of(client.get("/data/sql").text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def _runs(api: Api) -> list[dict[str, Any]]:
    with api.store.read() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "sql.run"))
        return [json.loads(r.detail) | {"actor": r.actor} for r in rows]


def _count(api: Api, model: Any) -> int:
    with api.store.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _spec(html: str, chart_id: str) -> dict[str, Any]:
    found = re.search(
        rf'<script type="application/json" id="{chart_id}-spec">(.*?)</script>', html, re.S
    )
    assert found, f"no chart {chart_id}"
    spec: dict[str, Any] = json.loads(found.group(1))
    alt.Chart.from_dict(spec, validate=True)  # Vega-Lite would draw it
    return spec


def test_the_workbench_lists_the_views_and_their_columns(site: Api) -> None:
    html = browser(site, Role.investigator).get("/data/sql").text
    views = re.findall(r"<summary><code>(\w+)</code></summary>", html)
    assert "events" in views and "people" in views and "alerts" in views
    assert "quarantine" not in views
    assert "<code>subject</code>" in html and "<code>actor_id</code>" not in html
    assert 'name="sql"' in html and '<label for="sql">SQL</label>' in html
    assert "Events per subject" in html  # fill()'s shared query, listed
    assert browser(site, Role.triage_analyst).get("/data/sql").status_code == 403


def test_a_query_shows_rows_with_pseudonyms_and_a_chart(site: Api) -> None:
    client = browser(site, Role.investigator)
    answer = _post(
        client,
        "/data/sql",
        {"sql": COUNT, "rows": "100", "chart": "bar", "chart_x": "subject", "chart_y": "events"},
    )
    assert answer.status_code == 200
    names = Pseudonyms.load(site.store, site.settings)
    for actor in ACTORS:
        assert actor not in answer.text
        assert f"<td>{names.of(actor)}</td>" in answer.text
    assert "3 rows in" in answer.text and "Truncated" not in answer.text
    spec = _spec(answer.text, "query-chart")
    assert spec["mark"]["type"] == "bar"
    values = spec["datasets"][spec["data"]["name"]]
    assert sorted(v["x"] for v in values) == sorted(names.of(a) for a in ACTORS)
    assert {v["y"] for v in values} == {6}  # 3 events each, and 3 more from fill()
    # The axes offer the result's columns, the chosen ones selected.
    assert '<option value="subject" selected>subject</option>' in answer.text
    run = _runs(site)[-1]
    assert (run["actor"], run["statement"], run["outcome"], run["rows"]) == (
        "investigator",
        COUNT,
        "ok",
        3,
    )


def test_the_row_limit_and_truncation(site: Api) -> None:
    client = browser(site, Role.auditor)
    answer = _post(client, "/data/sql", {"sql": "SELECT * FROM range(50)", "rows": "10"})
    assert answer.status_code == 200
    assert answer.text.count('<td class="num">') == 10
    assert "Truncated:" in answer.text
    line = _post(
        client,
        "/data/sql",
        {"sql": "SELECT range AS x FROM range(5)", "chart": "line", "chart_x": "x", "chart_y": "x"},
    )
    assert _spec(line.text, "query-chart")["mark"]["type"] == "line"
    # A chart the result cannot give says why, beside the rows.
    text = _post(
        client,
        "/data/sql",
        {"sql": COUNT, "chart": "bar", "chart_x": "events", "chart_y": "subject"},
    )
    assert "No chart: the y axis needs numbers, and &#39;subject&#39; is VARCHAR." in text.text
    assert "3 rows in" in text.text


@pytest.mark.parametrize(("sql", "message"), ESCAPES)
def test_every_escape_is_refused_with_its_reason(site: Api, sql: str, message: str) -> None:
    answer = _post(browser(site, Role.lead), "/data/sql", {"sql": sql})
    assert answer.status_code == 400
    refusal = re.search(
        r'<p class="message error" role="alert" id="sql-refusal">(.*?)</p>', answer.text
    )
    assert refusal, answer.text
    assert refusal.group(1).startswith("Refused: ")
    assert message.replace("'", "&#39;") in refusal.group(1)
    assert sql.replace("'", "&#39;") in answer.text  # kept in the editor, to fix
    assert _runs(site)[-1]["outcome"] == "refused"


def test_saving_checks_fields_and_stores_nothing_on_error(site: Api) -> None:
    client = browser(site, Role.investigator)
    before = _count(site, SavedQuery)
    unnamed = _post(client, "/data/sql/save", {"sql": COUNT, "name": ""})
    assert unnamed.status_code == 422
    assert 'id="q-name-error" role="alert">is required' in unnamed.text
    refused = _post(client, "/data/sql/save", {"sql": "COPY events TO 'x.csv'", "name": "Bad"})
    assert refused.status_code == 422
    assert 'id="q-sql-error" role="alert">the workbench would refuse it: COPY is refused' in (
        refused.text
    )
    axis = _post(client, "/data/sql/save", {"sql": COUNT, "name": "Axes", "chart": "bar"})
    assert axis.status_code == 422 and 'id="q-chart_x-error"' in axis.text
    assert _count(site, SavedQuery) == before
    saved = _post(
        client,
        "/data/sql/save",
        {"sql": COUNT, "name": "Mine", "chart": "bar", "chart_x": "subject", "chart_y": "events"},
    )
    assert saved.status_code == 303
    opened = client.get(saved.headers["location"])
    assert "Query saved." in opened.text and "Saved query <strong>Mine</strong>" in opened.text
    _spec(opened.text, "query-chart")  # opening a saved query runs it, with its chart
    query_id = int(re.search(r"saved=(\d+)", saved.headers["location"]).group(1))  # type: ignore[union-attr]
    # Not shared: another sql.run role does not see it, not even by id.
    other = browser(site, Role.lead)
    assert "Mine" not in other.get("/data/sql").text
    assert other.get(f"/data/sql?saved={query_id}").status_code == 404
    # Changing it needs the version read; a stale one says so and changes nothing.
    change = {"sql": "SELECT 1 AS one", "name": "Mine", "saved_id": str(query_id)}
    stale = _post(client, "/data/sql/save", {**change, "version": "7", "shared": "true"})
    assert stale.status_code == 409 and "changed meanwhile" in stale.text
    done = _post(client, "/data/sql/save", {**change, "version": "1", "shared": "true"})
    assert done.status_code == 303
    assert "SELECT 1 AS one" in other.get(f"/data/sql?saved={query_id}").text  # shared now
    # Someone else's shared query saves as their own copy, never over it.
    copy = _post(
        other,
        "/data/sql/save",
        {"sql": "SELECT 2 AS two", "name": "Copy", "saved_id": str(query_id)},
    )
    assert copy.status_code == 303 and f"saved={query_id}&" not in copy.headers["location"]
    deleted = _post(client, f"/data/sql/saved/{query_id}/delete", {"version": "2"})
    assert deleted.headers["location"] == "/data/sql?done=deleted"
    assert other.get(f"/data/sql?saved={query_id}").status_code == 404


def test_a_saved_query_on_a_dashboard(site: Api) -> None:
    client = browser(site, Role.auditor)
    saved = _post(
        client,
        "/data/sql/save",
        {
            "sql": "SELECT action, count(*) AS n FROM events GROUP BY ALL",
            "name": "Actions",
            "chart": "bar",
            "chart_x": "action",
            "chart_y": "n",
        },
    )
    query_id = re.search(r"saved=(\d+)", saved.headers["location"]).group(1)  # type: ignore[union-attr]
    page = client.get("/data/dashboards").text
    assert f'name="queries" value="{query_id}"' in page
    token = csrf_of(page)
    empty = client.post("/data/dashboards", data={"csrf_token": token, "name": "Nothing"})
    assert empty.status_code == 422
    assert 'id="d-queries-error" role="alert">a dashboard needs at least one saved query' in (
        empty.text
    )
    assert _count(site, Dashboard) == 1  # fill()'s
    made = client.post(
        "/data/dashboards",
        data={"csrf_token": token, "name": "Audit board", "queries": ["1", query_id]},
        follow_redirects=False,
    )
    assert made.status_code == 303
    board = client.get(made.headers["location"])
    assert board.status_code == 200
    assert "Events per subject" in board.text and "Actions" in board.text
    for n in (0, 1):
        _spec(board.text, f"panel-{n}")
    for actor in ACTORS:
        assert actor not in board.text
    runs = _runs(site)[-2:]
    assert {r["saved_query_id"] for r in runs} == {1, int(query_id)}
    # Private: the auditor's own query is a placeholder for nobody else, since the
    # dashboard itself is not shared and so not found.
    path = made.headers["location"]
    assert browser(site, Role.lead).get(path).status_code == 404


def test_posts_without_the_csrf_token_are_refused(site: Api) -> None:
    client = browser(site, Role.admin)
    before = (_count(site, SavedQuery), len(_runs(site)))
    for path, data in (
        ("/data/sql", {"sql": COUNT}),
        ("/data/sql/save", {"sql": COUNT, "name": "x"}),
        ("/data/sql/saved/1/delete", {"version": "1"}),
        ("/data/dashboards", {"name": "x", "queries": ["1"]}),
        ("/data/dashboards/1/delete", {"version": "1"}),
    ):
        answer = client.post(path, data=data, follow_redirects=False)
        assert answer.status_code == 403, path
    assert (_count(site, SavedQuery), len(_runs(site))) == before
    assert _count(site, Dashboard) == 1
