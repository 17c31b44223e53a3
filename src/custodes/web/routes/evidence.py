"""Evidence on a case: saved events or a saved query, each with the SHA-256 of its content
at capture, and a check that it still hashes the same."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from custodes.errors import StoreError
from custodes.web.deps import CanAddEvidence, CanReadEvidence, SettingsDep, event_store
from custodes.web.routes.cases import CaseId, Service
from custodes.web.schemas.cases import EvidenceCheck, EvidenceCreate, EvidenceView

router = APIRouter(prefix="/cases/{case_id}/evidence", tags=["evidence"])

EvidenceId = Annotated[int, Path(ge=1, le=2**53)]


@router.get("", response_model=list[EvidenceView])
def list_evidence(
    case_id: CaseId, principal: CanReadEvidence, service: Service
) -> list[EvidenceView]:
    return service.list_evidence(principal, case_id)


@router.post("", response_model=EvidenceView, status_code=status.HTTP_201_CREATED)
def add_evidence(
    case_id: CaseId,
    body: EvidenceCreate,
    principal: CanAddEvidence,
    service: Service,
    settings: SettingsDep,
) -> EvidenceView:
    with event_store(settings) as events:
        if events is None:
            raise StoreError("there is no event store yet: ingest events first")
        return service.add_evidence(principal, case_id, body, events)


@router.get("/{evidence_id}/check", response_model=EvidenceCheck)
def check_evidence(
    case_id: CaseId,
    evidence_id: EvidenceId,
    principal: CanReadEvidence,
    service: Service,
    settings: SettingsDep,
) -> EvidenceCheck:
    """Re-run the capture and compare hashes: has the evidence changed since?"""
    with event_store(settings) as events:
        if events is None:
            raise StoreError("there is no event store yet: ingest events first")
        return service.check_evidence(principal, case_id, evidence_id, events)
