"""Through a real uvicorn server on a loopback port, with httpx: a browser-style session
(cookie + CSRF) and a machine client (bearer token)."""

from __future__ import annotations

import httpx

from custodes.access.roles import Role
from tests.web.conftest import PASSWORD, Api, serving


def test_session_and_token_over_real_http(api: Api) -> None:
    with serving(api.app) as base, httpx.Client(base_url=base, timeout=30) as browser:
        assert browser.get("/api/health").json()["status"] == "ok"
        assert browser.get("/api/cases").status_code == 401
        login = browser.post("/api/auth/login", json={"username": "lead", "password": PASSWORD})
        assert login.status_code == 200
        assert "custodes_session" in browser.cookies
        csrf = login.json()["csrf_token"]
        assert browser.post("/api/cases", json={"title": "over http"}).status_code == 403
        made = browser.post(
            "/api/cases", json={"title": "over http"}, headers={"X-CSRF-Token": csrf}
        )
        assert made.status_code == 201
        assert made.headers["x-frame-options"] == "DENY"
        with httpx.Client(base_url=base, timeout=30, headers=api.auth(Role.auditor)) as robot:
            listed = robot.get("/api/cases")
            assert listed.status_code == 200
            assert [c["title"] for c in listed.json()["items"]] == ["over http"]
            assert robot.get("/openapi.json").json()["info"]["title"] == "Custodes"
            wrong = robot.request("DELETE", "/api/cases")
            assert wrong.status_code == 405
            assert wrong.headers["allow"] == "GET, POST"
        assert browser.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        assert browser.get("/api/cases").status_code == 401
