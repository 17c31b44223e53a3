"""The pages: every page and role gets what custodes.access.roles says, in HTML; logging in
and out through the forms; error pages; navigation per role; pseudonyms everywhere.

The page table is read from the page routers (as test_matrix reads the API's), so a new
page without an expectation here fails, and every route of the app must be either an API
route (test_matrix) or a page (here): nothing escapes both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from custodes.access.roles import Permission, Role, can
from custodes.errors import NotFoundError
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.web.pages import nav
from custodes.web.pages.base import CSP, PageRoute, ViewerDep, local_path
from tests.web.conftest import PASSWORD, Api, running_api
from tests.web.matrix import Guard, route_table
from tests.web.pages import (
    browser,
    csrf_of,
    example,
    fill,
    login_token,
    page_table,
    sign_in,
    username,
)
from tests.web.world import ACTORS

P = Permission
# What each page requires; docs/web.md shows the same table (a test keeps them equal).
EXPECTED: dict[tuple[str, str], Guard] = {
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/logout"): "login",
    ("GET", "/"): "login",
    ("GET", "/integrity/overview"): P.alert_read,
    ("GET", "/escalations/overview"): P.escalation_read,
    ("GET", "/escalations"): P.escalation_read,
    ("GET", "/escalations/new"): P.escalation_manage,
    ("POST", "/escalations/new"): P.escalation_manage,
    ("GET", "/escalations/{id}"): P.escalation_read,
    ("POST", "/escalations/{id}/override"): P.escalation_manage,
    ("POST", "/escalations/{id}/acknowledge"): P.escalation_manage,
    ("POST", "/escalations/{id}/action"): P.escalation_manage,
    ("POST", "/escalations/{id}/resolve"): P.escalation_manage,
    ("POST", "/escalations/{id}/attachments"): P.escalation_manage,
    ("GET", "/data/sql"): P.sql_run,
    ("POST", "/data/sql"): P.sql_run,
    ("POST", "/data/sql/save"): P.sql_run,
    ("POST", "/data/sql/saved/{query_id}/delete"): P.sql_run,
    ("GET", "/data/dashboards"): P.sql_run,
    ("POST", "/data/dashboards"): P.sql_run,
    ("GET", "/data/dashboards/{dashboard_id}"): P.sql_run,
    ("POST", "/data/dashboards/{dashboard_id}/delete"): P.sql_run,
    ("GET", "/audit"): P.audit_read,
    ("GET", "/audit/verify"): P.audit_read,
    ("GET", "/reports"): "login",
    ("GET", "/reports/{name}.{fmt}"): "login",
    ("GET", "/integrity/staff/{pseudonym}"): P.alert_read,
    ("POST", "/integrity/staff/{pseudonym}/case"): P.case_create,
    ("GET", "/integrity/alerts"): P.alert_read,
    ("POST", "/integrity/alerts/verdict"): P.alert_verdict,
    ("POST", "/integrity/alerts/case"): P.case_create,
    ("GET", "/integrity/cases"): P.case_read,
    ("GET", "/integrity/cases/{case_id}"): P.case_read,
    ("POST", "/integrity/cases/{case_id}/move"): P.case_update,
    ("POST", "/integrity/cases/{case_id}/assign"): P.case_update,
    ("POST", "/integrity/cases/{case_id}/notes"): P.case_update,
    ("POST", "/integrity/cases/{case_id}/tasks"): P.case_update,
    ("POST", "/integrity/cases/{case_id}/tasks/{task_id}"): P.case_update,
    ("POST", "/integrity/cases/{case_id}/evidence"): P.evidence_add,
    ("POST", "/integrity/cases/{case_id}/evidence/{evidence_id}/check"): P.evidence_read,
    ("GET", "/integrity/cases/{case_id}/report.pdf"): P.case_read,
    ("POST", "/integrity/unmask"): P.unmask_request,
}
# Pages proper (HTML); the case report is a PDF, tested in test_integrity_pages, and report
# files in test_report_pages.
PAGES = sorted(
    path
    for (method, path), guard in EXPECTED.items()
    if method == "GET" and not path.endswith((".pdf", ".{fmt}"))
)


@pytest.fixture
def site(case_url: str, tmp_path: Path) -> Iterator[Api]:
    with running_api(case_url, tmp_path / "data") as api:
        fill(api)
        yield api


def test_every_page_has_an_expectation() -> None:
    assert page_table() == EXPECTED


def _served(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """(full path, route) for every route, through included routers (FastAPI keeps them
    as branches, each knowing the prefix it is mounted under)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _served(inner.routes, route.include_context.prefix)  # type: ignore[attr-defined]
        else:
            yield prefix + getattr(route, "path", ""), route


