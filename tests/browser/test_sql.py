"""The SQL workbench, dashboards and the audit log in a real browser (Debian's chromium)
against `custodes serve`: a query's rows and its chart drawn, every escape refused with its
reason on the page, a saved query on a dashboard, and the audit log's verify button (HTMX).
Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import Tab
from tests.web.test_sql_pages import ESCAPES

pytestmark = pytest.mark.browser

CHART_DRAWN = """(id) => {
  const el = document.getElementById(id);
  return el && el.dataset.rendered === 'yes' && el.querySelector('svg path') !== null;
}"""


def _fits(tab: Tab) -> None:
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= 1366


def _no_real_ids(tab: Tab) -> None:
    ids = re.compile(r"(?<![\\\w])(" + "|".join(map(re.escape, tab.site.actor_ids)) + r")\b")
    found = ids.search(tab.page.content())
    assert found is None, found


def _run(tab: Tab, sql: str) -> None:
    tab.page.get_by_label("SQL", exact=True).fill(sql)
    with tab.page.expect_navigation():
        tab.page.get_by_role("button", name="Run").click()


def test_run_a_query_and_see_its_rows_and_chart(tab: Tab) -> None:
    tab.go("/data/sql")
    tab.sign_in("investigator")
    assert tab.page.locator(".views-help summary code").all_inner_texts()[:1] == ["events"]
    tab.page.get_by_label("Quick chart").select_option("bar")
    tab.page.get_by_label("x axis").fill("subject")
    tab.page.get_by_label("y axis (numbers)").fill("events")
    _run(
        tab,
        "SELECT subject, count(*) AS events FROM events GROUP BY ALL ORDER BY events DESC LIMIT 15",
    )
    assert "15 rows in" in tab.page.locator("#result").inner_text()
    headers = tab.page.locator("table.results thead th").all_inner_texts()
    assert [h.split()[0] for h in headers] == ["subject", "events"]
    cells = tab.page.locator("table.results tbody tr td:first-child").all_inner_texts()
    assert all(re.fullmatch(r"S-[A-Z2-7]{10}", c) for c in cells), cells
    tab.page.wait_for_function(CHART_DRAWN, arg="query-chart", timeout=30_000)
    _fits(tab)
    _no_real_ids(tab)
    tab.shot("sql-workbench")
    assert tab.errors == []


@pytest.mark.parametrize(("sql", "message"), ESCAPES, ids=[s.split()[0] for s, _m in ESCAPES])
def test_every_escape_is_refused_on_the_page(tab: Tab, sql: str, message: str) -> None:
    tab.go("/data/sql")
    tab.sign_in("auditor")
    _run(tab, sql)
    refusal = tab.page.get_by_role("alert").filter(has_text="Refused")
    assert refusal.is_visible()
    assert message in refusal.inner_text()
    assert tab.page.get_by_label("SQL", exact=True).input_value() == sql  # kept, to fix
    if sql.startswith("COPY"):
        tab.shot("sql-refused")
    # The 400 answer is the one thing the console reported: no script or CSP error.
    assert [e for e in tab.errors if "status of 400" not in e] == []


def test_save_a_query_and_see_it_on_a_dashboard(tab: Tab) -> None:
    tab.go("/data/sql")
    tab.sign_in("lead")
    page = tab.page
    page.get_by_label("Quick chart").select_option("line")
    page.get_by_label("x axis").fill("day")
    page.get_by_label("y axis (numbers)").fill("events")
    page.get_by_label("SQL", exact=True).fill(
        "SELECT date_trunc('day', ts) AS day, count(*) AS events FROM events "
        "GROUP BY ALL ORDER BY day"
    )
    page.get_by_label("Name").fill("Events per day")
    page.get_by_label("Share with everyone who may run SQL").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save query").click()
    assert "Query saved." in page.locator("p.message.ok").inner_text()
    page.wait_for_function(CHART_DRAWN, arg="query-chart", timeout=30_000)
    assert page.locator(".saved-list").get_by_role("link", name="Events per day").is_visible()
    page.get_by_role("link", name="Dashboards", exact=True).first.click()
    page.wait_for_url(tab.site.url("/data/dashboards"))
    page.get_by_label("Name").fill("Daily activity")
    page.get_by_label("Events per day").check()
    _fits(tab)
    tab.shot("sql-dashboards")
    with page.expect_navigation():
        page.get_by_role("button", name="Create dashboard").click()
    assert re.fullmatch(re.escape(tab.site.url("/data/dashboards/")) + r"\d+", page.url)
    assert page.get_by_role("heading", name="Daily activity").is_visible()
    page.wait_for_function(CHART_DRAWN, arg="panel-0", timeout=30_000)
    _fits(tab)
    _no_real_ids(tab)
    tab.shot("sql-dashboard")
    assert tab.errors == []


def test_the_audit_log_and_its_verify_button(tab: Tab) -> None:
    tab.go("/audit")
    tab.sign_in("auditor")
    rows = tab.page.locator("table tbody tr")
    assert rows.count() > 10
    tab.page.get_by_role("button", name="Verify the chain").click()
    result = tab.page.locator("#verify-result")
    result.get_by_text("The chain is intact").wait_for(timeout=30_000)
    assert tab.page.url == tab.site.url("/audit")  # HTMX swapped the result in place
    _fits(tab)
    _no_real_ids(tab)
    tab.shot("audit-log")
    tab.page.get_by_label("Action").fill("sql.run")
    with tab.page.expect_navigation():
        tab.page.get_by_role("button", name="Filter").click()
    actions = tab.page.locator("table tbody td code").all_inner_texts()
    assert actions and set(actions) == {"sql.run"}
    assert tab.errors == []
