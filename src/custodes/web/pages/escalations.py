"""The escalation pages: the queue, one escalation in full with its lifecycle, and intake.

Every read and write is a call into the same services as the JSON API —
``EscalationService`` (queue, get, submit, override), ``triage.lifecycle`` (acknowledge,
action, resolve) and ``triage.attachments`` — built by the API's own dependency, so the page
rates with the same policy and staff directory. This module only parses forms, maps the
services' answers onto pages and formats times; the services check permissions, versions,
input, pseudonymise and audit.

How the forms answer (plain HTML forms, no JavaScript needed):

* success → 303 to the escalation's page with a short "done" note (Post/Redirect/Get, so a
  reload never repeats the action);
* bad input (``InputError``) → the same page, 422, the message beside the field it names,
  the entered values kept, nothing stored;
* a stale ``version`` or a move the workflow refuses (``ConflictError``) → the escalation
  as it is now, 409, saying that it changed meanwhile (or why the move is refused), so the
  analyst looks again before acting.

SLA countdowns are ``<time data-due>`` elements: the server writes "in 2 h 13 min", and
``custodes.js`` ticks them every second when scripts run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from custodes.access.roles import Permission
from custodes.clock import utc_now_aware
from custodes.errors import ConflictError, InputError
from custodes.model.vocabulary import (
    BANDS,
    ESCALATION_CATEGORIES,
    ESCALATION_LANGUAGES,
    ESCALATION_SOURCES,
)
from custodes.triage import attachments, lifecycle
from custodes.triage.clocks import COMPLETES, Step
from custodes.triage.escalation import FIELDS
from custodes.triage.intake import validate
from custodes.triage.views import EscalationDetail, EscalationStatus, Resolution
from custodes.web.pages.base import PageRoute, Viewer, page_requires, render
from custodes.web.routes.escalations import Service

router = APIRouter(route_class=PageRoute, include_in_schema=False)

P = Permission
CanRead = Annotated[Viewer, page_requires(P.escalation_read)]
CanManage = Annotated[Viewer, page_requires(P.escalation_manage)]
EscalationPk = Annotated[int, PathParam(alias="id", ge=1, le=2**53)]
Version = Annotated[int, Form(ge=1, le=2**31 - 1)]

PAGE_SIZE: Final = 50
STATUS_CHOICES: Final = ("", *(s.value for s in EscalationStatus))
# The notes a successful form leaves on the page it redirects to.
DONE: Final = {
    "new": "Escalation received and rated.",
    "updated": "Escalation updated (it was already here) and rated again.",
    "acknowledged": "Acknowledged: the escalation is yours.",
    "actioned": "First action recorded.",
    "resolved": "Resolved.",
    "override": "Band overridden; the engine's rating stays beside it.",
    "attached": "File attached.",
    "already-attached": "That file is already attached (same content); nothing new stored.",
}
RESOLUTIONS: Final = tuple(r.value for r in Resolution)
CHANGED_MEANWHILE: Final = (
    "This escalation changed meanwhile (someone else acted on it, or it was re-rated), so "
    "nothing was done. Here it is as it is now: check it, then try again."
)
# Intake form fields (the contract's, §1.6) whose errors show beside them; others at the top.
INTAKE_FIELDS: Final = FIELDS


# --- formatting ------------------------------------------------------------------------------


def when(value: datetime | None) -> str:
    """A time as people read it: ``2026-11-21 16:57 UTC``."""
    if value is None:
        return "not set"
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def short(value: datetime) -> str:
    """A time in a table whose heading says UTC: ``2026-11-21 16:57``."""
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M}"


def iso(value: datetime) -> str:
    """A time as ``<time datetime>`` and the countdown script read it."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def span(seconds: float) -> str:
    """A duration in words, to the minute: ``2 d 3 h``, ``2 h 13 min``, ``4 min``."""
    total = int(abs(seconds)) // 60
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else "under a minute"


