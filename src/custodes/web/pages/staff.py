"""The staff risk page (``/integrity/staff/{pseudonym}``): one person's score over time and
what it is made of, their place among peers (same role, same site), their alerts, the cases about
them, and their activity — and "open a case" from their alerts.

Thin over the domain: ``risk.staff.StaffService`` (profile and activity, with the
permission checks, masking and audit), ``detect.queue.AlertQueue`` (their alerts, as the
alert queue shows them) and ``cases.CaseService`` (cases about them, and
``create_from_alerts``). This module only reads the form fields and arranges the page.

The activity section reloads alone when its filter changes (HTMX asks with ``HX-Target:
activity`` and gets just that section, and the URL follows, so reload and back work); without
JavaScript the same form reloads the whole page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from custodes.access.roles import Permission
from custodes.cases.service import CaseService
from custodes.cases.views import FAMILIES
from custodes.config import Settings
from custodes.detect.queue import MAX_LIMIT, AlertFilter, AlertQueue, Review
from custodes.errors import ConflictError, InputError, NotFoundError
from custodes.risk.staff import Activity, StaffService
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from custodes.web import staff_charts
from custodes.web.deps import SettingsDep, StoreDep, event_store
from custodes.web.pages.base import (
    CHART_SCRIPTS,
    SCRIPTS,
    PageRoute,
    Viewer,
    page_requires,
    render,
)
from custodes.web.pages.widgets import bad_request, date_field, notice, optional, url_with

router = APIRouter(route_class=PageRoute, include_in_schema=False)

P = Permission
CanSeeAlerts = Annotated[Viewer, page_requires(P.alert_read)]
CanOpenCases = Annotated[Viewer, page_requires(P.case_create)]
Pseudonym = Annotated[str, Path(min_length=1, max_length=32)]
Families = Annotated[list[str] | None, Query(alias="family", max_length=len(FAMILIES))]
DateText = Annotated[str, Query(max_length=10)]

ACTIVITY_TARGET = "activity"


@dataclass(frozen=True)
class ActivityFilter:
    """The activity section's filter as the form sends it: families, and whole days (the
    end day included)."""

    families: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None

    @property
    def start_at(self) -> datetime | None:
        return datetime.combine(self.start, time.min, UTC) if self.start else None

    @property
    def end_at(self) -> datetime | None:
        return datetime.combine(self.end + timedelta(days=1), time.min, UTC) if self.end else None


def _filter(family: list[str] | None, start: str, end: str) -> ActivityFilter:
    families = tuple(family or ())
    if any(f not in FAMILIES for f in families):
        raise bad_request("family")
    return ActivityFilter(families, date_field(start), date_field(end))


def _activity(
    staff: StaffService,
    viewer: Viewer,
    events: EventStore | None,
    pseudonym: str,
    flt: ActivityFilter,
) -> tuple[Activity | None, str | None]:
    """The activity the filter asks for; for dates that make no window (the end before the
    start, more than a year), the default window and what was wrong with the dates."""
    if not viewer.can(P.evidence_read):
        return None, None
    try:
        return staff.activity(
            viewer.principal,
            events,
            pseudonym,
            start=flt.start_at,
            end=flt.end_at,
            families=flt.families,
        ), None
    except InputError as exc:
        if exc.field not in ("start", "end"):
            raise
        shown = staff.activity(viewer.principal, events, pseudonym, families=flt.families)
        return shown, f"Those dates do not make a window ({exc.reason}): showing the default."


def _activity_context(pseudonym: str, found: tuple[Activity | None, str | None]) -> dict[str, Any]:
    activity, problem = found
    shown_end = activity.end - timedelta(days=1) if activity else None
    return {
        "pseudonym": pseudonym,
        "activity": activity,
        "activity_problem": problem,
        "families": FAMILIES,
        "shown_start": f"{activity.start:%Y-%m-%d}" if activity else "",
        "shown_end": f"{shown_end:%Y-%m-%d}" if shown_end else "",
        "page_url": f"/integrity/staff/{pseudonym}",
    }


def _wants_activity_only(request: Request) -> bool:
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Target") == ACTIVITY_TARGET
        and headers.get("HX-History-Restore-Request") != "true"
    )


@router.get("/integrity/staff/{pseudonym}", response_class=HTMLResponse)
def staff_page(
    request: Request,
    viewer: CanSeeAlerts,
    store: StoreDep,
    settings: SettingsDep,
    pseudonym: Pseudonym,
    family: Families = None,
    start: DateText = "",
    end: DateText = "",
) -> HTMLResponse:
    """Risk over time and its parts, peers, alerts, cases about them, activity."""
    flt = _filter(family, start, end)
    if _wants_activity_only(request):
        staff = StaffService(store, settings)
        with event_store(settings) as events:
            activity = _activity(staff, viewer, events, pseudonym, flt)
        return render(
            request, "integrity/staff_activity.html", _activity_context(pseudonym, activity)
        )
    return _show(request, viewer, store, settings, pseudonym, flt)


@router.post("/integrity/staff/{pseudonym}/case")
def open_case(
    request: Request,
    viewer: CanOpenCases,
    store: StoreDep,
    settings: SettingsDep,
    pseudonym: Pseudonym,
    alert_ids: Annotated[list[str] | None, Form(max_length=MAX_LIMIT)] = None,
    title: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """One case from the chosen alerts of this person (``create_from_alerts``); then the
    case. Alerts already in an open case are left out; if all are, the page says so."""
    queue = AlertQueue(store, settings)
    service = CaseService(store, settings)
    chosen = list(alert_ids or [])
    try:
        with event_store(settings) as events:
            theirs = queue.list(
                viewer.principal,
                events,
                AlertFilter(subject=pseudonym, review=Review.all),
                limit=MAX_LIMIT,
            ).items
            if not theirs:
                raise NotFoundError(f"no alerts about {pseudonym}")
            mine = [a for a in chosen if a in {x.alert_id for x in theirs}]
            if not mine:
                raise InputError("Choose at least one of their alerts for the case.")
            assert events is not None
            case = service.create_from_alerts(viewer.principal, mine, events, optional(title))
    except InputError as exc:
        return _show(request, viewer, store, settings, pseudonym, ActivityFilter(), exc.reason, 422)
    except ConflictError as exc:
        return _show(request, viewer, store, settings, pseudonym, ActivityFilter(), str(exc), 409)
    return RedirectResponse(f"/integrity/cases/{case.id}?done=opened", status_code=303)


def _show(
    request: Request,
    viewer: Viewer,
    store: CaseStore,
    settings: Settings,
    pseudonym: str,
    flt: ActivityFilter,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    staff = StaffService(store, settings)
    queue = AlertQueue(store, settings)
    with event_store(settings) as events:
        view = staff.profile(viewer.principal, events, pseudonym)
        alerts = queue.list(
            viewer.principal,
            events,
            AlertFilter(subject=pseudonym, review=Review.all),
            sort="-window_end",
            limit=MAX_LIMIT,
        )
        activity = _activity(staff, viewer, events, pseudonym, flt)
    cases = (
        CaseService(store, settings).list(viewer.principal, q=pseudonym, limit=20)
        if viewer.can(P.case_read)
        else None
    )
    here = url_with(
        f"/integrity/staff/{pseudonym}",
        {"family": list(flt.families), "start": _iso(flt.start), "end": _iso(flt.end)},
    )
    return render(
        request,
        "integrity/staff.html",
        {
            "title": f"Staff {pseudonym}",
            "scripts": (*SCRIPTS, *CHART_SCRIPTS),
            "view": view,
            "alerts": alerts.items,
            "open_ids": {
                a.alert_id for a in alerts.items if a.verdict is None and not a.suppressed
            },
            "cases": cases,
            "charts": (
                staff_charts.risk_history(view.history),
                staff_charts.peer_scores(view.peers, view.score or 0.0),
                staff_charts.activity_vs_peers(view.peers),
            ),
            "notice": notice(request),
            "error": error,
            "failed": "case" if error else None,
            "here": here,
            "can_open_case": viewer.can(P.case_create),
            "can_unmask": viewer.can(P.unmask_request) and view.actor_id is None,
            **_activity_context(pseudonym, activity),
        },
        status=status,
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None
