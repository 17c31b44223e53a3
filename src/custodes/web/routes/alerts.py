"""Alerts from detection (read from the event store, read-only, per request), and analysts'
verdicts on them. Every route is a call into ``detect.queue.AlertQueue`` (the alert-queue page
uses it too): subjects appear as pseudonyms, in the fields and inside the reasons' text; the
real actor id only beside a pseudonym the caller has unmasked right now (audited)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from custodes.detect.alert import Severity
from custodes.detect.queue import AlertFilter, AlertQueue, AlertView, Review
from custodes.errors import NotFoundError
from custodes.web.deps import (
    CanJudgeAlerts,
    CanReadAlerts,
    PageDep,
    SettingsDep,
    StoreDep,
    event_store,
)
from custodes.web.schemas.alerts import AlertPublic, VerdictIn, VerdictOut
from custodes.web.schemas.common import Page

router = APIRouter(prefix="/alerts", tags=["alerts"])

AlertId = Annotated[str, Path(min_length=1, max_length=64)]
AlertSort = Literal["-score", "score", "-window_end", "window_end"]


def get_queue(store: StoreDep, settings: SettingsDep) -> AlertQueue:
    return AlertQueue(store, settings)


Queue = Annotated[AlertQueue, Depends(get_queue)]


def _public(alert: AlertView) -> AlertPublic:
    return AlertPublic(
        alert_id=alert.alert_id,
        subject=alert.subject,
        actor_id=alert.actor_id,
        detector=alert.detector,
        category=alert.category,
        pattern=alert.pattern,
        severity=alert.severity,
        score=alert.score,
        window_start=alert.window_start,
        window_end=alert.window_end,
        reasons=list(alert.reasons),
        evidence_event_ids=list(alert.evidence_event_ids),
        suppressed=alert.suppressed is not None,
    )


@router.get("", response_model=Page[AlertPublic])
def list_alerts(
    principal: CanReadAlerts,
    queue: Queue,
    settings: SettingsDep,
    page: PageDep,
    subject: Annotated[str | None, Query(max_length=32, description="A pseudonym.")] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    detector: Annotated[str | None, Query(max_length=64)] = None,
    severity: Severity | None = None,
    min_score: Annotated[float, Query(ge=0.0, le=1.0)] = 0.0,
    include_suppressed: bool = False,
    sort: AlertSort = "-score",
) -> Page[AlertPublic]:
    flt = AlertFilter(
        subject=subject,
        category=category,
        detector=detector,
        severity=severity,
        min_score=min_score,
        review=Review.all if include_suppressed else Review.active,
    )
    with event_store(settings) as events:
        found = queue.list(principal, events, flt, sort=sort, limit=page.limit, offset=page.offset)
    return Page(
        items=[_public(a) for a in found.items],
        total=found.total,
        limit=found.limit,
        offset=found.offset,
    )


@router.get("/{alert_id}", response_model=AlertPublic)
def get_alert(
    alert_id: AlertId, principal: CanReadAlerts, queue: Queue, settings: SettingsDep
) -> AlertPublic:
    with event_store(settings) as events:
        return _public(queue.get(principal, events, alert_id))


@router.post("/{alert_id}/verdict", response_model=VerdictOut)
def judge_alert(
    alert_id: AlertId,
    body: VerdictIn,
    principal: CanJudgeAlerts,
    queue: Queue,
    settings: SettingsDep,
) -> VerdictOut:
    """Record a true/false-positive verdict (feeds detection's muting and calibration)."""
    with event_store(settings, read_only=False) as events:
        if events is None:
            raise NotFoundError(f"no alert {alert_id}")
        (record,) = queue.judge(principal, events, [alert_id], body.verdict, body.reason)
    return VerdictOut(
        alert_id=record.alert_id,
        verdict=record.verdict,
        reason=record.reason,
        analyst=record.analyst,
        decided_at=record.decided_at,
        subject=queue.pseudonyms.of(record.actor_id),
    )
