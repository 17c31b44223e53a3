"""The web app in a real browser (Debian's chromium) against `custodes serve`: signing in,
the dashboard's charts drawn, navigation and access per role, the keyboard path, signing
out (the form, and HTMX with the CSRF header from the meta tag), and no real actor id in
anything the browser ends up showing. A screenshot of each page goes to
test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest

from custodes.access.roles import Role, can
from custodes.web.pages import nav
from tests.browser.conftest import Tab

pytestmark = pytest.mark.browser

CHARTS_DRAWN = """() => {
  const charts = [...document.querySelectorAll('[data-chart]')];
  return charts.length > 0 && charts.every(c => c.dataset.rendered === 'yes');
}"""

# Each drawn chart: an SVG with a size and at least one mark (bar) in it.
CHART_SIZES = """() => [...document.querySelectorAll('[data-chart]')].map(c => {
  const svg = c.querySelector('svg');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {id: c.id, width: box.width, height: box.height,
          marks: svg ? svg.querySelectorAll('.mark-rect path').length : 0};
})"""


def _nav(tab: Tab) -> list[str]:
    return tab.page.locator("nav.sidebar a").all_inner_texts()


def _nav_for(role: Role) -> list[str]:
    """The links ``role`` should be shown, in order (``pages.nav`` says which)."""
    return [
        link.label for link in nav.links() if link.permission is None or can(role, link.permission)
    ]


def test_sign_in_then_the_dashboard_draws_its_charts(tab: Tab) -> None:
    tab.go("/")
    assert tab.page.url == tab.site.url("/login")  # sent to sign in first
    tab.shot("login")
    tab.sign_in("admin")
    assert tab.page.url == tab.site.url("/")
    tab.page.wait_for_function(CHARTS_DRAWN, timeout=30_000)
    charts = tab.page.evaluate(CHART_SIZES)
    assert {c["id"] for c in charts} == {
        "risk-distribution",
        "top-staff",
        "open-alerts",
        "alert-trend",
        "escalations-by-band",
        "escalation-trend",
    }
    for chart in charts:
        assert chart["width"] > 200 and chart["height"] > 100, chart
        assert chart["marks"] > 0, chart
    # Every chart fits its card on a 1366-pixel laptop: no sideways scrolling.
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= 1366
    tab.shot("dashboard-admin")
    assert tab.errors == []  # no CSP violation, no script error, nothing missing


@pytest.mark.parametrize(
    ("path", "name"),
    [("/integrity/overview", "integrity-overview"), ("/escalations/overview", "escalations")],
)
def test_section_overviews_draw_their_charts(tab: Tab, path: str, name: str) -> None:
    tab.go(path)
    assert tab.page.url == tab.site.url(f"/login?next={path}")
    tab.sign_in("lead")
    assert tab.page.url == tab.site.url(path)  # back where they were going
    tab.page.wait_for_function(CHARTS_DRAWN, timeout=30_000)
    assert tab.page.locator('nav.sidebar a[aria-current="page"]').inner_text() != ""
    tab.shot(name)
    assert tab.errors == []


def test_navigation_and_access_differ_by_role(tab: Tab) -> None:
    tab.go("/")
    tab.sign_in("triage-analyst")
    assert _nav(tab) == _nav_for(Role.triage_analyst)
    assert "Escalation queue" in _nav(tab) and "Integrity overview" not in _nav(tab)
    assert tab.page.locator("#integrity-heading").count() == 0
    tab.page.wait_for_function(CHARTS_DRAWN, timeout=30_000)
    tab.shot("dashboard-triage-analyst")
    status = tab.go("/integrity/overview")
    assert status == 403
    assert tab.page.get_by_role("heading", name="Not allowed").is_visible()
    tab.shot("forbidden-triage-analyst")
    assert tab.go("/no/such/page") == 404
    tab.shot("not-found")


def test_investigators_see_integrity_not_escalations(tab: Tab) -> None:
    tab.go("/")
    tab.sign_in("investigator")
    assert _nav(tab) == _nav_for(Role.investigator)
    assert "Integrity overview" in _nav(tab) and "Escalation queue" not in _nav(tab)
    assert tab.go("/escalations/overview") == 403


def test_the_keyboard_path_starts_with_the_skip_link(tab: Tab) -> None:
    tab.go("/")
    tab.sign_in("auditor")
    tab.page.keyboard.press("Tab")
    focused = tab.page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    assert tab.page.locator(".skip-link").is_visible()  # shown once focused
    tab.page.keyboard.press("Enter")
    assert tab.page.evaluate("document.activeElement.id") == "main"
    # Focus is visible: the focused link gets an outline.
    tab.page.locator("nav.sidebar a").first.focus()
    outline = tab.page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


def test_sign_out_with_the_button(tab: Tab) -> None:
    tab.go("/")
    tab.sign_in("investigator")
    with tab.page.expect_navigation():
        tab.page.get_by_role("button", name="Sign out").click()
    assert tab.page.url == tab.site.url("/login?signed_out=1")
    assert tab.page.get_by_text("You have signed out.").is_visible()
    tab.go("/")
    assert tab.page.url == tab.site.url("/login")  # the session is gone
    assert tab.errors == []


def test_htmx_requests_carry_the_csrf_token(tab: Tab) -> None:
    """An HTMX POST (no form field) is accepted only with the meta tag's token in the
    X-CSRF-Token header, which custodes.js adds; the answer's HX-Redirect moves the page."""
    tab.go("/")
    tab.sign_in("lead")
    token = tab.page.get_attribute('meta[name="csrf-token"]', "content")
    assert token
    with tab.page.expect_request("**/logout") as sent:
        tab.page.evaluate("htmx.ajax('POST', '/logout', {target: 'body', swap: 'none'})")
    assert sent.value.headers.get("x-csrf-token") == token
    tab.page.wait_for_url(tab.site.url("/login?signed_out=1"))
    tab.go("/")
    assert tab.page.url == tab.site.url("/login")


def test_no_page_shows_a_real_actor_id(tab: Tab) -> None:
    """What the browser ends up showing, charts drawn (axis labels included)."""
    tab.go("/")
    tab.sign_in("admin")
    # Simulated ids look like u0027, as does a JSON escape (\u0027): not after a backslash.
    ids = re.compile(r"(?<![\\\w])(" + "|".join(map(re.escape, tab.site.actor_ids)) + r")\b")
    for path in ("/", "/integrity/overview", "/escalations/overview"):
        tab.go(path)
        tab.page.wait_for_function(CHARTS_DRAWN, timeout=30_000)
        shown = tab.page.content()
        assert re.search(r"S-[A-Z2-7]{10}", shown) or path == "/escalations/overview"
        assert not ids.search(shown), f"{path}: {ids.search(shown)}"
