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
from typing import Annotated, Any, Final

from fastapi import Depends, HTTPException, Query, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from custodes.access import sessions, tokens
from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.config import Settings
from custodes.errors import PermissionDeniedError
from custodes.store.cases import CaseStore
from custodes.store.events import DB_FILE, EventStore

UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_bearer = HTTPBearer(auto_error=False, description="An API token: cst_…")
_cookie = APIKeyCookie(name=sessions.COOKIE, auto_error=False, description="Session cookie")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_store(request: Request) -> CaseStore:
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


def get_principal(auth: AuthDep) -> Principal:
    return auth.principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require(permission: Permission) -> Any:
    """``Depends`` that yields the principal if it holds ``permission`` (else 403)."""

    def check(principal: CurrentPrincipal) -> Principal:
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
