"""The browser rig: `custodes serve` (real uvicorn, a subprocess) on a free loopback port
over a small seeded data dir built once per session, driven by Debian's chromium through
Playwright (never a downloaded browser). Screenshots go to test-artifacts/screenshots/.

Browser tests skip when /usr/bin/chromium is absent, unless CUSTODES_REQUIRE_BROWSER=1
(set by CI), which turns that skip into a failure so a missing browser cannot hide, as
CUSTODES_REQUIRE_POSTGRES does for PostgreSQL (tests/conftest.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize, sync_playwright

from custodes.access.principal import Principal
from custodes.access.roles import Role
from custodes.config import Settings
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from custodes.triage.intake import EscalationService
from custodes.triage.records import read_records
from tests.web.conftest import PASSWORD, seed_users

CHROMIUM: Final = Path("/usr/bin/chromium")
CHROMIUM_ARGS: Final = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--headless",
]
# The laptop the pages are laid out for.
VIEWPORT: Final[ViewportSize] = {"width": 1366, "height": 768}
SCREENSHOTS: Final = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ESCALATIONS: Final = 60  # of the simulated ones, imported into the case store

__all__ = ["PASSWORD", "SCREENSHOTS", "Site", "Tab", "require_browser"]


def browser_missing() -> str | None:
    """Why no browser test can run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    return None


def require_browser() -> None:
    """Skip, or fail under CUSTODES_REQUIRE_BROWSER=1 (set by CI), without a browser."""
    why = browser_missing()
    if why is None:
        return
    if os.environ.get("CUSTODES_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{why} and CUSTODES_REQUIRE_BROWSER=1")
    pytest.skip(why)


@dataclass
class Site:
    base_url: str
    data_dir: Path
    actor_ids: list[str] = field(default_factory=list)  # real ids: must never be shown

    def url(self, path: str) -> str:
        return self.base_url + path


def _custodes(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "custodes", *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"custodes {' '.join(args)}:\n{done.stderr}"


def _seed(data: Path) -> list[str]:
    """A small simulated organisation with detection run, one user per role (password
    PASSWORD, named like the role: triage-analyst) and some escalations."""
    _custodes("demo", "--staff", "60", "--days", "14", "--data-dir", str(data), "--format", "json")
    _custodes("detect", "--data-dir", str(data), "--format", "json")
    settings = Settings(data_dir=data)
    with CaseStore.open(settings) as store:
        _tokens, ids = seed_users(store)
        admin = Principal(ids[Role.admin], "admin", Role.admin)
        service = EscalationService(store)
        for number, record in read_records(data / "demo-input" / "escalations.jsonl"):
            if number > ESCALATIONS:
                break
            assert isinstance(record, dict), record
            service.submit(admin, record)
    with EventStore.open(data, read_only=True) as events:
        return [str(r[0]) for r in events.fetch_all("SELECT actor_id FROM people")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_browser()
    data = tmp_path_factory.mktemp("site") / "data"
    actors = _seed(data)
    port = _free_port()
    log = (data / "serve.log").open("w")
    env = {**os.environ, "CUSTODES_ENVIRONMENT": "development"}
    server = subprocess.Popen(
        [sys.executable, "-m", "custodes", "serve", "--port", str(port), "--data-dir", str(data)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (data / "serve.log").read_text()
            try:
                if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "custodes serve did not start"
            time.sleep(0.2)
        yield Site(base, data, actors)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    require_browser()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Tab:
    """A page in a fresh browser context (its own cookies), and what its console said."""

    page: Page
    site: Site
    errors: list[str]

    def go(self, path: str) -> int:
        """Open ``path``; the final answer's status (after redirects)."""
        answer = self.page.goto(self.site.url(path))
        assert answer is not None
        return answer.status

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        """Through the login form, from wherever the browser was sent to sign in."""
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Sign in").click()

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def tab(chromium: Browser, site: Site) -> Iterator[Tab]:
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield Tab(page, site, errors)
    finally:
        context.close()
