"""Alerts from detection (read from the event store, read-only, per request), and analysts'
verdicts on them. Subjects appear as pseudonyms, in the fields and inside the reasons' text;
the real actor id only beside a pseudonym the caller has unmasked right now (audited)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from custodes import audit
from custodes.access.principal import Principal
from custodes.detect.alert import Alert, Severity
from custodes.errors import InputError, NotFoundError
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.privacy.unmasking import active_pseudonyms
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
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


def _load(events: EventStore | None) -> tuple[list[Alert], set[str], set[str]]:
    """Every alert, the ids of those not suppressed, and every known actor id (to mask)."""
    if events is None:
        return [], set(), set()
    from custodes.cases.events import staff_ids
    from custodes.detect.results import load_alerts

    everything = load_alerts(events, include_suppressed=True)
    active = {a.alert_id for a in load_alerts(events)}
    return everything, active, staff_ids(events) | {a.actor_id for a in everything}


def _public(
    alert: Alert, suppressed: bool, names: Pseudonyms, known: set[str], unmasked: set[str]
) -> AlertPublic:
    subject = names.of(alert.actor_id)
    return AlertPublic(
        alert_id=alert.alert_id,
        subject=subject,
        actor_id=alert.actor_id if subject in unmasked else None,
        detector=alert.detector,
        category=alert.category,
        pattern=names.mask(alert.pattern, known),
        severity=alert.severity,
        score=alert.score,
        window_start=alert.window_start,
        window_end=alert.window_end,
        reasons=[names.mask(r, known) for r in alert.reasons],
        evidence_event_ids=list(alert.evidence_event_ids),
        suppressed=suppressed,
    )


def _unmasked(store: CaseStore, principal: Principal, shown: list[AlertPublic]) -> None:
    """Audit that real ids were shown, if any were."""
    revealed = sorted({a.subject for a in shown if a.actor_id is not None})
    if revealed:
        with store.write() as session:
            audit.append(
                session,
                actor=principal.username,
                action="alert.read_unmasked",
                target_type="subject",
                target_id=revealed[0],
                detail={"pseudonyms": revealed},
            )


@router.get("", response_model=Page[AlertPublic])
def list_alerts(
    principal: CanReadAlerts,
    store: StoreDep,
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
    names = Pseudonyms.load(store, settings)
    with event_store(settings) as events:
        alerts, active, known = _load(events)
    rows = [
        a
        for a in alerts
        if (include_suppressed or a.alert_id in active)
        and (category is None or a.category == category)
        and (detector is None or a.detector == detector)
        and (severity is None or a.severity == severity)
        and a.score >= min_score
        and (subject is None or names.of(a.actor_id) == subject)
    ]
    key = sort.lstrip("-")
    rows.sort(key=lambda a: a.alert_id)
    rows.sort(
        key=lambda a: a.score if key == "score" else a.window_end.timestamp(),
        reverse=sort.startswith("-"),
    )
    with store.read() as session:
        unmasked = active_pseudonyms(session, principal)
    items = [
        _public(a, a.alert_id not in active, names, known, unmasked)
        for a in rows[page.offset : page.offset + page.limit]
    ]
    _unmasked(store, principal, items)
    return Page(items=items, total=len(rows), limit=page.limit, offset=page.offset)


@router.get("/{alert_id}", response_model=AlertPublic)
def get_alert(
    alert_id: AlertId, principal: CanReadAlerts, store: StoreDep, settings: SettingsDep
) -> AlertPublic:
    names = Pseudonyms.load(store, settings)
    with event_store(settings) as events:
        alerts, active, known = _load(events)
    found = next((a for a in alerts if a.alert_id == alert_id), None)
    if found is None:
        raise NotFoundError(f"no alert {alert_id}")
    with store.read() as session:
        unmasked = active_pseudonyms(session, principal)
    item = _public(found, alert_id not in active, names, known, unmasked)
    _unmasked(store, principal, [item])
    return item


@router.post("/{alert_id}/verdict", response_model=VerdictOut)
def judge_alert(
    alert_id: AlertId,
    body: VerdictIn,
    principal: CanJudgeAlerts,
    store: StoreDep,
    settings: SettingsDep,
) -> VerdictOut:
    """Record a true/false-positive verdict (feeds detection's muting and calibration)."""
    from custodes.detect.feedback import record_verdict

    names = Pseudonyms.load(store, settings)
    with event_store(settings, read_only=False) as events:
        if events is None:
            raise NotFoundError(f"no alert {alert_id}")
        try:
            record = record_verdict(events, alert_id, body.verdict, body.reason, principal.username)
        except InputError as exc:
            if exc.field == "alert_id":
                raise NotFoundError(f"no alert {alert_id}") from None
            raise
    with store.write() as session:
        audit.append(
            session,
            actor=principal.username,
            action="alert.verdict",
            target_type="alert",
            target_id=alert_id,
            reason=record.reason,
            detail={"verdict": str(record.verdict)},
        )
    return VerdictOut(
        alert_id=record.alert_id,
        verdict=record.verdict,
        reason=record.reason,
        analyst=record.analyst,
        decided_at=record.decided_at,
        subject=names.of(record.actor_id),
    )
