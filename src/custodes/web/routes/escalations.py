"""Escalations: intake (create or update by the caller's id), the queue by time to breach,
one escalation with its rating and history, an analyst's override, the status moves
(acknowledge, first action, resolve) and attachments. Every route is a call into
``EscalationService`` (or the lifecycle and attachment modules over it), which check
permissions, versions (409) and audit."""

from __future__ import annotations

import functools
import json
import logging
import pathlib
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from custodes.access.principal import Principal
from custodes.config import Settings
from custodes.errors import InputError
from custodes.triage import adjustment, attachments, lifecycle, staff
from custodes.triage.intake import EscalationService
from custodes.triage.policy import Policy, load_policy
from custodes.triage.reading import read
from custodes.web.deps import P, PageDep, SettingsDep, StoreDep, event_store, require
from custodes.web.schemas.common import ErrorOut, Page
from custodes.web.schemas.escalations import (
    AcknowledgeIn,
    ActionIn,
    AttachmentView,
    Band,
    EscalationDetail,
    EscalationIn,
    EscalationStatus,
    EscalationSummary,
    OverrideIn,
    ResolveIn,
)

router = APIRouter(prefix="/escalations", tags=["escalations"])
_log = logging.getLogger(__name__)

MAX_BODY: Final = 1024 * 1024  # bytes; a larger intake body is refused with 413
EscalationPk = Annotated[int, Path(alias="id", ge=1, le=2**53)]
AttachmentId = Annotated[int, Path(ge=1, le=2**53)]
CanReadEscalations = Annotated[Principal, require(P.escalation_read)]
CanManageEscalations = Annotated[Principal, require(P.escalation_manage)]


@functools.lru_cache(maxsize=4)
def _base_policy(path: pathlib.Path | None) -> Policy:
    """The configured triage policy (``CUSTODES_TRIAGE_POLICY``) or the shipped one,
    parsed once per process (not per request)."""
    return load_policy(path)


@functools.lru_cache(maxsize=4)
def _policy_with(
    data_dir: pathlib.Path, path: pathlib.Path | None, newest: tuple[str, int] | None
) -> Policy:
    """The policy in force for one state of the adjustment folder (``newest`` keys it)."""
    return adjustment.active_policy(data_dir, _base_policy(path)).policy


def _policy(settings: Settings) -> Policy:
    """The policy the CLI would rate with too: the configured one with the learned
    adjustment in force laid over it (``custodes triage calibrate --apply``), re-read when
    it changes."""
    newest = adjustment.newest_file(settings.data_dir)
    return _policy_with(settings.data_dir, settings.triage_policy, newest)


# One short text per language the reader knows: reading them loads its lexicons and the
# language detector's models.
_WARM_UP: Final = (
    ("Urgent: the account posted a threat against a school, screenshots attached.", "en"),
    ("Urgente: la cuenta publicó una amenaza contra una escuela, adjuntamos capturas.", "es"),
    ("Urgente: a conta publicou uma ameaça contra uma escola, capturas em anexo.", "pt"),
)


def warm_up(settings: Settings) -> None:
    """Load what the first intake would otherwise load while a client waits: the policy
    (YAML, holiday calendars), the lexicons and the language models — 1-3 s, paid by
    each worker process's first escalation, hence seconds-long answers right after a
    start or when a worker first gets traffic. For ``custodes serve`` (before it freezes
    its start-up objects out of the garbage collector's way). Best effort: a policy that
    does not load fails intake requests, as it always did, not the server's start."""
    try:
        _policy(settings)
        for text, language in _WARM_UP:
            read(text, language_hint=language)
    except Exception as exc:  # reported again, to the client, by the first intake
        _log.warning("triage warm-up failed: %s", exc)


def _directory(settings: Settings) -> staff.StaffLookup:
    """The staff directory, through the server's one-request-at-a-time event store."""
    return staff.directory(lambda: event_store(settings))


async def get_service(store: StoreDep, settings: SettingsDep) -> EscalationService:
    """``async``: building the service reads nothing (see ``web.deps``)."""
    return EscalationService(
        store, policy=_policy(settings), directory=_directory(settings), settings=settings
    )


Service = Annotated[EscalationService, Depends(get_service)]


