"""The page layer's plumbing: templates, who is looking, and HTML answers to errors.

Pages are for people in a browser, so they authenticate by the session cookie only (never
an API token) and answer in HTML: a page that needs a login redirects to
``/login?next=…``; one the role may not see is a 403 page; something the viewer may not
know exists is the same 404 page as something that does not exist (need-to-know). Every
page route is a ``PageRoute``, which turns the domain's errors into those pages, so a page
handler stays a thin call into the same services the JSON API uses.

Cookie-authenticated POSTs must carry the session's CSRF token, as a ``csrf_token`` form
field (plain forms) or the ``X-CSRF-Token`` header (HTMX, from the ``csrf-token`` meta tag).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from custodes import __version__
from custodes.access import sessions
from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    StoreError,
)
from custodes.web.deps import UNSAFE
from custodes.web.pages.nav import nav_for

log = logging.getLogger(__name__)

WEB_DIR: Final = Path(__file__).resolve().parent.parent
TEMPLATES_DIR: Final = WEB_DIR / "templates"
STATIC_DIR: Final = WEB_DIR / "static"
STATIC_URL: Final = "/static"
CSRF_FIELD: Final = "csrf_token"

# Scripts every page loads, and those chart pages add (vendored; see static/vendor/).
SCRIPTS: Final = ("vendor/htmx-2.0.11/htmx.min.js",)
CHART_SCRIPTS: Final = (
    "vendor/vega-6.4.0/vega.min.js",
    "vendor/vega-lite-6.5.0/vega-lite.min.js",
    "vendor/vega-embed-7.3.0/vega-embed.min.js",
)

# Only our own origin, no inline script and no eval (charts use Vega's interpreter); inline
# style attributes are allowed because Vega's SVG renderer writes them.
CSP: Final = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)

# Autoescaped (every .html template), and strict: a misspelt variable is an error, not "".
templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default_for_string=True, default=True),
        undefined=StrictUndefined,
    )
)
templates.env.globals["version"] = __version__
templates.env.globals["CSRF_FIELD"] = CSRF_FIELD


def static_url(path: str) -> str:
    return f"{STATIC_URL}/{path}"


templates.env.globals["static"] = static_url


class LoginRequired(Exception):
    """No live session: the page answers with a redirect to the login page."""


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page: a logged-in person and their session's CSRF token."""

    principal: Principal
    csrf_token: str
    cookie: str

    def can(self, permission: Permission) -> bool:
        return self.principal.can(permission)


def find_viewer(request: Request) -> Viewer | None:
    """The live session the cookie names, if any (one indexed read of the case store)."""
    cookie = request.cookies.get(sessions.COOKIE)
    if not cookie:
        return None
    with request.app.state.store.read() as session:
        active = sessions.resolve(session, cookie)
    if active is None:
        return None
    return Viewer(active.principal, active.csrf_token, cookie)


async def sent_csrf_token(request: Request) -> str | None:
    """The CSRF token an unsafe request carries: the header (HTMX), else the form field.
    Async because reading a form is I/O; the check itself is in ``get_viewer``."""
    if request.method not in UNSAFE:
        return None
    sent = request.headers.get(sessions.CSRF_HEADER)
    if sent is None:
        field = (await request.form()).get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    return sent


def get_viewer(request: Request, sent: Annotated[str | None, Depends(sent_csrf_token)]) -> Viewer:
    """The logged-in viewer (else LoginRequired); unsafe methods must also have sent the
    session's CSRF token (else 403). Sync, so the store is read off the event loop."""
    viewer = find_viewer(request)
    if viewer is None:
        raise LoginRequired
    request.state.viewer = viewer
    if request.method in UNSAFE and (
        sent is None or not hmac.compare_digest(sent.encode(), viewer.csrf_token.encode())
    ):
        raise PermissionDeniedError(
            "The form was out of date (its CSRF token did not match): reload and retry."
        )
    return viewer


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def page_requires(permission: Permission) -> Any:
    """``Depends`` that yields the viewer if their role holds ``permission`` (else the 403
    page). Carries ``permission`` like ``deps.require``, so tests read it from the routes."""

    def check(viewer: ViewerDep) -> Viewer:
        if not viewer.can(permission):
            role = viewer.principal.role.value.replace("_", " ")
            raise PermissionDeniedError(f"It needs {permission}, which the {role} role lacks.")
        return viewer

    check.permission = permission  # type: ignore[attr-defined]
    check.__name__ = f"page_requires_{permission.name}"
    return Depends(check)


