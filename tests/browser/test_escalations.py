"""The escalation pages in a real browser (Debian's chromium) against `custodes serve`: the
queue with ticking SLA countdowns, overriding a rating with a reason (and finding it
stored), the lifecycle buttons, and the intake form — its errors beside the fields, then a
good submission rated and stored. Screenshots of each page go to test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from sqlalchemy import select

from custodes.config import Settings
from custodes.store.cases import CaseStore
from custodes.store.schema import Escalation, EscalationOverride
from tests.browser.conftest import VIEWPORT, Site, Tab

pytestmark = pytest.mark.browser


@pytest.fixture
def cases(site: Site) -> Iterator[CaseStore]:
    """The served case store, opened beside the server to check what it stored."""
    with CaseStore.open(Settings(data_dir=site.data_dir)) as store:
        yield store


def _fits(tab: Tab) -> None:
    """Readable on the 1366-pixel laptop: nothing scrolls sideways."""
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= 1366


def _no_real_ids(tab: Tab) -> None:
    ids = re.compile(r"(?<![\\\w])(" + "|".join(map(re.escape, tab.site.actor_ids)) + r")\b")
    found = ids.search(tab.page.content())
    assert found is None, found


def test_the_queue_ticks_its_countdowns(tab: Tab) -> None:
    tab.page.clock.install()  # the page's own clock, moved on by the test below
    tab.go("/escalations")
    tab.sign_in("triage-analyst")
    assert tab.page.url == tab.site.url("/escalations")
    rows = tab.page.locator("table.queue tbody tr")
    assert rows.count() > 10
    countdown = rows.first.locator("time[data-due]")
    first = countdown.inner_text()
    # Rewritten by the script: to the second under a day, else in days and hours.
    assert re.fullmatch(r"(in )?(\d+ d \d+ h|(\d+ h )?\d+ min \d\d s)( overdue)?", first), first
    tab.page.clock.fast_forward("01:00:00")  # an hour on, then the next tick
    tab.page.clock.run_for(1_000)
    assert countdown.inner_text() != first
    dues = rows.locator("time[data-due]").evaluate_all("els => els.map(e => e.dateTime)")
    assert dues == sorted(dues)  # by time to breach
    _fits(tab)
    _no_real_ids(tab)
    tab.shot("escalation-queue")
    # Filtering by band keeps only that band.
    tab.page.get_by_label("Band").select_option("P2")
    with tab.page.expect_navigation():
        tab.page.get_by_role("button", name="Filter").click()
    bands = tab.page.locator("table.queue tbody .band").all_inner_texts()
    assert bands and set(bands) == {"P2"}
    assert tab.errors == []


def test_without_javascript_the_countdowns_are_the_servers_text(
    chromium: Browser, site: Site
) -> None:
    context = chromium.new_context(viewport=VIEWPORT, java_script_enabled=False)
    try:
        tab = Tab(context.new_page(), site, [])
        tab.go("/escalations")
        tab.sign_in("lead")
        texts = tab.page.locator("table.queue time[data-due]").all_inner_texts()
        assert texts and all(re.fullmatch(r"(in )?[\w ]+?( overdue)?", t) for t in texts)
        assert not any(re.search(r"\d\d s", t) for t in texts)  # nothing ticks
        assert tab.page.locator("table.queue tbody tr").count() > 10
    finally:
        context.close()


def test_override_a_rating_with_a_reason(tab: Tab, cases: CaseStore) -> None:
    tab.go("/escalations?status=open")
    tab.sign_in("triage-analyst")
    with tab.page.expect_navigation():
        tab.page.locator("table.queue tbody tr").first.locator("a").first.click()
    pk = int(tab.page.url.rsplit("/", 1)[1])
    engine = tab.page.locator(".facts .band").first.inner_text()
    tab.page.wait_for_function("document.querySelector('time[data-due]') !== null")
    _fits(tab)
    _no_real_ids(tab)
    tab.shot("escalation-detail")
    target = "P0" if engine != "P0" else "P1"
    tab.page.get_by_label("Band", exact=True).select_option(target)
    # The reason is required: the browser will not send the form without one.
    tab.page.get_by_role("button", name="Override").click()
    assert tab.page.evaluate("document.querySelector('#override-reason').validity.valueMissing")
    assert tab.page.url == tab.site.url(f"/escalations/{pk}")
    reason = "The requester confirmed an imminent threat by phone."
    # By keyboard: band, then reason, then the button, in that order.
    tab.page.locator("#override-band").focus()
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("document.activeElement.id") == "override-reason"
    tab.page.keyboard.type(reason)
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("document.activeElement.textContent.trim()") == "Override"
    with tab.page.expect_navigation():
        tab.page.keyboard.press("Enter")
    assert tab.page.url == tab.site.url(f"/escalations/{pk}?done=override")
    assert "Band overridden" in tab.page.locator("p.message.ok").inner_text()
    rating = tab.page.locator("section[aria-labelledby=rating-h]").inner_text()
    assert reason in rating and f"The engine rated it {engine}" in rating
    assert tab.page.locator(".facts .band").first.inner_text() == target
    with cases.read() as session:
        stored = session.scalars(
            select(EscalationOverride).where(EscalationOverride.escalation_pk == pk)
        ).one()
        row = session.get(Escalation, pk)
        assert row is not None and row.override_band == target and row.band == engine
        assert (stored.band, stored.engine_band, stored.reason) == (target, engine, reason)
        assert stored.analyst == "triage-analyst"
    tab.shot("escalation-overridden")
    # Own it, then see the next step offered.
    with tab.page.expect_navigation():
        tab.page.get_by_role("button", name="Acknowledge").click()
    assert "Acknowledged" in tab.page.locator("p.message.ok").inner_text()
    assert tab.page.get_by_role("button", name="Record first action").is_visible()
    assert tab.errors == []


def test_submit_the_intake_form(tab: Tab, cases: CaseStore) -> None:
    tab.go("/escalations/new")
    tab.sign_in("triage-analyst")
    page = tab.page
    # Sent empty: every problem beside its field, the page announcing them, nothing stored.
    page.get_by_label("Received at (UTC)").fill("")
    with page.expect_navigation():
        page.get_by_role("button", name="Submit and rate").click()
    assert page.locator("#form-problems").is_visible()
    for name in ("received_at", "source", "body"):
        assert page.locator(f"#in-{name}-error").is_visible(), name
        assert page.locator(f"#in-{name}").get_attribute("aria-invalid") == "true"
    tab.shot("escalation-intake-errors")
    # The 422 answer is the one thing the console reported.
    assert [e for e in tab.errors if "status of 422" not in e] == []
    tab.errors.clear()
    page.get_by_label("Received at (UTC)").fill("2026-11-21T09:15:00")
    page.get_by_label("Source").select_option("regulator")
    page.get_by_label("Title").fill("Election misinformation")
    page.get_by_label("Text").fill(
        "The electoral authority reports a coordinated campaign spreading false voting "
        "dates to 200,000 followers ahead of Sunday's election."
    )
    page.get_by_label("Jurisdiction").fill("ES")
    page.get_by_label("Subject ids").fill("acct:elecciones2026\nhttps://example.org/post/9")
    page.get_by_label("Requester").fill("Junta Electoral Central")
    page.get_by_label("Escalation id").fill("browser-intake-1")
    _fits(tab)
    tab.shot("escalation-intake")
    with page.expect_navigation():
        page.get_by_role("button", name="Submit and rate").click()
    assert re.fullmatch(re.escape(tab.site.url("/escalations/")) + r"\d+\?done=new", page.url)
    assert "Escalation received and rated." in page.locator("p.message.ok").inner_text()
    assert "Junta Electoral Central" in page.content()
    with cases.read() as session:
        row = session.scalars(
            select(Escalation).where(Escalation.escalation_id == "browser-intake-1")
        ).one()
        stored = (row.source, row.jurisdiction, row.title, row.subject_ids)
    assert stored == (
        "regulator",
        "ES",
        "Election misinformation",
        ["acct:elecciones2026", "https://example.org/post/9"],
    )
    assert tab.errors == []
