"""Logging in (a session cookie plus a CSRF token), out, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from custodes.access import sessions
from custodes.access.principal import Principal
from custodes.access.roles import MATRIX
from custodes.web.deps import (
    AuthDep,
    SettingsDep,
    StoreDep,
    clear_session_cookie,
    log_in,
    set_session_cookie,
    unauthenticated,
)
from custodes.web.schemas.auth import LoginIn, Me
from custodes.web.schemas.common import ErrorOut

router = APIRouter(prefix="/auth", tags=["auth"])

BAD_LOGIN = "invalid username or password"  # the same whether or not the user exists


def _me(principal: Principal, csrf_token: str | None) -> Me:
    return Me(
        id=principal.user_id,
        username=principal.username,
        role=principal.role,
        permissions=sorted(MATRIX[principal.role]),
        csrf_token=csrf_token,
    )


@router.post(
    "/login",
    response_model=Me,
    responses={
        429: {"model": ErrorOut, "description": "Too many failed sign-ins; see Retry-After"}
    },
)
def login(
    body: LoginIn, request: Request, response: Response, settings: SettingsDep, store: StoreDep
) -> Me:
    found = log_in(request, store, settings, body.username, body.password)
    if found is None:
        raise unauthenticated(BAD_LOGIN)
    principal, started = found
    set_session_cookie(response, started, settings)
    return _me(principal, started.csrf_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(auth: AuthDep, store: StoreDep, settings: SettingsDep) -> Response:
    if auth.cookie is not None:
        with store.write() as session:
            sessions.end(session, auth.cookie)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(response, settings)
    return response


@router.get("/me", response_model=Me)
def me(auth: AuthDep) -> Me:
    return _me(auth.principal, auth.csrf_token)
