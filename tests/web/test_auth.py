"""Logging in and out, cookies, CSRF, tokens: the gate in front of every route."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from sqlalchemy import update

from custodes.access import users
from custodes.access.roles import Role
from custodes.store.schema import ApiToken
from tests.web.conftest import PASSWORD, Api, TestClient, running_api


def test_login_sets_a_hardened_cookie_and_me_works(api: Api) -> None:
    answer = api.client.post(
        "/api/auth/login", json={"username": "investigator", "password": PASSWORD}
    )
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"]
    assert "custodes_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # development: plain http on localhost works
    body = answer.json()
    assert body["role"] == "investigator" and body["csrf_token"]
    assert "case.read" in body["permissions"] and "user.manage" not in body["permissions"]
    me = api.client.get("/api/auth/me")
    assert me.status_code == 200 and me.json()["csrf_token"] == body["csrf_token"]
    assert me.headers["cache-control"] == "no-store"
    assert me.headers["x-content-type-options"] == "nosniff"


def test_cookie_is_secure_in_production(case_url: str, tmp_path: Path) -> None:
    with running_api(
        case_url, tmp_path / "data", environment="production", pseudonym_key=secrets.token_hex(32)
    ) as api:
        answer = api.client.post("/api/auth/login", json={"username": "lead", "password": PASSWORD})
        assert answer.status_code == 200
        assert "Secure" in answer.headers["set-cookie"]


def test_login_failures_look_the_same(api: Api) -> None:
    with api.store.write() as session:
        users.disable_user(session, "auditor", by="tests")
    answers = [
        api.client.post("/api/auth/login", json={"username": name, "password": password})
        for name, password in [
            ("investigator", PASSWORD + "!"),  # wrong password
            ("nobody", PASSWORD),  # no such user
            ("auditor", PASSWORD),  # disabled
        ]
    ]
    assert {a.status_code for a in answers} == {401}
    assert len({a.text for a in answers}) == 1
    assert all("set-cookie" not in a.headers for a in answers)


def test_every_protected_route_needs_credentials(api: Api) -> None:
    assert api.client.get("/api/health").status_code == 200
    for path in ("/api/cases", "/api/users", "/api/alerts", "/api/audit", "/api/auth/me"):
        answer = api.client.get(path)
        assert answer.status_code == 401, path
        assert answer.headers["www-authenticate"] == "Bearer"
    bad = [
        {"Authorization": "Bearer cst_nope"},
        {"Authorization": "Bearer " + api.tokens[Role.admin][:-1]},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": api.tokens[Role.admin]},
    ]
    for headers in bad:
        assert api.client.get("/api/cases", headers=headers).status_code == 401, headers
    api.client.cookies.set("custodes_session", "forged")
    assert api.client.get("/api/cases").status_code == 401


def test_csrf_header_needed_for_cookie_writes_not_for_tokens(api: Api) -> None:
    with TestClient(api.app) as browser:
        csrf = api.login(browser, Role.lead)
        body = {"title": "from the browser"}
        refused = browser.post("/api/cases", json=body)
        assert refused.status_code == 403 and "X-CSRF-Token" in refused.text
        wrong = browser.post("/api/cases", json=body, headers={"X-CSRF-Token": csrf + "x"})
        assert wrong.status_code == 403
        assert browser.get("/api/cases").json()["total"] == 0  # nothing was created
        assert browser.get("/api/cases").status_code == 200  # reads need no token
        made = browser.post("/api/cases", json=body, headers={"X-CSRF-Token": csrf})
        assert made.status_code == 201
    machine = api.client.post("/api/cases", json=body, headers=api.auth(Role.lead))
    assert machine.status_code == 201


def test_logout_ends_the_session(api: Api) -> None:
    with TestClient(api.app) as browser:
        csrf = api.login(browser, Role.auditor)
        assert browser.post("/api/auth/logout").status_code == 403  # CSRF applies
        kept = dict(browser.cookies)
        assert browser.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        assert browser.get("/api/auth/me").status_code == 401
        # Replaying the old cookie does not bring the session back.
        browser.cookies.update(kept)
        assert browser.get("/api/auth/me").status_code == 401


def test_disabled_users_and_dead_tokens_get_401(api: Api) -> None:
    headers = api.auth(Role.investigator)
    assert api.client.get("/api/cases", headers=headers).status_code == 200
    with TestClient(api.app) as browser:
        api.login(browser, Role.investigator)
        target = api.ids[Role.investigator]
        patched = api.client.patch(
            f"/api/users/{target}",
            json={"version": 1, "disabled": True},
            headers=api.auth(Role.admin),
        )
        assert patched.status_code == 200 and patched.json()["disabled"] is True
        assert api.client.get("/api/cases", headers=headers).status_code == 401
        assert browser.get("/api/cases").status_code == 401
    lead = api.auth(Role.lead)
    with api.store.write() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == api.ids[Role.lead])
            .values(expires_at=ApiToken.created_at)
        )
    assert api.client.get("/api/cases", headers=lead).status_code == 401


def test_a_new_token_is_shown_once_and_works(api: Api) -> None:
    made = api.client.post(
        f"/api/users/{api.ids[Role.auditor]}/tokens",
        json={"name": "siem export"},
        headers=api.auth(Role.admin),
    )
    assert made.status_code == 201
    token = made.json()["token"]
    assert token.startswith("cst_")
    assert (
        api.client.get("/api/audit", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    listed = api.client.get("/api/audit", headers=api.auth(Role.auditor)).text
    assert token not in listed


@pytest.mark.parametrize("limit", [0, 501, -1, "x"])
def test_pagination_is_validated(api: Api, limit: object) -> None:
    for path in ("/api/cases", "/api/users", "/api/alerts", "/api/audit"):
        answer = api.client.get(path, params={"limit": limit}, headers=api.auth(Role.admin))
        assert answer.status_code == 422, (path, answer.text)


def test_repeated_failed_logins_are_throttled_and_audited(api: Api) -> None:
    from custodes.access.throttle import PER_USER

    bad = {"username": "lead", "password": PASSWORD + "!"}
    for _ in range(PER_USER):
        assert api.client.post("/api/auth/login", json=bad).status_code == 401
    refused = api.client.post("/api/auth/login", json={"username": "lead", "password": PASSWORD})
    assert refused.status_code == 429  # even the right password, until the window passes
    assert int(refused.headers["Retry-After"]) > 0
    other = api.client.post(
        "/api/auth/login", json={"username": "investigator", "password": PASSWORD}
    )
    assert other.status_code == 200
    failures = api.client.get(
        "/api/audit?action=auth.login_failed&limit=50", headers=api.auth(Role.auditor)
    ).json()
    assert failures["total"] == PER_USER  # the refused attempt was not even checked
    assert {e["target_id"] for e in failures["items"]} == {"lead"}
