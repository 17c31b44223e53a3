"""Logging in (a session cookie plus a CSRF token), out, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from custodes import audit
from custodes.access import sessions, users
from custodes.access.principal import Principal
from custodes.access.roles import MATRIX
from custodes.web.deps import AuthDep, SettingsDep, StoreDep, unauthenticated
from custodes.web.schemas.auth import LoginIn, Me

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


@router.post("/login", response_model=Me)
def login(body: LoginIn, response: Response, settings: SettingsDep, store: StoreDep) -> Me:
    with store.write() as session:
        principal = users.authenticate(session, body.username, body.password)
        if principal is None:
            raise unauthenticated(BAD_LOGIN)
        started = sessions.start(session, principal, settings.session_hours)
        audit.append(
            session,
            actor=principal.username,
            action="auth.login",
            target_type="user",
            target_id=principal.user_id,
        )
    response.set_cookie(
        sessions.COOKIE,
        started.cookie,
        max_age=started.max_age,
        httponly=True,
        secure=settings.environment != "development",
        samesite="lax",
        path="/",
    )
    return _me(principal, started.csrf_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(auth: AuthDep, store: StoreDep, settings: SettingsDep) -> Response:
    if auth.cookie is not None:
        with store.write() as session:
            sessions.end(session, auth.cookie)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(
        sessions.COOKIE,
        path="/",
        httponly=True,
        secure=settings.environment != "development",
        samesite="lax",
    )
    return response


@router.get("/me", response_model=Me)
def me(auth: AuthDep) -> Me:
    return _me(auth.principal, auth.csrf_token)
