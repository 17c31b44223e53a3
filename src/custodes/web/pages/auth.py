"""The login and logout pages, over the same password check and server-side sessions as
``POST /api/auth/login`` (``deps.log_in``): a page login is an API login, and its cookie
works for both.

The login form has its own CSRF defence, since there is no session yet: GET /login sets a
random token in a short-lived SameSite=Strict cookie and the same token in the form, and
POST /login refuses a form whose token does not match (a "login CSRF" would otherwise log
a victim into the attacker's account). A failed login says only "invalid username or
password", whatever the reason. After logging in, ``next`` is followed only if it is a
path on this site.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Final

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from custodes.access import sessions
from custodes.errors import RateLimitedError
from custodes.web.deps import (
    SettingsDep,
    StoreDep,
    clear_session_cookie,
    log_in,
    set_session_cookie,
)
from custodes.web.pages.base import PageRoute, ViewerDep, find_viewer, local_path, render
from custodes.web.routes.auth import BAD_LOGIN

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LOGIN_COOKIE: Final = "custodes_login"
LOGIN_COOKIE_SECONDS: Final = 3600


def _login_form(
    request: Request,
    settings: SettingsDep,
    *,
    next_path: str,
    username: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {
            "title": "Sign in",
            "next": next_path,
            "username": username,
            "error": error,
            "login_token": token,
            "signed_out": request.query_params.get("signed_out") == "1",
        },
        status=status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=LOGIN_COOKIE_SECONDS,
        httponly=True,
        secure=settings.environment != "development",
        samesite="strict",
        path="/login",
    )
    response.headers.update(headers or {})
    return response


@router.get("/login")
def login_page(
    request: Request,
    settings: SettingsDep,
    next_path: Annotated[str | None, Query(alias="next", max_length=2048)] = None,
) -> Response:
    """The sign-in form; someone already signed in goes straight on."""
    target = local_path(next_path)
    if find_viewer(request) is not None:
        return RedirectResponse(target, status_code=303)
    return _login_form(request, settings, next_path=target)


@router.post("/login")
def login_submit(
    request: Request,
    settings: SettingsDep,
    store: StoreDep,
    username: Annotated[str, Form(max_length=256)] = "",
    password: Annotated[str, Form(max_length=4096)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=2048)] = "/",
    login_token: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    target = local_path(next_path)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(login_token.encode(), expected.encode()):
        return _login_form(
            request,
            settings,
            next_path=target,
            username=username,
            error="The sign-in form expired. Please try again.",
            status=400,
        )
    try:
        found = (
            log_in(request, store, settings, username, password) if username and password else None
        )
    except RateLimitedError as exc:
        minutes = max(1, round(exc.retry_after / 60))
        return _login_form(
            request,
            settings,
            next_path=target,
            username=username,
            error=f"Too many failed sign-ins. Try again in about {minutes} minute(s).",
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if found is None:
        return _login_form(
            request, settings, next_path=target, username=username, error=BAD_LOGIN, status=401
        )
    _principal, started = found
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, started, settings)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, viewer: ViewerDep, store: StoreDep, settings: SettingsDep) -> Response:
    """End the session (it stops working at once, server-side) and go to the login page."""
    with store.write() as session:
        sessions.end(session, viewer.cookie)
    target = "/login?signed_out=1"
    response: Response
    if request.headers.get("HX-Request"):
        response = Response(status_code=204, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    clear_session_cookie(response, settings)
    return response
