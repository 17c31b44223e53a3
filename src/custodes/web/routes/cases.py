"""Cases: list, open (by hand or from alerts), read, change, move along the workflow, and
add notes, tasks, links and members. Every route is a call into ``CaseService``, which
checks permissions and need-to-know (a case you may not see is 404), versions (409) and
writes the audit row."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response, status

from custodes.access.principal import Principal
from custodes.cases.service import CaseService
from custodes.cases.workflow import Status
from custodes.errors import StoreError
from custodes.web.deps import (
    CanCreateCases,
    CanReadCases,
    CanReadEvidence,
    CanUpdateCases,
    P,
    PageDep,
    SettingsDep,
    StoreDep,
    event_store,
    require,
)
from custodes.web.schemas.cases import (
    CaseCreate,
    CaseDetail,
    CaseFromAlerts,
    CasePatch,
    CaseSummary,
    LinkCreate,
    LinkView,
    MemberAdd,
    NoteCreate,
    NoteView,
    TaskCreate,
    TaskPatch,
    TaskView,
    Timeline,
    Transition,
)
from custodes.web.schemas.common import Page

router = APIRouter(prefix="/cases", tags=["cases"])

CaseId = Annotated[int, Path(ge=1, le=2**53)]
TaskId = Annotated[int, Path(ge=1, le=2**53)]
CaseSort = Literal[
    "updated_at",
    "-updated_at",
    "created_at",
    "-created_at",
    "due_at",
    "-due_at",
    "id",
    "-id",
    "title",
    "-title",
    "status",
    "-status",
    "severity",
    "-severity",
]


def get_service(store: StoreDep, settings: SettingsDep) -> CaseService:
    return CaseService(store, settings)


Service = Annotated[CaseService, Depends(get_service)]
CanAssign = Annotated[Principal, require(P.case_assign)]


@router.get("", response_model=Page[CaseSummary])
def list_cases(
    principal: CanReadCases,
    service: Service,
    page: PageDep,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    assignee_id: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=300, description="Title, pseudonym or id.")] = None,
    sort: CaseSort = "-updated_at",
) -> Page[CaseSummary]:
    found = service.list(
        principal,
        status=status_,
        category=category,
        assignee_id=assignee_id,
        tag=tag,
        q=q,
        sort=sort,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=found.items,
        total=found.total,
        limit=found.limit,
        offset=found.offset,
        total_exact=found.total_exact,
    )


@router.post("", response_model=CaseDetail, status_code=status.HTTP_201_CREATED)
def create_case(body: CaseCreate, principal: CanCreateCases, service: Service) -> CaseDetail:
    return service.create(principal, body)


@router.post("/from-alerts", response_model=CaseDetail, status_code=status.HTTP_201_CREATED)
def create_case_from_alerts(
    body: CaseFromAlerts, principal: CanCreateCases, service: Service, settings: SettingsDep
) -> CaseDetail:
    """One case from alerts about one person; alerts already in an open case are skipped."""
    with event_store(settings) as events:
        if events is None:
            raise StoreError("there is no event store yet: ingest and detect first")
        return service.create_from_alerts(principal, body.alert_ids, events, title=body.title)


@router.get("/{case_id}", response_model=CaseDetail)
def get_case(case_id: CaseId, principal: CanReadCases, service: Service) -> CaseDetail:
    return service.get(principal, case_id)


@router.patch("/{case_id}", response_model=CaseDetail)
def update_case(
    case_id: CaseId, body: CasePatch, principal: CanUpdateCases, service: Service
) -> CaseDetail:
    return service.update(principal, case_id, body.version, body.changes())


@router.post("/{case_id}/transition", response_model=CaseDetail)
def move_case(
    case_id: CaseId, body: Transition, principal: CanUpdateCases, service: Service
) -> CaseDetail:
    """Move along new → triage → investigating → pending_decision → closed (closing needs
    case.close and an outcome)."""
    return service.transition(
        principal,
        case_id,
        body.version,
        body.to_status,
        outcome=body.outcome,
        reason=body.reason,
    )


@router.post("/{case_id}/notes", response_model=NoteView, status_code=status.HTTP_201_CREATED)
def add_note(
    case_id: CaseId, body: NoteCreate, principal: CanUpdateCases, service: Service
) -> NoteView:
    return service.add_note(principal, case_id, body.body)


@router.post("/{case_id}/tasks", response_model=TaskView, status_code=status.HTTP_201_CREATED)
def add_task(
    case_id: CaseId, body: TaskCreate, principal: CanUpdateCases, service: Service
) -> TaskView:
    return service.add_task(principal, case_id, body)


@router.patch("/{case_id}/tasks/{task_id}", response_model=TaskView)
def update_task(
    case_id: CaseId,
    task_id: TaskId,
    body: TaskPatch,
    principal: CanUpdateCases,
    service: Service,
) -> TaskView:
    return service.update_task(principal, case_id, task_id, body.version, body.changes())


@router.post("/{case_id}/links", response_model=LinkView, status_code=status.HTTP_201_CREATED)
def link_case(
    case_id: CaseId, body: LinkCreate, principal: CanUpdateCases, service: Service
) -> LinkView:
    return service.link(principal, case_id, body.other_id, body.kind)


@router.post("/{case_id}/members", status_code=status.HTTP_204_NO_CONTENT)
def add_member(
    case_id: CaseId, body: MemberAdd, principal: CanAssign, service: Service
) -> Response:
    """Let one more user see the case (need-to-know is granted per person)."""
    service.add_member(principal, case_id, body.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{case_id}/timeline", response_model=Timeline)
def case_timeline(
    case_id: CaseId,
    principal: CanReadEvidence,
    service: Service,
    settings: SettingsDep,
    family: Annotated[list[str] | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Timeline:
    """The subjects' events around the case's alerts, oldest first (an audited read)."""
    with event_store(settings) as events:
        if events is None:
            raise StoreError("there is no event store yet: ingest events first")
        return service.timeline(principal, case_id, events, families=family, limit=limit)
