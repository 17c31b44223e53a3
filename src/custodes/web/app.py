"""The application factory: ``create_app(settings)`` builds the JSON API and the web app.

Every route under /api/ needs a login (a session cookie or an API token) except
/api/health and /api/auth/login; /openapi.json and /docs describe the API. The pages
(``web/pages/``, HTML for people, session cookie only) and their static files are mounted
beside it.
"""

from __future__ import annotations

import gc
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from custodes import __version__
from custodes.access.throttle import LoginThrottle
from custodes.config import Settings, load_settings
from custodes.store.cases import CaseStore
from custodes.web import errors, pages
from custodes.web.routes import (
    alerts,
    audit,
    auth,
    cases,
    escalations,
    evidence,
    health,
    sql,
    unmask,
    users,
)

SECURITY_HEADERS: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)


# Every router of the API, in the order they are mounted under /api.
ROUTERS: Final = tuple(
    m.router
    for m in (health, auth, users, cases, evidence, alerts, unmask, audit, escalations, sql)
)


class SecurityHeaders:
    """Adds headers that keep API answers out of caches, frames and MIME sniffing; and on a
    405 lists in ``Allow`` every method the path supports (Starlette names only those of the
    first route matching the path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.methods: list[tuple[re.Pattern[str], bool, set[str]]] = [
            (compile_path("/api" + route.path)[0], "{" in route.path, set(route.methods or ()))
            for router in ROUTERS
            for route in router.routes
            if isinstance(route, APIRoute)
        ]

    def _allow(self, path: str) -> bytes | None:
        found = [(templated, m) for regex, templated, m in self.methods if regex.match(path)]
        if not found:  # not an API path (a page): Starlette's own Allow is right
            return None
        # A literal path (/cases/from-alerts) wins over a template it also fits (/cases/{id}).
        literal = [m for templated, m in found if not templated]
        allowed = set().union(*(literal or [m for _t, m in found]))
        return ", ".join(sorted(allowed)).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                allow = self._allow(scope["path"]) if message["status"] == 405 else None
                if allow is not None:
                    headers = [(k, v) for k, v in headers if k.lower() != b"allow"]
                    headers.append((b"allow", allow))
                present = {k.lower() for k, _ in headers}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message["headers"] = [*headers, *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings | None = None, *, store: CaseStore | None = None) -> FastAPI:
    """The API over the case store ``settings`` names (or ``store``, which the caller then
    owns and closes). A store this function opens is closed when the app shuts down."""
    settings = settings or load_settings()
    owned = store is None
    case_store = store if store is not None else CaseStore.open(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            case_store.close()

    app = FastAPI(
        title="Custodes",
        version=__version__,
        summary="Integrity analytics and escalation triage: the JSON API.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = case_store
    app.state.login_throttle = LoginThrottle()
    errors.install(app)
    api = APIRouter(prefix="/api", responses=errors.ERROR_RESPONSES)
    for router in ROUTERS:
        api.include_router(router)
    app.include_router(api)
    pages.install(app)
    app.add_middleware(SecurityHeaders)
    return app


def create_served_app(settings: Settings | None = None) -> FastAPI:
    """``create_app`` for a long-running server process.

    The imported framework code is some 160k objects that live as long as the process; a
    full garbage collection walks them all (70-180 ms here), and those pauses were the
    slowest 1 % of API answers. Freezing them after start-up leaves the collector only
    the objects requests create. The triage policy, lexicons and language models are loaded
    first (``escalations.warm_up``): each worker's first escalation would otherwise wait
    seconds for them, and they join the frozen objects."""
    app = create_app(settings)
    escalations.warm_up(app.state.settings)
    gc.collect()
    gc.freeze()
    return app
