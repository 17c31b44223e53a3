"""Escalations: intake (create or update by the caller's id), the queue by time to breach,
one escalation with its rating and history, and an analyst's override. Every route is a
call into ``EscalationService``, which checks permissions, versions (409) and audits."""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status

from custodes.access.principal import Principal
from custodes.errors import InputError
from custodes.triage.intake import EscalationService
from custodes.triage.policy import Policy, load_policy
from custodes.web.deps import P, PageDep, StoreDep, require
from custodes.web.schemas.common import ErrorOut, Page
from custodes.web.schemas.escalations import (
    EscalationDetail,
    EscalationIn,
    EscalationStatus,
    EscalationSummary,
    OverrideIn,
)

router = APIRouter(prefix="/escalations", tags=["escalations"])

MAX_BODY: Final = 1024 * 1024  # bytes; a larger intake body is refused with 413
EscalationPk = Annotated[int, Path(alias="id", ge=1, le=2**53)]
CanReadEscalations = Annotated[Principal, require(P.escalation_read)]
CanManageEscalations = Annotated[Principal, require(P.escalation_manage)]


@functools.cache
def _policy() -> Policy:
    """The triage policy, parsed once per process (not per request)."""
    return load_policy()


def get_service(store: StoreDep) -> EscalationService:
    return EscalationService(store, policy=_policy())


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
) -> Page[EscalationSummary]:
    """The queue: escalations by time to breach, the most pressing first."""
    items, total = service.queue(
        principal,
        status=status_.value if status_ else None,
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
def submit_escalation(
    principal: CanManageEscalations, service: Service, record: IntakeBody, response: Response
) -> EscalationDetail:
    """Rate and store an escalation (201); a repeat of its ``escalation_id`` updates it and
    re-rates it when its fields changed (200)."""
    made, created = service.submit(principal, record)
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
