"""Helpers for page tests: the page route table (read from the page routers, like the API's
in matrix.py), a world with alerts and escalations to show, and signing in through the
login form or the API."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from custodes.access.principal import Principal
from custodes.access.roles import Permission, Role
from custodes.cases.service import CaseService
from custodes.clock import utc_now_aware
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.sql.saved import ChartChoice, ChartKind, SavedQueries
from custodes.store.events import EventStore
from custodes.triage.intake import EscalationService
from custodes.web.deps import permission_of
from custodes.web.pages import ROUTERS
from custodes.web.pages.base import get_viewer
from tests.web.conftest import PASSWORD, Api, TestClient
from tests.web.matrix import Guard, Route
from tests.web.world import ACTORS, add_alert, add_events

_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
_LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')


def _guard(dependant: Dependant) -> Guard:
    found: Guard = "public"
    for dep in dependant.dependencies:
        if dep.call is not None and (perm := permission_of(dep.call)) is not None:
            return perm
        if dep.call is get_viewer:
            found = "login"
        inner = _guard(dep)
        if isinstance(inner, Permission):
            return inner
        if inner != "public":
            found = inner
    return found


def page_table() -> dict[Route, Guard]:
    """(method, path) → the permission the page needs, "login" or "public"."""
    table: dict[Route, Guard] = {}
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            for method in sorted(set(route.methods or ()) - {"HEAD"}):
                table[(method, route.path)] = _guard(route.dependant)
    return table


# A page whose path has parameters is opened at one of these (things ``fill`` makes).
EXAMPLES: dict[str, str] = {
    "/escalations/{id}": "/escalations/1",
    "/data/dashboards/{dashboard_id}": "/data/dashboards/1",
    "/integrity/cases/{case_id}": "/integrity/cases/1",
    "/integrity/cases/{case_id}/report.pdf": "/integrity/cases/1/report.pdf",
}
STAFF_PAGE = "/integrity/staff/{pseudonym}"


def example(path: str, api: Api | None = None) -> str:
    """A path that can be opened: ``path`` itself, or its example from ``EXAMPLES``; a
    staff page at the first subject's pseudonym (it depends on the store's key)."""
    if path == STAFF_PAGE and api is not None:
        return f"/integrity/staff/{Pseudonyms.load(api.store, api.settings).of(ACTORS[0])}"
    return EXAMPLES.get(path, path)


def username(role: Role) -> str:
    return role.value.replace("_", "-")


def csrf_of(html: str) -> str:
    found = _META_CSRF.search(html)
    assert found, "no csrf-token meta tag"
    return found.group(1)


def login_token(html: str) -> str:
    found = _LOGIN_TOKEN.search(html)
    assert found, "no login_token in the form"
    return found.group(1)


def sign_in(
    client: TestClient, role: Role, *, next_path: str = "/", password: str = PASSWORD
) -> Any:
    """Through the login form, as a browser does: GET the form, POST it back."""
    form = client.get(f"/login?next={next_path}")
    assert form.status_code == 200, form.text
    return client.post(
        "/login",
        data={
            "username": username(role),
            "password": password,
            "next": next_path,
            "login_token": login_token(form.text),
        },
        follow_redirects=False,
    )


def browser(api: Api, role: Role | None = None) -> TestClient:
    """A fresh client (its own cookies) asking for HTML, signed in as ``role`` if given."""
    client = TestClient(api.app, headers={"Accept": "text/html"})
    if role is not None:
        api.login(client, role)
    return client


def fill(api: Api) -> None:
    """Something for every panel: alerts on every subject (their reasons naming another
    subject, as real detectors' do) and three escalations, one of them long overdue."""
    alerts = []
    for day, actor in enumerate(ACTORS):
        add_events(api.settings.data_dir, actor, day + 1)  # so risk is scored as of day 3
        alerts.append(
            add_alert(api.settings.data_dir, actor, day, other=ACTORS[(day + 1) % len(ACTORS)])
        )
    admin = Principal(api.ids[Role.admin], "admin", Role.admin)
    # Case 1, from the first subject's alert, with the investigator on it (need-to-know).
    cases = CaseService(api.store, api.settings)
    with EventStore.open(api.settings.data_dir, read_only=True) as events:
        case = cases.create_from_alerts(admin, [alerts[0].alert_id], events)
    cases.add_member(admin, case.id, api.ids[Role.investigator])
    service = EscalationService(api.store)
    now = utc_now_aware()
    for n, (ago, source, body) in enumerate(
        (
            (timedelta(days=30), "press", "A journalist asks about a leaked moderation policy."),
            (timedelta(minutes=5), "law_enforcement", "Credible threat to life at a school."),
            (timedelta(hours=1), "trusted_flagger", "Coordinated harassment of a creator."),
        )
    ):
        service.submit(
            admin,
            {
                "escalation_id": f"page-{n}",
                "received_at": (now - ago).isoformat(),
                "source": source,
                "body": body,
            },
        )
    # A shared saved query with a chart, on a shared dashboard: every sql.run role sees it.
    saved = SavedQueries(api.store)
    query = saved.save_query(
        admin,
        name="Events per subject",
        sql="SELECT subject, count(*) AS events FROM events GROUP BY ALL ORDER BY events DESC",
        chart=ChartChoice(ChartKind.bar, "subject", "events"),
        shared=True,
    )
    saved.save_dashboard(admin, name="Activity", query_ids=[query.id], shared=True)