def local_path(value: str | None, default: str = "/") -> str:
    """``value`` if it is a path on this site (for redirects after login), else ``default``:
    no scheme, no host, no ``//`` or backslash tricks, no control characters."""
    if not value or len(value) > 2048 or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path in ("/login", "/logout"):
        return default
    return value


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page: ``template`` with the viewer, their navigation and the CSRF token."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    values: dict[str, Any] = {
        "viewer": viewer,
        "csrf_token": viewer.csrf_token if viewer else "",
        "nav": nav_for(viewer.principal, request.url.path) if viewer else [],
        "scripts": SCRIPTS,
        **(context or {}),
    }
    response = templates.TemplateResponse(
        request, template, values, status_code=status, headers=headers
    )
    response.headers["Content-Security-Policy"] = CSP
    return response


ERRORS: Final = {
    400: ("Bad request", "The request was not one this page understands."),
    403: ("Not allowed", "Your role does not give access to this page."),
    404: ("Not found", "There is nothing here, or nothing you may see."),
    405: ("Not allowed here", "This address does not take that kind of request."),
    409: ("Changed meanwhile", "It changed since you opened it; nothing was saved. Reload it."),
    422: ("Not accepted", "Something in the form could not be used; nothing was saved."),
    429: ("Too many attempts", "Wait a while and try again."),
    503: ("Busy", "A store is busy or unreachable; try again in a moment."),
}


def error_page(request: Request, status: int, detail: str | None = None) -> HTMLResponse:
    """The HTML answer for an error status. A 404 never says why (need-to-know)."""
    if not hasattr(request.state, "viewer"):
        viewer = _viewer_quietly(request)
        if viewer is not None:
            request.state.viewer = viewer
    title, message = ERRORS.get(status, ("Something went wrong", "The page could not be shown."))
    headers = {"Retry-After": "5"} if status == 503 else None
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message, "detail": detail},
        status=status,
        headers=headers,
    )


def _viewer_quietly(request: Request) -> Viewer | None:
    """The viewer for an error page's navigation, if there is one to find."""
    try:
        return find_viewer(request)
    except Exception:  # an error page must not fail for want of navigation
        log.debug("no viewer for an error page", exc_info=True)
        return None


def login_redirect(request: Request) -> Response:
    """To the login page, then back here. HTMX requests get ``HX-Redirect`` instead, so the
    whole page moves to the login form rather than a fragment of it."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/login" if local_path(here) == "/" else f"/login?next={quote(here, safe='/')}"
    if request.headers.get("HX-Request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


class PageRoute(APIRoute):
    """A route answering in HTML: the domain's errors become pages, a missing login a
    redirect. JSON API routes keep FastAPI's JSON errors (``web/errors.py``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return login_redirect(request)
            except PermissionDeniedError as exc:
                return error_page(request, 403, str(exc))
            except NotFoundError:
                return error_page(request, 404)
            except StoreError:
                return error_page(request, 503)
            # Handlers answer these beside the form; a handler that does not still gets a
            # page, never the API's JSON.
            except ConflictError as exc:
                return error_page(request, 409, str(exc))
            except InputError as exc:
                return error_page(request, 422, str(exc))
            except RateLimitedError:
                return error_page(request, 429)
            except RequestValidationError as exc:
                # A path that cannot name anything (/escalations/abc) is a page that does
                # not exist; a bad query or form value is a bad request.
                named = all(str(e.get("loc", ("",))[0]) == "path" for e in exc.errors())
                return error_page(request, 404 if named else 400)
            except HTTPException as exc:
                return error_page(request, exc.status_code)

        return page_handler


class Static(StaticFiles):
    """Static files with caching that fits them: vendored files sit in versioned folders
    and never change (cache for a year); our own CSS and JS are revalidated each time."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        immutable = path.startswith("vendor/") and response.status_code == 200
        response.headers["Cache-Control"] = (
            "public, max-age=31536000, immutable" if immutable else "no-cache"
        )
        return response


def static_files() -> Static:
    return Static(directory=STATIC_DIR)