def test_every_route_is_an_api_route_or_a_page(tmp_path: Path) -> None:
    """Nothing the app serves escapes both authorisation tables."""
    from custodes.config import Settings
    from custodes.web.app import create_app

    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'c.db'}"))
    try:
        api: set[tuple[str, str]] = set()
        pages: set[tuple[str, str]] = set()
        other: set[str] = set()
        for path, route in _served(app.routes):
            if isinstance(route, APIRoute):
                target = api if path.startswith("/api/") else pages
                target |= {(m, path) for m in set(route.methods or ()) - {"HEAD"}}
            else:
                other.add(path)
        assert api == set(route_table())
        assert pages == set(EXPECTED)
        assert other == {"/static", "/openapi.json", "/docs", "/docs/oauth2-redirect"}
    finally:
        app.state.store.close()


def test_pages_are_not_in_the_openapi_document(site: Api) -> None:
    paths = site.client.get("/openapi.json").json()["paths"]
    assert all(p.startswith("/api/") for p in paths)


@pytest.mark.parametrize("path", PAGES)
def test_page_by_role(path: str, site: Api) -> None:
    guard = EXPECTED[("GET", path)]
    url = example(path, site)
    anonymous = browser(site).get(url, follow_redirects=False)
    if guard == "public":
        assert anonymous.status_code == 200
    else:
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == ("/login" if url == "/" else f"/login?next={url}")
    for role in Role:
        page = browser(site, role).get(url, follow_redirects=False)
        allowed = guard in ("public", "login") or can(role, guard)  # type: ignore[arg-type]
        if path == "/login":  # a signed-in user is sent on
            assert page.status_code == 303, role
            continue
        assert page.status_code == (200 if allowed else 403), f"{role}: {page.status_code}"
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["content-security-policy"] == CSP
        assert page.headers["cache-control"] == "no-store"
        if not allowed:
            assert "Not allowed" in page.text
            assert f"<strong>{username(role)}</strong>" in page.text  # still signed in, with nav


def test_pages_never_show_a_real_actor_id(site: Api) -> None:
    """Every page, every role, without an unmask grant: pseudonyms only, even where alert
    reasons name other staff."""
    names = Pseudonyms.load(site.store, site.settings)
    for role in Role:
        client = browser(site, role)
        seen = ""
        for path in PAGES:
            seen += client.get(example(path, site)).text
        for actor in ACTORS:
            assert actor not in seen, f"{role} saw {actor}"
        if can(role, P.alert_read):
            assert names.of(ACTORS[0]) in seen, role  # the panel is there, masked
        else:
            assert names.of(ACTORS[0]) not in seen, role


def test_home_shows_each_role_its_panels(site: Api) -> None:
    for role in Role:
        html = browser(site, role).get("/").text
        assert ('id="integrity-heading"' in html) == can(role, P.alert_read), role
        assert ('id="escalations-heading"' in html) == can(role, P.escalation_read), role
    admin = browser(site, Role.admin).get("/").text
    assert 'data-chart="risk-distribution-spec"' in admin
    assert 'data-chart="escalations-by-band-spec"' in admin
    assert "3 open escalations" in admin
    assert "3 of 3 staff have active alerts" in admin
    assert "3 open alerts in 1 category;" in admin


def test_navigation_per_role(site: Api) -> None:
    for role in Role:
        html = browser(site, role).get("/").text
        links = set(re.findall(r'<nav class="sidebar".*?</nav>', html, re.S)[0].split('href="')[1:])
        shown = {link.split('"')[0] for link in links}
        expected = {
            link.path
            for link in nav.links()
            if link.permission is None or can(role, link.permission)
        }
        assert shown == expected, role
        assert ("/integrity/overview" in shown) == (role is not Role.triage_analyst)
        assert 'aria-current="page">Dashboard' in html


def test_nav_links_are_pages_with_the_same_permission() -> None:
    table = page_table()
    for link in nav.links():
        guard = table[("GET", link.path)]
        assert guard == (link.permission or "login"), link


def test_sign_in_and_out_through_the_forms(site: Api) -> None:
    client = browser(site)
    answer = sign_in(client, Role.lead, next_path="/integrity/overview")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/integrity/overview"
    assert "custodes_session" in client.cookies
    page = client.get("/integrity/overview")
    assert page.status_code == 200
    csrf = csrf_of(page.text)
    # The page's session works for the JSON API too (one login machinery).
    assert client.get("/api/auth/me").json()["username"] == "lead"
    # Without the token, signing out is refused and the session lives on.
    refused = client.post("/logout", follow_redirects=False)
    assert refused.status_code == 403
    wrong = client.post("/logout", data={"csrf_token": "ünïcödé"}, follow_redirects=False)
    assert wrong.status_code == 403
    odd = {"X-CSRF-Token": "é".encode("latin-1")}  # a non-ASCII header: refused, not a 500
    assert client.post("/logout", headers=odd).status_code == 403
    assert client.post("/api/cases", json={"title": "x"}, headers=odd).status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/login?signed_out=1"
    assert client.get("/", follow_redirects=False).status_code == 303
    assert client.get("/api/auth/me").status_code == 401