def left(due: datetime, now: datetime) -> str:
    """What the countdown says without JavaScript: ``in 2 h 13 min`` or ``3 h overdue``."""
    seconds = (due - now).total_seconds()
    return f"in {span(seconds)}" if seconds >= 0 else f"{span(seconds)} overdue"


HELPERS: Final = {"when": when, "short": short, "iso": iso, "left": left, "span": span}


def _page(request: Request, template: str, title: str, **context: Any) -> HTMLResponse:
    status = context.pop("status", 200)
    return render(
        request,
        template,
        {"title": title, "now": utc_now_aware(), **HELPERS, **context},
        status=status,
    )


def _done_url(pk: int, done: str) -> str:
    return f"/escalations/{pk}?{urlencode({'done': done})}"


# --- the queue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    status: str
    band: str
    route: str
    page: int

    def query(self, **change: Any) -> str:
        """This queue's URL with ``change`` applied (empty filters left out)."""
        values = {"status": self.status, "band": self.band, "route": self.route}
        values |= {k: v for k, v in change.items() if k != "page"}
        page = change.get("page", self.page)
        params = {k: v for k, v in values.items() if v}
        if page > 1:
            params["page"] = str(page)
        return "/escalations" + (f"?{urlencode(params)}" if params else "")


@router.get("/escalations", response_class=HTMLResponse)
def queue_page(
    request: Request,
    viewer: CanRead,
    service: Service,
    status: Annotated[Literal["", "open", "acknowledged", "actioned", "resolved"], Query()] = "",
    band: Annotated[Literal["", "P0", "P1", "P2", "P3", "P4"], Query()] = "",
    route: Annotated[str, Query(max_length=128)] = "",
    page: Annotated[int, Query(ge=1, le=200_000)] = 1,
) -> HTMLResponse:
    """The queue by time to breach (the most pressing first), filtered and paged."""
    filters = QueueFilters(status, band, route.strip(), page)
    items, total = service.queue(
        viewer.principal,
        status=status or None,
        band=band or None,
        route=filters.route or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    pages = max(1, -(-total // PAGE_SIZE))
    return _page(
        request,
        "escalations/queue.html",
        "Escalation queue",
        items=items,
        total=total,
        filters=filters,
        first=(page - 1) * PAGE_SIZE + 1,
        pages=pages,
        statuses=STATUS_CHOICES,
        bands=BANDS,
        routes=service.routes(viewer.principal),
        can_manage=viewer.can(P.escalation_manage),
    )


# --- intake ----------------------------------------------------------------------------------


def _intake_form(
    request: Request,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    *,
    status: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        "escalations/new.html",
        "New escalation",
        values=values,
        errors=errors,
        sources=ESCALATION_SOURCES,
        categories=ESCALATION_CATEGORIES,
        languages=ESCALATION_LANGUAGES,
        status=status,
    )


@router.get("/escalations/new", response_class=HTMLResponse)
def intake_page(request: Request, _viewer: CanManage) -> HTMLResponse:
    """The contract's fields (§1.6) as a form; received now unless said otherwise."""
    now = utc_now_aware().strftime("%Y-%m-%dT%H:%M")
    return _intake_form(request, {"received_at": now}, {})


def field_errors(record: Mapping[str, Any]) -> dict[str, str]:
    """Every field's problem at once (the service stops at the first): each field is
    checked by the service's own ``validate`` inside an otherwise valid record, so the
    rules are the service's, not a copy of them."""
    base: dict[str, Any] = {
        "received_at": "2026-01-01T00:00:00+00:00",
        "source": ESCALATION_SOURCES[0],
        "body": "x",
    }
    errors: dict[str, str] = {}
    for name in INTAKE_FIELDS:
        try:
            validate(base | {name: record.get(name)})
        except InputError as exc:
            errors.setdefault(exc.field or name, exc.reason)
    return errors


@router.post("/escalations/new", response_model=None)
def intake_submit(
    request: Request,
    viewer: CanManage,
    service: Service,
    escalation_id: Annotated[str, Form(max_length=512)] = "",
    received_at: Annotated[str, Form(max_length=64)] = "",
    source: Annotated[str, Form(max_length=64)] = "",
    title: Annotated[str, Form(max_length=4096)] = "",
    body: Annotated[str, Form(max_length=1_000_000)] = "",
    language: Annotated[str, Form(max_length=16)] = "",
    reported_category: Annotated[str, Form(max_length=128)] = "",
    subject_ids: Annotated[str, Form(max_length=65_536)] = "",
    reach: Annotated[str, Form(max_length=32)] = "",
    jurisdiction: Annotated[str, Form(max_length=16)] = "",
    requester: Annotated[str, Form(max_length=512)] = "",
    deadline: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Submit through ``EscalationService.submit``; every field's error beside it, and
    nothing stored, when any is wrong."""
    values = {
        "escalation_id": escalation_id,
        "received_at": received_at,
        "source": source,
        "title": title,
        "body": body,
        "language": language,
        "reported_category": reported_category,
        "subject_ids": subject_ids,
        "reach": reach,
        "jurisdiction": jurisdiction,
        "requester": requester,
        "deadline": deadline,
    }
    # One subject id per line (or ';'-separated, as in the contract's CSV form).
    subjects = [s.strip() for line in subject_ids.splitlines() for s in line.split(";")]
    record: dict[str, Any] = {k: (v.strip() or None) for k, v in values.items()}
    record["subject_ids"] = [s for s in subjects if s] or None
    errors = field_errors(record)
    if not errors:
        try:
            made, created = service.submit(viewer.principal, record)
        except InputError as exc:
            errors = {exc.field or "form": exc.reason}
        except ConflictError as exc:
            errors = {"form": str(exc)}
        else:
            return RedirectResponse(_done_url(made.id, "new" if created else "updated"), 303)
    return _intake_form(request, values, errors, status=422)


# --- one escalation --------------------------------------------------------------------------


def _clock_rows(detail: EscalationDetail) -> list[dict[str, Any]]:
    """The engine's clocks, each marked done when a step taken completes it."""
    done: set[str] = set()
    if detail.acknowledged is not None:
        done |= COMPLETES[Step.acknowledge]
    if detail.actioned is not None:
        done |= COMPLETES[Step.action]
    if detail.resolved is not None:
        done |= set(detail.clocks)
    breached = {b.clock for b in detail.breaches}
    return [
        {"name": name, "due": due, "done": name in done, "breached": name in breached}
        for name, due in sorted(detail.clocks.items(), key=lambda item: item[1])
    ]


def _detail_page(
    request: Request,
    viewer: Viewer,
    service: Service,
    pk: int,
    *,
    done: str = "",
    conflict: ConflictError | None = None,
    sent_version: int | None = None,
    errors: Mapping[str, str] | None = None,
    form: str = "",
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The page of escalation ``pk``; after a refused form, ``conflict`` says why (a
    version other than the one sent means it changed meanwhile) or ``errors`` where."""
    detail = service.get(viewer.principal, pk)
    files = attachments.list_for(service, viewer.principal, pk)
    problem = ""
    if conflict is not None:
        stale = sent_version is not None and detail.version != sent_version
        problem = CHANGED_MEANWHILE if stale else f"Nothing was done: {conflict}."
    return _page(
        request,
        "escalations/detail.html",
        f"Escalation {detail.escalation_id}",
        e=detail,
        files=files,
        clocks=_clock_rows(detail),
        done=DONE.get(done, ""),
        problem=problem,
        errors=errors or {},
        form=form,
        values=values or {},
        can_manage=viewer.can(P.escalation_manage),
        bands=BANDS,
        resolutions=RESOLUTIONS,
        max_upload=attachments.MAX_SIZE,
        status=status,
    )


@router.get("/escalations/{id}", response_class=HTMLResponse)
def detail_page(
    pk: EscalationPk,
    request: Request,
    viewer: CanRead,
    service: Service,
    done: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """One escalation in full: text, rating explained, clocks, history, files, actions."""
    return _detail_page(request, viewer, service, pk, done=done)


def _act(
    request: Request,
    viewer: Viewer,
    service: Service,
    pk: int,
    version: int | None,
    *,
    form: str,
    values: Mapping[str, str],
    call: Callable[[], object],
    done: str,
) -> Response:
    """Run ``call`` (one service call) and answer as the module docstring says."""
    try:
        call()
    except InputError as exc:
        return _detail_page(
            request,
            viewer,
            service,
            pk,
            errors={exc.field or "form": exc.reason},
            form=form,
            values=values,
            status=422,
        )
    except ConflictError as exc:
        return _detail_page(
            request, viewer, service, pk, conflict=exc, sent_version=version, status=409
        )
    return RedirectResponse(_done_url(pk, done), status_code=303)


@router.post("/escalations/{id}/override", response_model=None)
def override_submit(
    pk: EscalationPk,
    request: Request,
    viewer: CanManage,
    service: Service,
    version: Version,
    band: Annotated[str, Form(max_length=8)] = "",
    reason: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """Set the effective band; the reason is required (the service refuses without one)."""
    return _act(
        request,
        viewer,
        service,
        pk,
        version,
        form="override",
        values={"band": band, "reason": reason},
        call=lambda: service.override(viewer.principal, pk, version, band, reason),
        done="override",
    )


@router.post("/escalations/{id}/acknowledge", response_model=None)
def acknowledge_submit(
    pk: EscalationPk, request: Request, viewer: CanManage, service: Service, version: Version
) -> Response:
    """Own it: ``open → acknowledged``."""
    return _act(
        request,
        viewer,
        service,
        pk,
        version,
        form="acknowledge",
        values={},
        call=lambda: lifecycle.acknowledge(service, viewer.principal, pk, version),
        done="acknowledged",
    )


@router.post("/escalations/{id}/action", response_model=None)
def action_submit(
    pk: EscalationPk,
    request: Request,
    viewer: CanManage,
    service: Service,
    version: Version,
    note: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """The first action, with a note of what was done: ``acknowledged → actioned``."""
    return _act(
        request,
        viewer,
        service,
        pk,
        version,
        form="action",
        values={"note": note},
        call=lambda: lifecycle.action(service, viewer.principal, pk, version, note),
        done="actioned",
    )


@router.post("/escalations/{id}/resolve", response_model=None)
def resolve_submit(
    pk: EscalationPk,
    request: Request,
    viewer: CanManage,
    service: Service,
    version: Version,
    resolution: Annotated[str, Form(max_length=64)] = "",
    note: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """Done, with how (a resolution from the fixed list) and optionally a note."""
    return _act(
        request,
        viewer,
        service,
        pk,
        version,
        form="resolve",
        values={"resolution": resolution, "note": note},
        call=lambda: lifecycle.move(
            service,
            viewer.principal,
            pk,
            version,
            Step.resolve,
            resolution=resolution.strip() or None,
            note=note,
        ),
        done="resolved",
    )


async def upload_size(request: Request) -> None:
    """Refuse an upload over the limit (plus room for the form's other fields) before any
    of it is read, as the API does (413)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > attachments.MAX_SIZE + 64 * 1024:
        raise HTTPException(413)


@router.post(
    "/escalations/{id}/attachments", response_model=None, dependencies=[Depends(upload_size)]
)
def attachment_submit(
    pk: EscalationPk,
    request: Request,
    viewer: CanManage,
    service: Service,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Attach an uploaded file (its name and media type kept); the same bytes again are
    the attachment already there."""
    content = b""
    name = None
    media = None
    if file is not None:
        content = file.file.read(attachments.MAX_SIZE + 1)
        name, media = file.filename, file.content_type
    try:
        _view, created = attachments.add(
            service, viewer.principal, pk, content, filename=name, content_type=media
        )
    except InputError as exc:
        # Name, type and content are all the one file field on the page.
        return _detail_page(
            request,
            viewer,
            service,
            pk,
            errors={"file": exc.reason},
            form="attach",
            status=422,
        )
    done = "attached" if created else "already-attached"
    return RedirectResponse(_done_url(pk, done), status_code=303)
