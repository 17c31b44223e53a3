"""Dependencies every route uses, as aliases: the settings, the case store, who is asking.

Authentication, in order: an ``Authorization: Bearer cst_…`` header (an API token), else the
session cookie. A request with a bearer header that does not resolve is refused (401); it
never falls back to the cookie. Cookie-authenticated POST/PUT/PATCH/DELETE must carry the
session's CSRF token in ``X-CSRF-Token`` (403 otherwise); bearer clients need not, since a
browser never adds that header on its own.

Permission checks go through ``require(permission)``, which consults ``access.roles`` (via
``Principal.can``) and carries the permission as an attribute, so tests can read each
route's permission from the app's route table.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import Depends, HTTPException, Query, Request, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from custodes import audit
from custodes.access import sessions, tokens, users
from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.access.throttle import LoginThrottle
from custodes.config import Settings
from custodes.errors import PermissionDeniedError
from custodes.store.cases import CaseStore
from custodes.store.events import DB_FILE, EventStore

UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_bearer = HTTPBearer(auto_error=False, description="An API token: cst_…")
_cookie = APIKeyCookie(name=sessions.COOKIE, auto_error=False, description="Session cookie")


# Dependencies that only read what the app already holds are ``async``: FastAPI runs a
# plain ``def`` dependency in its thread pool, and that hand-off (queue, wake-up, GIL) cost
# more than the work. Those that touch a database (``get_auth``) stay ``def``.


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_store(request: Request) -> CaseStore:
    store: CaseStore = request.app.state.store
    return store


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[CaseStore, Depends(get_store)]


def unauthenticated(detail: str = "not authenticated") -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


class Auth:
    """Who is asking, and how: ``csrf_token`` is set for cookie sessions only."""

    def __init__(self, principal: Principal, csrf_token: str | None, cookie: str | None) -> None:
        self.principal = principal
        self.csrf_token = csrf_token
        self.cookie = cookie


def get_auth(
    request: Request,
    store: StoreDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Auth:
    if request.headers.get("authorization"):
        if bearer is None:
            raise unauthenticated("use 'Authorization: Bearer <token>'")
        with store.read() as session:
            found = tokens.resolve_token(session, bearer.credentials)
        if found is None:
            raise unauthenticated("invalid, expired or revoked token")
        if found.touch:
            with store.write() as session:
                tokens.touch(session, found.token_id)
        return Auth(found.principal, None, None)
    if cookie:
        with store.read() as session:
            active = sessions.resolve(session, cookie)
        if active is None:
            raise unauthenticated("session expired or ended; log in again")
        if request.method in UNSAFE and not active.csrf_ok(
            request.headers.get(sessions.CSRF_HEADER)
        ):
            raise HTTPException(403, f"missing or wrong {sessions.CSRF_HEADER} header")
        return Auth(active.principal, active.csrf_token, cookie)
    raise unauthenticated()


AuthDep = Annotated[Auth, Depends(get_auth)]


def log_in(
    request: Request, store: CaseStore, settings: Settings, username: str, password: str
) -> tuple[Principal, sessions.NewSession] | None:
    """Check a password and start a server-side session, audited as ``auth.login``; None
    for a bad login, audited as ``auth.login_failed``. Raises ``RateLimitedError`` after
    too many failures (``access.throttle``). The API and the login page both log in here,
    so they cannot differ."""
    throttle: LoginThrottle = request.app.state.login_throttle
    client = request.client.host if request.client else ""
    throttle.check(username, client)
    with store.write() as session:
        principal = users.authenticate(session, username, password)
        if principal is None:
            audit.append(
                session,
                actor=username.strip()[:64] or "(none)",
                action="auth.login_failed",
                target_type="user",
                target_id=username.strip()[:64],
                detail={"client": client},
            )
        else:
            started = sessions.start(session, principal, settings.session_hours)
            audit.append(
                session,
                actor=principal.username,
                action="auth.login",
                target_type="user",
                target_id=principal.user_id,
            )
    if principal is None:
        throttle.failed(username, client)
        return None
    throttle.succeeded(username)
    return principal, started


def set_session_cookie(
    response: Response, started: sessions.NewSession, settings: Settings
) -> None:
    """HttpOnly and SameSite=Lax always; Secure outside development (which needs TLS)."""
    response.set_cookie(
        sessions.COOKIE,
        started.cookie,
        max_age=started.max_age,
        httponly=True,
        secure=settings.environment != "development",
        samesite="lax",
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        sessions.COOKIE,
        path="/",
        httponly=True,
        secure=settings.environment != "development",
        samesite="lax",
    )


async def get_principal(auth: AuthDep) -> Principal:
    return auth.principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require(permission: Permission) -> Any:
    """``Depends`` that yields the principal if it holds ``permission`` (else 403)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.can(permission):
            raise PermissionDeniedError(f"your role ({principal.role}) may not {permission}")
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    check.__name__ = f"require_{permission.name}"
    return Depends(check)


def permission_of(dependency: Callable[..., Any]) -> Permission | None:
    found: Permission | None = getattr(dependency, "permission", None)
    return found


class PageParams:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500, description="Rows per page (1-500).")] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset


PageDep = Annotated[PageParams, Depends()]

P = Permission
CanReadCases = Annotated[Principal, require(P.case_read)]
CanCreateCases = Annotated[Principal, require(P.case_create)]
CanUpdateCases = Annotated[Principal, require(P.case_update)]
CanReadEvidence = Annotated[Principal, require(P.evidence_read)]
CanAddEvidence = Annotated[Principal, require(P.evidence_add)]
CanReadAlerts = Annotated[Principal, require(P.alert_read)]
CanJudgeAlerts = Annotated[Principal, require(P.alert_verdict)]
CanReadAudit = Annotated[Principal, require(P.audit_read)]
CanReadUsers = Annotated[Principal, require(P.user_read)]
CanManageUsers = Annotated[Principal, require(P.user_manage)]
CanRequestUnmask = Annotated[Principal, require(P.unmask_request)]
CanApproveUnmask = Annotated[Principal, require(P.unmask_approve)]
CanRunSql = Annotated[Principal, require(P.sql_run)]


# DuckDB lets one process hold a file read-write, or several read-only; inside one process
# connections to the same file must share a configuration. The server opens the event
# store per request (never holding it), one request at a time.
_EVENTS_LOCK: Final = threading.Lock()


@contextmanager
def event_store(settings: Settings, *, read_only: bool = True) -> Iterator[EventStore | None]:
    """The event store for one request, closed after it; None when there is none yet (the
    server never creates one). Raises StoreError (→ 503) when another process holds it."""
    path = settings.data_dir / DB_FILE
    with _EVENTS_LOCK:
        if not path.exists():
            yield None
            return
        with EventStore.open(settings.data_dir, read_only=read_only, settings=settings) as store:
            yield store


@contextmanager
def event_store_file(settings: Settings) -> Iterator[Path | None]:
    """The event store's file, held for one request like :func:`event_store` (so nothing
    else in this process opens it meanwhile) but not opened: the SQL workbench attaches
    it read-only to a sandbox of its own. None when there is no store yet."""
    path = settings.data_dir / DB_FILE
    with _EVENTS_LOCK:
        yield path if path.exists() else None
