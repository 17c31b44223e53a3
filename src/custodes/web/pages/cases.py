"""Cases: the list (``/integrity/cases``) and one case (``/integrity/cases/{id}``) with its
workflow, assignment, tasks, notes, evidence, forensic timeline and audit trail, and its
PDF report.

Every read and change is a call into ``cases.CaseService`` — the same calls as the JSON API
— which checks permissions and need-to-know (a case the viewer may not see is the plain 404
page, for reads and forms alike), checks versions and writes the audit rows. This module
reads form fields, calls, and arranges.

Forms are plain HTML forms that carry the version of what the viewer saw. Success redirects
back to the case (303) with a notice; failure shows the case again with the reason, at the
top and beside the form: 422 for input, 409 for a conflict — and when the conflict is a
stale version, a plain "changed meanwhile" message over the case as it is now, so nothing is
overwritten and nothing is lost from view. The timeline's family filter reloads the timeline
alone (HTMX, ``HX-Target: timeline``); without JavaScript it reloads the page.

Free text written by people (title, description, notes, tasks, evidence titles) has every
staff id masked before it is shown, except the ids of subjects the viewer has unmasked, as
the case report does: a note may name a witness.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Annotated, Final

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from custodes.access import users
from custodes.access.roles import Permission, can
from custodes.cases.service import CaseService
from custodes.cases.views import (
    FAMILIES,
    CaseDetail,
    CaseUpdate,
    EvidenceCheck,
    EvidenceCreate,
    TaskCreate,
    TaskUpdate,
    parse,
)
from custodes.cases.workflow import NEXT, ORDER, Outcome, Status
from custodes.config import Settings
from custodes.detect.results import known_actors
from custodes.errors import ConflictError, InputError, StoreError
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from custodes.web.deps import SettingsDep, StoreDep, event_store
from custodes.web.pages.base import PageRoute, Viewer, page_requires, render
from custodes.web.pages.widgets import (
    PAGE_SIZE,
    Paging,
    bad_request,
    date_field,
    notice,
    optional,
    url_with,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

P = Permission
CanReadCases = Annotated[Viewer, page_requires(P.case_read)]
CanUpdateCases = Annotated[Viewer, page_requires(P.case_update)]
CanReadEvidence = Annotated[Viewer, page_requires(P.evidence_read)]
CanAddEvidence = Annotated[Viewer, page_requires(P.evidence_add)]
CaseId = Annotated[int, Path(ge=1, le=2**53)]
ItemId = Annotated[int, Path(ge=1, le=2**53)]
Version = Annotated[int, Form(ge=1, le=2**31)]
Text = Annotated[str, Query(max_length=64)]
Families = Annotated[list[str] | None, Query(alias="family", max_length=len(FAMILIES))]

CASES: Final = "/integrity/cases"
TIMELINE_TARGET: Final = "timeline"
TIMELINE_LIMIT: Final = 250  # events on the page at first: a page stays quick to render
TIMELINE_MORE: Final = 2000  # when asked for more (the PDF has as many)
TRAIL_ROWS: Final = 100  # the newest rows of the audit trail; the audit log has them all
SORTS: Final = {
    "-updated_at": "recently changed first",
    "updated_at": "least recently changed first",
    "-created_at": "newest first",
    "created_at": "oldest first",
    "due_at": "due soonest first",
    "-severity": "most severe first",
    "status": "by status",
    "id": "by number",
}
# Column headers that sort the list, and the sort each asks for first.
SORTABLE: Final = {"id": "id", "title": "title", "status": "status", "severity": "-severity",
                   "updated": "-updated_at", "due": "due_at"}  # fmt: skip
STALE: Final = (
    "This case changed while you had it open: someone else saved a change first, so nothing "
    "of yours was saved. The page now shows the case as it is; check it, then try again."
)


def _case_url(case_id: int, **params: str) -> str:
    return url_with(f"{CASES}/{case_id}", dict(params))


# --- the list --------------------------------------------------------------------------------


@router.get(CASES, response_class=HTMLResponse)
def case_list(
    request: Request,
    viewer: CanReadCases,
    store: StoreDep,
    settings: SettingsDep,
    status: Text = "",
    category: Text = "",
    tag: Text = "",
    q: Annotated[str, Query(max_length=300)] = "",
    mine: Text = "",
    sort: Text = "-updated_at",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The cases the viewer may see (need-to-know), filtered, sorted and paged."""
    if status and status not in set(Status):
        raise bad_request("status")
    filters: dict[str, str | list[str] | None] = {
        "status": status,
        "category": category,
        "tag": tag,
        "q": q.strip(),
        "mine": "1" if mine else None,
        "sort": sort if sort != "-updated_at" else None,
    }
    try:
        found = CaseService(store, settings).list(
            viewer.principal,
            status=optional(status),
            category=optional(category),
            tag=optional(tag),
            q=optional(q),
            assignee_id=viewer.principal.user_id if mine else None,
            sort=sort,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        )
    except InputError:
        raise bad_request("filter") from None
    base = url_with(CASES, filters)
    unsorted = url_with(CASES, {**filters, "sort": None})
    return render(
        request,
        "integrity/cases.html",
        {
            "title": "Cases",
            "cases": found.items,
            "paging": Paging(base, page, PAGE_SIZE, found.total, found.total_exact),
            "filters": filters,
            "sort": sort,
            "sorts": SORTS,
            "sort_links": {
                name: url_with(unsorted, {"sort": _flip(sort, first)})
                for name, first in SORTABLE.items()
            },
            "sortable_keys": {name: first.lstrip("-") for name, first in SORTABLE.items()},
            "sorted_by": sort.lstrip("-"),
            "descending": sort.startswith("-"),
            "statuses": list(Status),
            "notice": notice(request),
        },
    )