async def intake_body(request: Request) -> dict[str, Any]:
    """The raw body as a JSON object: at most 1 MB (else 413), UTF-8 (else 400), JSON
    (else 400), an object (else 422)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPException(413, f"the body is larger than {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise HTTPException(413, f"the body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(
            400, f"the body is not UTF-8 (bad byte at offset {exc.start})"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HTTPException(
            400, f"the body is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise HTTPException(400, "the body is not JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise InputError("an escalation must be a JSON object")
    return data


IntakeBody = Annotated[dict[str, Any], Depends(intake_body)]


@router.get("", response_model=Page[EscalationSummary])
def escalation_queue(
    principal: CanReadEscalations,
    service: Service,
    page: PageDep,
    status_: Annotated[
        EscalationStatus | None,
        Query(alias="status", description="Only this status (default: all but resolved)."),
    ] = None,
    band: Annotated[
        Band | None, Query(description="Only this effective band (an override's if any).")
    ] = None,
    route: Annotated[
        str | None, Query(min_length=1, max_length=128, description="Only this route.")
    ] = None,
) -> Page[EscalationSummary]:
    """The queue: escalations by time to breach, the most pressing first."""
    items, total = service.queue(
        principal,
        status=status_.value if status_ else None,
        band=band,
        route=route,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "",
    response_model=EscalationDetail,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": EscalationDetail, "description": "A repeat of a known escalation_id"},
        413: {"model": ErrorOut, "description": "The body is larger than 1 MB"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": EscalationIn.model_json_schema()}},
        }
    },
)
async def submit_escalation(
    principal: CanManageEscalations, service: Service, record: IntakeBody, response: Response
) -> EscalationDetail:
    """Rate and store an escalation (201); a repeat of its ``escalation_id`` updates it and
    re-rates it when its fields changed (200)."""
    # The service blocks (reading, the store), so it runs in the thread pool; the route is
    # ``async`` so that checking the returned model is not a second trip to that pool.
    made, created = await run_in_threadpool(service.submit, principal, record)
    if not created:
        response.status_code = status.HTTP_200_OK
    return made


@router.get("/{id}", response_model=EscalationDetail)
def get_escalation(
    pk: EscalationPk, principal: CanReadEscalations, service: Service
) -> EscalationDetail:
    return service.get(principal, pk)


@router.post("/{id}/override", response_model=EscalationDetail)
def override_escalation(
    pk: EscalationPk, body: OverrideIn, principal: CanManageEscalations, service: Service
) -> EscalationDetail:
    """Set the effective band, with a reason; the engine's rating stays visible."""
    return service.override(principal, pk, body.version, body.band, body.reason)


# --- status moves ------------------------------------------------------------------------


@router.post("/{id}/acknowledge", response_model=EscalationDetail)
def acknowledge_escalation(
    pk: EscalationPk, body: AcknowledgeIn, principal: CanManageEscalations, service: Service
) -> EscalationDetail:
    """Own it: ``open → acknowledged``; a late move records the breach with its cause."""
    return lifecycle.acknowledge(service, principal, pk, body.version)


@router.post("/{id}/action", response_model=EscalationDetail)
def action_escalation(
    pk: EscalationPk, body: ActionIn, principal: CanManageEscalations, service: Service
) -> EscalationDetail:
    """The first action, with a note of what: ``acknowledged → actioned``."""
    return lifecycle.action(service, principal, pk, body.version, body.note)


@router.post("/{id}/resolve", response_model=EscalationDetail)
def resolve_escalation(
    pk: EscalationPk, body: ResolveIn, principal: CanManageEscalations, service: Service
) -> EscalationDetail:
    """Done, with a resolution: from ``acknowledged`` or ``actioned`` to ``resolved``."""
    return lifecycle.resolve(service, principal, pk, body.version, body.resolution, body.note)


# --- attachments -------------------------------------------------------------------------


async def attachment_body(request: Request) -> tuple[bytes, str | None]:
    """The raw body (at most ``attachments.MAX_SIZE`` bytes, else 413, before it is all
    read) and its declared ``Content-Type``."""
    limit = attachments.MAX_SIZE
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"an attachment is at most {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"an attachment is at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks), request.headers.get("content-type")


AttachmentBody = Annotated[tuple[bytes, str | None], Depends(attachment_body)]
_BINARY: Final = {"schema": {"type": "string", "format": "binary"}}


@router.post(
    "/{id}/attachments",
    response_model=AttachmentView,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": AttachmentView, "description": "The same content was already attached"},
        413: {"model": ErrorOut, "description": "The attachment is too large"},
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/octet-stream": _BINARY}}
    },
)
def add_attachment(
    pk: EscalationPk,
    principal: CanManageEscalations,
    service: Service,
    upload: AttachmentBody,
    response: Response,
    filename: Annotated[str, Query(max_length=255, description="The file's name (no folders).")],
) -> AttachmentView:
    """Attach the request body as a file (its ``Content-Type`` is kept): 201, or 200 when
    these exact bytes (by SHA-256) are already attached to this escalation."""
    content, content_type = upload
    made, created = attachments.add(
        service, principal, pk, content, filename=filename, content_type=content_type
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return made


@router.get("/{id}/attachments", response_model=list[AttachmentView])
def list_attachments(
    pk: EscalationPk, principal: CanReadEscalations, service: Service
) -> list[AttachmentView]:
    """The escalation's attachments (name, type, size, SHA-256, who added them, when)."""
    return attachments.list_for(service, principal, pk)


@router.get(
    "/{id}/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"*/*": _BINARY}, "description": "The attachment's bytes"}},
)
def download_attachment(
    pk: EscalationPk, attachment_id: AttachmentId, principal: CanReadEscalations, service: Service
) -> Response:
    """The bytes as stored (checked against their SHA-256), as a download never rendered
    inline; an audited read."""
    view, content = attachments.read(service, principal, pk, attachment_id)
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in view.filename
    )
    return Response(
        content,
        media_type=view.content_type,
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(view.filename)}"
            ),
            "Content-Security-Policy": "sandbox",
            "ETag": f'"{view.sha256}"',
        },
    )
