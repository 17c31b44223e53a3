"""The integrity pages in a real browser (Debian's chromium) against `custodes serve`: from
the dashboard to a risky staff member, a case opened from their alerts, evidence saved and
re-checked without leaving the page, and the case moved through the workflow to closed with
an outcome; the alert queue's bulk dismissal; the activity filter reloading only its
section; and a triage analyst kept out. Screenshots of each page go to test-artifacts/."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import Tab

pytestmark = pytest.mark.browser

CHARTS_DRAWN = """() => {
  const charts = [...document.querySelectorAll('[data-chart]')];
  return charts.length > 0 && charts.every(c => c.dataset.rendered === 'yes');
}"""


def _fits(tab: Tab) -> None:
    """Readable on the 1366-pixel laptop: nothing scrolls sideways."""
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= 1366


def _no_real_ids(tab: Tab) -> None:
    # Simulated ids look like u0027, as does a JSON escape (\u0027): not after a backslash.
    ids = re.compile(r"(?<![\\\w])(" + "|".join(map(re.escape, tab.site.actor_ids)) + r")\b")
    found = ids.search(tab.page.content())
    assert found is None, found


def _click(tab: Tab, name: str) -> None:
    with tab.page.expect_navigation():
        tab.page.get_by_role("button", name=name, exact=True).click()


def test_from_the_dashboard_to_a_closed_case(tab: Tab) -> None:
    tab.go("/")
    tab.sign_in("investigator")
    tab.page.wait_for_function(CHARTS_DRAWN, timeout=30_000)
    riskiest = tab.page.locator("table a[href^='/integrity/staff/']").first
    pseudonym = riskiest.inner_text()
    with tab.page.expect_navigation():
        riskiest.click()
    assert tab.page.url == tab.site.url(f"/integrity/staff/{pseudonym}")
    tab.page.wait_for_function(CHARTS_DRAWN, timeout=30_000)
    assert tab.page.get_by_role("heading", name=re.compile(f"Staff {pseudonym}")).is_visible()
    _fits(tab)
    _no_real_ids(tab)
    tab.shot("staff-risk")

    _click(tab, "Open case from the ticked alerts")
    assert re.search(r"/integrity/cases/\d+\?done=opened$", tab.page.url)
    assert tab.page.get_by_text("Case opened from the alerts.").is_visible()
    assert tab.page.locator(".facts").get_by_text(pseudonym).is_visible()

    # Evidence from the timeline, then re-checked in place (HTMX: no navigation).
    tab.page.get_by_label("Title", exact=True).fill("Their activity around the alerts")
    _click(tab, "Save as evidence")
    assert tab.page.get_by_text("Evidence saved").is_visible()
    url = tab.page.url
    tab.page.get_by_role("button", name="Re-check").first.click()
    tab.page.wait_for_selector(".check.ok")
    assert tab.page.url == url
    assert "Unchanged" in tab.page.locator(".check").first.inner_text()

    tab.page.get_by_label("Note (markdown").fill("Spoke to the **team lead**.")
    _click(tab, "Add note")
    assert tab.page.locator(".note strong").inner_text() == "team lead"
    _fits(tab)
    _no_real_ids(tab)
    tab.shot("case")

    for stage in ("triage", "investigating", "pending decision"):
        _click(tab, f"To {stage}")
        assert tab.page.locator(".workflow [aria-current='step']").inner_text() == stage
    tab.page.get_by_label("Outcome").select_option("substantiated")
    tab.page.get_by_label("Reason (optional)").fill("Admitted in interview.")
    _click(tab, "Close")
    assert tab.page.get_by_text("The case is closed").is_visible()
    assert tab.page.locator(".workflow [aria-current='step']").inner_text() == "closed"
    assert tab.page.get_by_text("outcome: substantiated").is_visible()
    tab.shot("case-closed")
    assert tab.errors == []


def test_the_activity_filter_reloads_only_its_section(tab: Tab) -> None:
    tab.go("/integrity/alerts")
    tab.sign_in("lead")
    with tab.page.expect_navigation():
        tab.page.locator("table.queue a[href^='/integrity/staff/']").first.click()
    tab.page.wait_for_function(CHARTS_DRAWN, timeout=30_000)
    tab.page.evaluate("window.stayedHere = true")
    tab.page.get_by_label("session", exact=True).check()
    with tab.page.expect_response(lambda r: "family=session" in r.url):
        tab.page.get_by_role("button", name="Show").click()
    tab.page.wait_for_function("location.search.includes('family=session')")
    assert tab.page.evaluate("window.stayedHere") is True  # no page load
    families = tab.page.locator("#activity tbody td:nth-child(3)").all_inner_texts()
    assert families and set(families) == {"session"}
    assert tab.page.get_by_label("session", exact=True).is_checked()
    assert tab.errors == []


def test_alert_queue_bulk_dismiss_with_a_reason(tab: Tab) -> None:
    tab.go("/integrity/alerts")
    tab.sign_in("lead")
    assert tab.page.url == tab.site.url("/integrity/alerts")
    _fits(tab)
    _no_real_ids(tab)
    tab.shot("alert-queue")
    first = tab.page.locator("table.queue tbody tr").first
    alert_id = first.locator("code").inner_text()
    first.locator("input[type=checkbox]").check()
    # Without a reason, the browser itself asks for one (the field is required).
    tab.page.get_by_role("button", name="Dismiss (false positive)").click()
    assert tab.page.url == tab.site.url("/integrity/alerts")
    tab.page.get_by_label("Reason (needed to dismiss or confirm)").fill("Ticket in the other tool")
    _click(tab, "Dismiss (false positive)")
    assert tab.page.get_by_text("Dismissed 1 alert as false positives").is_visible()
    assert tab.page.get_by_text(alert_id).count() == 0  # off the open queue
    tab.page.get_by_label("Show").select_option("judged")
    _click(tab, "Apply")
    assert tab.page.get_by_text(alert_id, exact=True).is_visible()
    assert tab.errors == []


def test_case_list(tab: Tab) -> None:
    tab.go("/integrity/cases")
    tab.sign_in("auditor")
    assert tab.page.get_by_role("heading", name="Cases", exact=True).is_visible()
    _fits(tab)
    _no_real_ids(tab)
    tab.shot("cases")
    assert tab.errors == []


def test_a_triage_analyst_cannot_open_an_integrity_case(tab: Tab) -> None:
    tab.go("/")
    tab.sign_in("triage-analyst")
    nav = tab.page.locator("nav.sidebar a").all_inner_texts()
    assert not {"Alert queue", "Cases", "Integrity overview"} & set(nav)
    for path in ("/integrity/cases/1", "/integrity/cases", "/integrity/alerts"):
        assert tab.go(path) == 403, path
        assert tab.page.get_by_role("heading", name="Not allowed").is_visible()
    tab.shot("forbidden-case-triage-analyst")