def _flip(current: str, first: str) -> str:
    """A column header's sort: its first direction, or the other one if already sorted so."""
    if current == first:
        return first[1:] if first.startswith("-") else f"-{first}"
    return first


# --- one case --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """What a failed form brings back to the page: the message and what the viewer typed."""

    error: str | None = None
    status: int = 200
    stale: bool = False
    typed: dict[str, str] | None = None
    checked: EvidenceCheck | None = None
    form: str | None = None  # which form failed, to say so beside it


@router.get(f"{CASES}/{{case_id}}", response_class=HTMLResponse)
def case_page(
    request: Request,
    viewer: CanReadCases,
    store: StoreDep,
    settings: SettingsDep,
    case_id: CaseId,
    family: Families = None,
    more: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    """The case in full; each part an audited read, as through the API."""
    families = tuple(family or ())
    limit = TIMELINE_MORE if more else TIMELINE_LIMIT
    if any(f not in FAMILIES for f in families):
        raise bad_request("family")
    headers = request.headers
    if (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Target") == TIMELINE_TARGET
        and headers.get("HX-History-Restore-Request") != "true"
    ):
        service = CaseService(store, settings)
        with event_store(settings) as events:
            timeline = (
                service.timeline(viewer.principal, case_id, events, families=families, limit=limit)
                if events is not None
                else None
            )
            mask = _masker(service, events, None)
        return render(
            request,
            "integrity/case_timeline.html",
            {
                "case_id": case_id,
                "timeline": timeline,
                "families": FAMILIES,
                "mask": mask,
                "more_url": _more_url(case_id, families, limit),
                "can_add_evidence": viewer.can(P.evidence_add),
            },
        )
    return _show(request, viewer, store, settings, case_id, families, limit=limit)


@router.post(f"{CASES}/{{case_id}}/move")
def move_case(
    request: Request,
    viewer: CanUpdateCases,
    store: StoreDep,
    settings: SettingsDep,
    case_id: CaseId,
    version: Version,
    to_status: Annotated[str, Form(max_length=32)],
    outcome: Annotated[str, Form(max_length=32)] = "",
    reason: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """Along the workflow; closing needs ``case.close`` and an outcome."""
    service = CaseService(store, settings)
    typed = {"to_status": to_status, "outcome": outcome, "reason": reason}
    try:
        service.transition(
            viewer.principal,
            case_id,
            version,
            to_status,
            outcome=optional(outcome),
            reason=reason,
        )
    except (ConflictError, InputError) as exc:
        return _failed(request, viewer, store, settings, case_id, "move", exc, version, typed)
    done = "closed" if to_status == Status.closed.value else "moved"
    return RedirectResponse(_case_url(case_id, done=done) + "#workflow", status_code=303)


@router.post(f"{CASES}/{{case_id}}/assign")
def assign_case(
    request: Request,
    viewer: CanUpdateCases,
    store: StoreDep,
    settings: SettingsDep,
    case_id: CaseId,
    version: Version,
    assignee: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Give the case to someone (``case.assign``), or take an unassigned one yourself."""
    if assignee == "me":
        assignee_id: int | None = viewer.principal.user_id
    elif assignee.isdigit():
        assignee_id = int(assignee)
    elif assignee == "":
        assignee_id = None
    else:
        raise bad_request("assignee")
    service = CaseService(store, settings)
    try:
        service.update(
            viewer.principal,
            case_id,
            version,
            CaseUpdate.model_validate({"assignee_id": assignee_id}),
        )
    except (ConflictError, InputError) as exc:
        return _failed(request, viewer, store, settings, case_id, "assign", exc, version)
    return RedirectResponse(_case_url(case_id, done="assigned") + "#workflow", status_code=303)


@router.post(f"{CASES}/{{case_id}}/notes")
def add_note(
    request: Request,
    viewer: CanUpdateCases,
    store: StoreDep,
    settings: SettingsDep,
    case_id: CaseId,
    body: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    """A markdown note (notes are never edited: add a correction)."""
    try:
        CaseService(store, settings).add_note(viewer.principal, case_id, body)
    except (ConflictError, InputError) as exc:
        typed = {"note": body}
        return _failed(request, viewer, store, settings, case_id, "note", exc, None, typed)
    return RedirectResponse(_case_url(case_id, done="note") + "#notes", status_code=303)


@router.post(f"{CASES}/{{case_id}}/tasks")
def add_task(
    request: Request,
    viewer: CanUpdateCases,
    store: StoreDep,
    settings: SettingsDep,
    case_id: CaseId,
    title: Annotated[str, Form(max_length=300)] = "",
    due: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    typed = {"task": title, "due": due}
    try:
        due_day = date_field(due)
        data = parse(
            TaskCreate,
            {
                "title": title,
                "due_at": datetime.combine(due_day, time(17), UTC) if due_day else None,
            },
        )
        CaseService(store, settings).add_task(viewer.principal, case_id, data)
    except (ConflictError, InputError) as exc:
        return _failed(request, viewer, store, settings, case_id, "task", exc, None, typed)
    return RedirectResponse(_case_url(case_id, done="task") + "#tasks", status_code=303)


@router.post(f"{CASES}/{{case_id}}/tasks/{{task_id}}")
def update_task(
    request: Request,
    viewer: CanUpdateCases,
    store: StoreDep,
    settings: SettingsDep,
    case_id: CaseId,
    task_id: ItemId,
    version: Version,
    done: Annotated[bool, Form()],
) -> Response:
    """Tick a task done, or reopen it (with the task's own version)."""
    try:
        CaseService(store, settings).update_task(
            viewer.principal, case_id, task_id, version, parse(TaskUpdate, {"done": done})
        )
    except (ConflictError, InputError) as exc:
        return _failed(request, viewer, store, settings, case_id, "tasks", exc, None)
    code = "task-done" if done else "task-open"
    return RedirectResponse(_case_url(case_id, done=code) + "#tasks", status_code=303)


@router.post(f"{CASES}/{{case_id}}/evidence")
def add_evidence(
    request: Request,
    viewer: CanAddEvidence,
    store: StoreDep,
    settings: SettingsDep,
    case_id: CaseId,
    subject: Annotated[str, Form(max_length=32)],
    start: Annotated[datetime, Form()],
    end: Annotated[datetime, Form()],
    title: Annotated[str, Form(max_length=300)] = "",
    family: Annotated[list[str] | None, Form(max_length=len(FAMILIES))] = None,
) -> Response:
    """Save a timeline selection (one subject, a window, some families) as evidence: a
    structured query whose result is hashed now and can be re-checked later."""
    service = CaseService(store, settings)
    try:
        data = parse(
            EvidenceCreate,
            {
                "kind": "query",
                "title": title,
                "query": {
                    "subject": subject,
                    "start": start,
                    "end": end,
                    "families": list(family or []),
                },
            },
        )
        with event_store(settings) as events:
            if events is None:
                raise StoreError("there is no event store yet")
            service.add_evidence(viewer.principal, case_id, data, events)
    except (ConflictError, InputError) as exc:
        typed = {"evidence_title": title}
        return _failed(request, viewer, store, settings, case_id, "evidence", exc, None, typed)
    return RedirectResponse(_case_url(case_id, done="evidence") + "#evidence", status_code=303)


@router.post(f"{CASES}/{{case_id}}/evidence/{{evidence_id}}/check")
def check_evidence(
    request: Request,
    viewer: CanReadEvidence,
    store: StoreDep,
    settings: SettingsDep,
    case_id: CaseId,
    evidence_id: ItemId,
) -> HTMLResponse:
    """Re-run the evidence's selection and compare hashes (an audited read): the answer is
    the result alone for HTMX, else the case with the result beside the evidence."""
    service = CaseService(store, settings)
    with event_store(settings) as events:
        if events is None:
            raise StoreError("there is no event store yet")
        result = service.check_evidence(viewer.principal, case_id, evidence_id, events)
    if request.headers.get("HX-Request") == "true":
        return render(request, "integrity/evidence_check.html", {"check": result})
    return _show(request, viewer, store, settings, case_id, (), Shown(checked=result))


@router.get(f"{CASES}/{{case_id}}/report.pdf")
def case_report(
    viewer: CanReadCases, store: StoreDep, settings: SettingsDep, case_id: CaseId
) -> Response:
    """The case report as PDF (``reports.case``, as ``custodes report case``): an audited
    read (``case.report``), made on request and not kept on the server."""
    from custodes.privacy.pseudonyms import Pseudonyms
    from custodes.reports import render as documents
    from custodes.reports.case import build
    from custodes.reports.catalogue import case_name

    pseudonyms = Pseudonyms.load(store, settings)
    with event_store(settings) as events:
        report = build(viewer.principal, store, events, case_id, pseudonyms)
    # The context ``reports.documents.write_case`` gives the template, printed.
    page = documents.html(
        "case.html",
        medium="print",
        report=report,
        figures={},
        generated_at=report.generated_at,
        generated_by=report.generated_by,
    )
    name = case_name(report.case.id, report.generated_at, unmasked=bool(report.unmasked))
    return Response(
        documents.pdf(page),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )


# --- showing a case --------------------------------------------------------------------------


def _failed(
    request: Request,
    viewer: Viewer,
    store: CaseStore,
    settings: Settings,
    case_id: int,
    form: str,
    exc: ConflictError | InputError,
    version: int | None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    """The case again, saying why ``form`` did not go through (at the top and beside the
    form): 422 for input, 409 for a conflict."""
    if isinstance(exc, InputError):
        shown = Shown(_sentence(exc.reason), 422, False, typed, form=form)
        return _show(request, viewer, store, settings, case_id, (), shown)
    # A stale version, of the case (re-read to compare) or of a task (the service says so).
    stale = "changed since version" in str(exc) or "changed meanwhile" in str(exc)
    if version is not None:
        stale |= CaseService(store, settings).version(viewer.principal, case_id) != version
    message = STALE if stale else _sentence(str(exc))
    shown = Shown(message, 409, stale, typed, form=form)
    return _show(request, viewer, store, settings, case_id, (), shown)


def _more_url(case_id: int, families: tuple[str, ...], limit: int) -> str | None:
    """The link to a longer timeline, unless this one is already the long one."""
    if limit >= TIMELINE_MORE:
        return None
    return url_with(f"{CASES}/{case_id}", {"family": list(families), "more": "true"}) + "#timeline"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _masker(
    service: CaseService, events: EventStore | None, detail: CaseDetail | None
) -> Callable[[str | None], str]:
    """Masks every staff id in free text, except those of subjects unmasked for the viewer."""
    staff = set(known_actors(events)) if events is not None else set()
    if detail is not None:
        staff -= {s.actor_id for s in detail.subjects if s.actor_id}
    mask = service.pseudonyms.masker(staff)
    return lambda text: mask(text) if text else ""


def _show(
    request: Request,
    viewer: Viewer,
    store: CaseStore,
    settings: Settings,
    case_id: int,
    families: tuple[str, ...],
    shown: Shown | None = None,
    *,
    limit: int = TIMELINE_LIMIT,
) -> HTMLResponse:
    shown = shown or Shown()
    principal = viewer.principal
    service = CaseService(store, settings)
    detail = service.get(principal, case_id)
    evidence = service.list_evidence(principal, case_id) if viewer.can(P.evidence_read) else None
    with event_store(settings) as events:
        timeline = (
            service.timeline(principal, case_id, events, families=families, limit=limit)
            if events is not None and viewer.can(P.evidence_read)
            else None
        )
        mask = _masker(service, events, detail)
        staff = known_actors(events) if events is not None else frozenset()
    trail = (
        service.audit_trail(principal, case_id, staff, TRAIL_ROWS + 1)
        if viewer.can(P.audit_read)
        else None
    )
    status = detail.status
    editable = status is not Status.closed and viewer.can(P.case_update)
    return render(
        request,
        "integrity/case.html",
        {
            "title": f"Case {detail.id}",
            "case": detail,
            "mask": mask,
            "more_url": _more_url(case_id, families, limit),
            "evidence": evidence,
            "timeline": timeline,
            "trail": trail[-TRAIL_ROWS:] if trail else trail,
            "trail_cut": trail is not None and len(trail) > TRAIL_ROWS,
            "families": FAMILIES,
            "moves": sorted(
                (s for s in NEXT[status] if s is not Status.closed), key=list(Status).index
            ),
            "backwards": {s for s in NEXT[status] if ORDER.index(s) < ORDER.index(status)},
            "can_close": editable and Status.closed in NEXT[status] and viewer.can(P.case_close),
            "outcomes": list(Outcome),
            "editable": editable,
            "can_assign": editable and viewer.can(P.case_assign),
            "can_take": editable and detail.assignee is None,
            "people": _assignable(store) if editable and viewer.can(P.case_assign) else [],
            "can_add_evidence": status is not Status.closed and viewer.can(P.evidence_add),
            "can_unmask": viewer.can(P.unmask_request),
            "here": _case_url(case_id),
            "stale_url": _case_url(case_id) if shown.stale else None,
            "notice": notice(request),
            "error": shown.error,
            "failed": shown.form,
            "typed": shown.typed or {},
            "checked": shown.checked,
        },
        status=shown.status,
    )


def _assignable(store: CaseStore) -> list[tuple[int, str]]:
    """Active users whose role may work a case: who a case can be given to."""
    with store.read() as session:
        rows, _total = users.list_users(session, disabled=False, limit=500)
        return [(u.id, u.username) for u in rows if can(u.role, P.case_update)]
