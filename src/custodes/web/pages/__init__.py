"""Server-rendered pages (Jinja2 + HTMX), one module per page group, over the same domain
services as the JSON API. ``install`` mounts them, their static files, and HTML answers
for unknown or wrongly-requested browser paths."""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from custodes.web.pages import (
    alerts,
    audit,
    auth,
    cases,
    dashboard,
    escalations,
    reports,
    sql,
    staff,
    unmask,
)
from custodes.web.pages.base import STATIC_URL, error_page, static_files

# Every page router, in the order they are mounted (tests read the page table from here).
ROUTERS: Final = tuple(
    m.router
    for m in (auth, dashboard, escalations, sql, audit, staff, alerts, cases, unmask, reports)
)
NOT_PAGES: Final = ("/api/", "/openapi.json", "/docs")


def _wants_page(request: Request) -> bool:
    """A browser asking for a page (not the API, not a script)."""
    path = request.url.path
    if path.startswith(NOT_PAGES):
        return False
    return "text/html" in request.headers.get("accept", "")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not _wants_page(request):
        return await http_exception_handler(request, exc)
    page = error_page(request, exc.status_code)
    for name, value in (exc.headers or {}).items():
        page.headers[name] = value
    return page


def install(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    app.mount(STATIC_URL, static_files(), name="static")
    app.add_exception_handler(StarletteHTTPException, _http_error)