def test_sign_out_from_htmx_with_the_header(site: Api) -> None:
    client = browser(site, Role.auditor)
    csrf = csrf_of(client.get("/").text)
    out = client.post("/logout", headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert out.status_code == 204
    assert out.headers["hx-redirect"] == "/login?signed_out=1"
    gone = client.get("/", headers={"HX-Request": "true"}, follow_redirects=False)
    assert gone.status_code == 401
    assert gone.headers["hx-redirect"] == "/login"


def test_failed_logins_say_the_same_thing(site: Api) -> None:
    client = browser(site)
    wrong = sign_in(client, Role.lead, password="not the password at all")
    with site.store.write() as session:
        from custodes.access import users

        users.disable_user(session, "auditor", by="tests")
    disabled = sign_in(client, Role.auditor)
    form = client.get("/login")
    nobody = client.post(
        "/login",
        data={"username": "nobody", "password": PASSWORD, "login_token": login_token(form.text)},
    )
    for answer in (wrong, disabled, nobody):
        assert answer.status_code == 401
        assert "invalid username or password" in answer.text
        assert 'role="alert"' in answer.text
    assert "custodes_session" not in client.cookies


def test_login_form_needs_its_own_token(site: Api) -> None:
    """A form posted from elsewhere (no token cookie, or another token) logs nobody in."""
    client = browser(site)
    client.get("/login")
    forged = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "login_token": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 400
    assert "custodes_session" not in client.cookies
    fresh = browser(site)
    cookieless = fresh.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "login_token": "x" * 43},
        follow_redirects=False,
    )
    assert cookieless.status_code == 400


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/integrity/overview?x=1", "/integrity/overview?x=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/login", "/"),
        ("/logout", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("", "/"),
    ],
)
def test_next_is_a_local_path_only(given: str, kept: str) -> None:
    assert local_path(given) == kept


def test_sign_in_never_redirects_off_site(site: Api) -> None:
    client = browser(site)
    answer = sign_in(client, Role.admin, next_path="https://evil.example/")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"


def test_unknown_paths_answer_in_html_for_browsers_and_json_for_programs(site: Api) -> None:
    page = browser(site, Role.lead).get("/no/such/page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text and "<strong>lead</strong>" in page.text
    program = site.client.get("/api/no/such/thing", headers={"Accept": "text/html"})
    assert program.status_code == 404
    assert program.json() == {"detail": "Not Found"}
    wrong = browser(site, Role.lead).get("/logout")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"
    assert wrong.headers["content-type"].startswith("text/html")


def test_need_to_know_is_a_404_page(site: Api) -> None:
    """A page whose service says "no such thing" (a case the viewer may not know of)
    answers the plain 404 page, exactly as for a path that does not exist."""
    router = APIRouter(route_class=PageRoute)

    @router.get("/secret/{n}")
    def secret(n: int, _viewer: ViewerDep) -> None:
        raise NotFoundError(f"no case {n}")  # the real reason is never shown

    app: FastAPI = site.app
    app.include_router(router)
    page = browser(site, Role.investigator).get("/secret/7")
    missing = browser(site, Role.investigator).get("/no/such/page")
    assert page.status_code == missing.status_code == 404
    assert "no case 7" not in page.text
    strip = re.compile(r"<title>.*?</title>|content=\"[^\"]*\"|value=\"[^\"]*\"", re.S)
    assert strip.sub("", page.text) == strip.sub("", missing.text)


def test_static_files_are_served_with_caching_that_fits(site: Api) -> None:
    client = site.client
    vendored = client.get("/static/vendor/vega-embed-7.3.0/vega-embed.min.js")
    assert vendored.status_code == 200
    assert "immutable" in vendored.headers["cache-control"]
    own = client.get("/static/custodes.css")
    assert own.status_code == 200
    assert own.headers["cache-control"] == "no-cache"
    assert client.get("/static/nope.js").status_code == 404
    assert client.get("/static/../app.py").status_code == 404


def test_docs_web_lists_every_page_with_its_permission() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "web.md").read_text()
    rows = set()
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            rows.add((cells[0], cells[1].strip("`"), cells[2].strip("`")))
    table = {(m, p, g if isinstance(g, str) else g.value) for (m, p), g in page_table().items()}
    assert rows == table
