"""The authorisation matrix: every route and every role gets what custodes.access.roles says.

The route table is read from the app's routers, so a new route without an expectation here
fails, and so does a route whose permission drifts from the documented one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from custodes.access.roles import Permission, Role, can
from tests.web.conftest import running_api
from tests.web.matrix import REQUESTS, Guard, World, route_table

P = Permission
# What each route requires; docs/api.md shows the same table (a test keeps them equal).
EXPECTED: dict[tuple[str, str], Guard] = {
    ("GET", "/api/health"): "public",
    ("POST", "/api/auth/login"): "public",
    ("POST", "/api/auth/logout"): "login",
    ("GET", "/api/auth/me"): "login",
    ("GET", "/api/users"): P.user_read,
    ("POST", "/api/users"): P.user_manage,
    ("GET", "/api/users/{user_id}"): P.user_read,
    ("PATCH", "/api/users/{user_id}"): P.user_manage,
    ("POST", "/api/users/{user_id}/tokens"): P.user_manage,
    ("GET", "/api/cases"): P.case_read,
    ("POST", "/api/cases"): P.case_create,
    ("POST", "/api/cases/from-alerts"): P.case_create,
    ("GET", "/api/cases/{case_id}"): P.case_read,
    ("PATCH", "/api/cases/{case_id}"): P.case_update,
    ("POST", "/api/cases/{case_id}/transition"): P.case_update,
    ("POST", "/api/cases/{case_id}/notes"): P.case_update,
    ("POST", "/api/cases/{case_id}/tasks"): P.case_update,
    ("PATCH", "/api/cases/{case_id}/tasks/{task_id}"): P.case_update,
    ("POST", "/api/cases/{case_id}/links"): P.case_update,
    ("POST", "/api/cases/{case_id}/members"): P.case_assign,
    ("GET", "/api/cases/{case_id}/timeline"): P.evidence_read,
    ("GET", "/api/cases/{case_id}/evidence"): P.evidence_read,
    ("POST", "/api/cases/{case_id}/evidence"): P.evidence_add,
    ("GET", "/api/cases/{case_id}/evidence/{evidence_id}/check"): P.evidence_read,
    ("GET", "/api/alerts"): P.alert_read,
    ("GET", "/api/alerts/{alert_id}"): P.alert_read,
    ("POST", "/api/alerts/{alert_id}/verdict"): P.alert_verdict,
    ("POST", "/api/unmask"): P.unmask_request,
    ("GET", "/api/unmask/pending"): P.unmask_approve,
    ("POST", "/api/unmask/{grant_id}/approve"): P.unmask_approve,
    ("POST", "/api/unmask/{grant_id}/deny"): P.unmask_approve,
    ("POST", "/api/unmask/{grant_id}/revoke"): P.unmask_request,
    ("GET", "/api/unmask/reveal/{pseudonym}"): P.unmask_request,
    ("GET", "/api/audit"): P.audit_read,
    ("GET", "/api/audit/verify"): P.audit_read,
    ("GET", "/api/escalations"): P.escalation_read,
    ("POST", "/api/escalations"): P.escalation_manage,
    ("GET", "/api/escalations/{id}"): P.escalation_read,
    ("POST", "/api/escalations/{id}/override"): P.escalation_manage,
    ("POST", "/api/escalations/{id}/acknowledge"): P.escalation_manage,
    ("POST", "/api/escalations/{id}/action"): P.escalation_manage,
    ("POST", "/api/escalations/{id}/resolve"): P.escalation_manage,
    ("POST", "/api/escalations/{id}/attachments"): P.escalation_manage,
    ("GET", "/api/escalations/{id}/attachments"): P.escalation_read,
    ("GET", "/api/escalations/{id}/attachments/{attachment_id}"): P.escalation_read,
    ("POST", "/api/sql"): P.sql_run,
    ("GET", "/api/sql/saved"): P.sql_run,
    ("POST", "/api/sql/saved"): P.sql_run,
    ("GET", "/api/sql/saved/{query_id}"): P.sql_run,
    ("DELETE", "/api/sql/saved/{query_id}"): P.sql_run,
    ("GET", "/api/sql/dashboards"): P.sql_run,
    ("POST", "/api/sql/dashboards"): P.sql_run,
    ("GET", "/api/sql/dashboards/{dashboard_id}"): P.sql_run,
    ("DELETE", "/api/sql/dashboards/{dashboard_id}"): P.sql_run,
}


def test_every_route_has_an_expectation_and_a_request() -> None:
    table = route_table()
    assert table == EXPECTED
    assert set(REQUESTS) == set(table)


def test_route_table_is_the_whole_api(api_app_paths: set[tuple[str, str]]) -> None:
    assert api_app_paths == set(route_table())


@pytest.fixture
def api_app_paths(tmp_path: Path) -> set[tuple[str, str]]:
    from custodes.config import Settings
    from custodes.web.app import create_app

    url = f"sqlite:///{tmp_path / 'cases.sqlite'}"
    app = create_app(Settings(data_dir=tmp_path / "data", database_url=url))
    try:
        paths = app.openapi()["paths"]
        return {(m.upper(), p) for p, ops in paths.items() for m in ops if p.startswith("/api/")}
    finally:
        app.state.store.close()


def _expected(guard: Guard, role: Role, ok: int) -> int:
    if guard in ("public", "login"):
        return ok
    assert isinstance(guard, Permission)
    return ok if can(role, guard) else 403


@pytest.mark.parametrize("route", sorted(EXPECTED), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_by_role(route: tuple[str, str], case_url: str, tmp_path: Path) -> None:
    method, _path = route
    guard = EXPECTED[route]
    make, ok = REQUESTS[route]
    with running_api(case_url, tmp_path / "data", unmask_needs_approval=True) as api:
        world = World(api)
        anonymous = make(world, Role.admin)
        answer = api.client.request(
            method, anonymous.path, json=anonymous.body, params=anonymous.params
        )
        assert answer.status_code == (ok if guard == "public" else 401), answer.text
        got = {}
        for role in Role:
            allowed = guard in ("public", "login") or can(role, guard)  # type: ignore[arg-type]
            call = make(world, role if allowed else Role.admin)
            answer = api.client.request(
                method, call.path, json=call.body, params=call.params, headers=api.auth(role)
            )
            got[role] = answer.status_code
            want = _expected(guard, role, ok)
            assert answer.status_code == want, f"{role}: {answer.status_code} {answer.text}"
        assert got  # every role was tried


def test_docs_api_lists_every_route_with_its_permission() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    rows = set()
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            rows.add((cells[0], cells[1].strip("`"), cells[2].strip("`")))
    table = {(m, p, g if isinstance(g, str) else g.value) for (m, p), g in route_table().items()}
    assert rows == table
