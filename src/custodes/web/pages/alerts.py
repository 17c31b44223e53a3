"""The alert queue (``/integrity/alerts``): the alerts waiting for an analyst, filtered and
paged, with verdicts given in bulk and alerts merged into a case.

Thin over the same services as the JSON API: ``detect.queue.AlertQueue`` lists and judges
(``/api/alerts``, ``/api/alerts/{id}/verdict``) and ``CaseService.create_from_alerts`` merges
(``/api/cases/from-alerts``).

**Dismissing is a false-positive verdict.** A dismissal has to teach detection, or the same
false alert comes back every day: so "dismiss" records a ``false_positive`` verdict with the
analyst's (required) reason, which takes the alert off the open queue and, repeated for a
person and pattern, mutes that pattern for them (``detect.feedback``). "Confirm" records a
``true_positive``; a closed case's outcome does the same for its alerts.

One form carries the ticked alerts to the three actions (each its own route and
permission, chosen by the button pressed); the checkboxes sit in the table and join the form
through their ``form`` attribute. A failed action shows the queue again with the ticks and
the reason kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from custodes.access.roles import Permission
from custodes.cases.service import CaseService
from custodes.config import Settings
from custodes.detect.alert import Severity
from custodes.detect.feedback import Verdict
from custodes.detect.queue import MAX_BATCH, SORTS, AlertFilter, AlertQueue, Review
from custodes.errors import ConflictError, InputError, NotFoundError, StoreError
from custodes.privacy.pseudonyms import is_pseudonym
from custodes.store.cases import CaseStore
from custodes.web.deps import SettingsDep, StoreDep, event_store
from custodes.web.pages.base import PageRoute, Viewer, local_path, page_requires, render
from custodes.web.pages.widgets import (
    PAGE_SIZE,
    Paging,
    back_to,
    bad_request,
    notice,
    optional,
    score_field,
    url_with,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

P = Permission
CanSeeAlerts = Annotated[Viewer, page_requires(P.alert_read)]
CanJudge = Annotated[Viewer, page_requires(P.alert_verdict)]
CanOpenCases = Annotated[Viewer, page_requires(P.case_create)]
Text = Annotated[str, Query(max_length=64)]
Picked = Annotated[list[str] | None, Form(max_length=MAX_BATCH)]
Next = Annotated[str, Form(alias="next", max_length=2048)]

QUEUE = "/integrity/alerts"
REVIEWS = {
    Review.open: "open (not judged yet)",
    Review.judged: "judged",
    Review.active: "active (judged or not)",
    Review.all: "all, muted ones too",
}
SORT_NAMES = {
    "-score": "highest score first",
    "score": "lowest score first",
    "-window_end": "newest first",
    "window_end": "oldest first",
}


@dataclass(frozen=True)
class QueueView:
    """The queue's filters, sort and page, as in its URL."""

    review: Review = Review.open
    category: str | None = None
    detector: str | None = None
    severity: Severity | None = None
    min_score: float = 0.0
    subject: str | None = None
    sort: str = "-score"
    page: int = 1

    @classmethod
    def parse(cls, fields: dict[str, str]) -> QueueView:
        """From the query's fields; a value no form of ours sends is a 400."""
        review, severity, sort = (
            fields.get("review") or "open",
            fields.get("severity") or "",
            fields.get("sort") or "-score",
        )
        page = fields.get("page") or "1"
        if review not in set(Review) or sort not in SORTS or not page.isdigit():
            raise bad_request("filter")
        if severity and severity not in set(Severity):
            raise bad_request("severity")
        return cls(
            review=Review(review),
            category=optional(fields.get("category", "")),
            detector=optional(fields.get("detector", "")),
            severity=Severity(severity) if severity else None,
            min_score=score_field(fields.get("min_score", "")),
            subject=_pseudonym(fields.get("subject", "")),
            sort=sort,
            page=max(1, min(int(page), 100_000)),
        )

    @classmethod
    def from_url(cls, url: str) -> QueueView:
        """The queue a form came from (its ``next``), to show it again."""
        request_url = local_path(url, QUEUE)
        return cls.parse(dict(parse_qsl(urlsplit(request_url).query)))

    def filter(self) -> AlertFilter:
        return AlertFilter(
            subject=self.subject,
            category=self.category,
            detector=self.detector,
            severity=self.severity,
            min_score=self.min_score,
            review=self.review,
        )

    def url(self, *, page: bool = True) -> str:
        return url_with(
            QUEUE,
            {
                "review": self.review.value,
                "category": self.category,
                "detector": self.detector,
                "severity": self.severity.value if self.severity else None,
                "min_score": f"{self.min_score:g}" if self.min_score else None,
                "subject": self.subject,
                "sort": self.sort if self.sort != "-score" else None,
                "page": str(self.page) if page and self.page > 1 else None,
            },
        )


@router.get(QUEUE, response_class=HTMLResponse)
def alert_queue(
    request: Request,
    viewer: CanSeeAlerts,
    store: StoreDep,
    settings: SettingsDep,
    review: Text = "open",
    category: Text = "",
    detector: Text = "",
    severity: Text = "",
    min_score: Text = "",
    subject: Text = "",
    sort: Text = "-score",
    page: Text = "1",
) -> HTMLResponse:
    """Alerts by score (open ones by default), PAGE_SIZE a page, with bulk actions."""
    view = QueueView.parse(
        {
            "review": review,
            "category": category,
            "detector": detector,
            "severity": severity,
            "min_score": min_score,
            "subject": subject,
            "sort": sort,
            "page": page,
        }
    )
    return _show(request, viewer, store, settings, view)


@router.post(f"{QUEUE}/verdict")
def judge(
    request: Request,
    viewer: CanJudge,
    store: StoreDep,
    settings: SettingsDep,
    verdict: Annotated[Verdict, Form()],
    alert_ids: Picked = None,
    reason: Annotated[str, Form(max_length=10_000)] = "",
    next_path: Next = QUEUE,
) -> Response:
    """Dismiss (false positive) or confirm (true positive) the ticked alerts, with one
    reason for all; audited per alert, as the API's verdicts are."""
    view = QueueView.from_url(next_path)
    picked = list(alert_ids or [])
    kept: dict[str, Any] = {"picked": set(picked), "reason": reason}
    if not picked:
        return _show(
            request, viewer, store, settings, view, "Tick at least one alert.", 422, **kept
        )
    if not reason.strip():
        return _show(
            request,
            viewer,
            store,
            settings,
            view,
            "Say why: a verdict needs a reason (it is kept with the verdict and in the audit log).",
            422,
            **kept,
        )
    queue = AlertQueue(store, settings)
    try:
        with event_store(settings, read_only=False) as events:
            if events is None:
                raise StoreError("there is no event store yet")
            records = queue.judge(viewer.principal, events, picked, verdict, reason)
    except NotFoundError:
        return _show(
            request,
            viewer,
            store,
            settings,
            view,
            "One of the ticked alerts is no longer there (detection may have run again): "
            "nothing was recorded. Check the list and try again.",
            409,
            **kept,
        )
    except InputError as exc:
        return _show(request, viewer, store, settings, view, _sentence(exc.reason), 422, **kept)
    done = "dismissed" if verdict is Verdict.false_positive else "confirmed"
    return RedirectResponse(back_to(view.url(), QUEUE, done=done, n=len(records)), 303)


@router.post(f"{QUEUE}/case")
def merge(
    request: Request,
    viewer: CanOpenCases,
    store: StoreDep,
    settings: SettingsDep,
    alert_ids: Picked = None,
    title: Annotated[str, Form(max_length=300)] = "",
    reason: Annotated[str, Form(max_length=10_000)] = "",
    next_path: Next = QUEUE,
) -> Response:
    """One case from the ticked alerts, which must all be about one person; then the case."""
    view = QueueView.from_url(next_path)
    picked = list(alert_ids or [])
    kept: dict[str, Any] = {"picked": set(picked), "reason": reason, "case_title": title}
    service = CaseService(store, settings)
    try:
        with event_store(settings) as events:
            if events is None:
                raise StoreError("there is no event store yet")
            if not picked:
                raise InputError("Tick the alerts to put in the case.")
            case = service.create_from_alerts(viewer.principal, picked, events, optional(title))
    except InputError as exc:
        return _show(request, viewer, store, settings, view, _sentence(exc.reason), 422, **kept)
    except ConflictError as exc:
        return _show(request, viewer, store, settings, view, _sentence(str(exc)), 409, **kept)
    return RedirectResponse(f"/integrity/cases/{case.id}?done=opened", status_code=303)


def _pseudonym(text: str) -> str | None:
    """A typed pseudonym as pseudonyms are written (``s-abc…`` is ``S-ABC…``)."""
    found = optional(text)
    return found.upper() if found and is_pseudonym(found.upper()) else found


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _show(
    request: Request,
    viewer: Viewer,
    store: CaseStore,
    settings: Settings,
    view: QueueView,
    error: str | None = None,
    status: int = 200,
    *,
    picked: set[str] | None = None,
    reason: str = "",
    case_title: str = "",
) -> HTMLResponse:
    queue = AlertQueue(store, settings)
    with event_store(settings) as events:
        found = queue.list(
            viewer.principal,
            events,
            view.filter(),
            sort=view.sort,
            limit=PAGE_SIZE,
            offset=(view.page - 1) * PAGE_SIZE,
        )
        choices = queue.choices(viewer.principal, events)
    if found.total and not found.items and view.page > 1:  # past the end: the last page
        last = (found.total - 1) // PAGE_SIZE + 1
        return _show(request, viewer, store, settings, replace(view, page=last), error, status)
    here = view.url()
    return render(
        request,
        "integrity/alerts.html",
        {
            "title": "Alert queue",
            "view": view,
            "alerts": found.items,
            "paging": Paging(view.url(page=False), view.page, PAGE_SIZE, found.total),
            "choices": choices,
            "reviews": REVIEWS,
            "sorts": SORT_NAMES,
            "severities": [s.value for s in Severity],
            "notice": notice(request),
            "error": error,
            "failed": "bulk" if error else None,
            "here": here,
            "picked": picked or set(),
            "reason": reason,
            "case_title": case_title,
            "can_judge": viewer.can(P.alert_verdict),
            "can_open_case": viewer.can(P.case_create),
        },
        status=status,
    )
