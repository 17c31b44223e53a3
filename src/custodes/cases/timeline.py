"""The forensic timeline: a case's subjects' events around its alerts, oldest first.

Around = from a day before the earliest alert window to a day after the latest (or the range
the caller asks for); a case made by hand, without alerts, looks at the 30 days before it was
opened. Each event says whether one of the case's alerts cited it, so the analyst sees the
alert in its context rather than alone. Reading it is audited: it is raw activity of a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from sqlalchemy import func, select

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.cases.events import EventFilter, alert_evidence_ids, fetch
from custodes.cases.views import FAMILIES, Timeline, TimelineEvent, utc
from custodes.errors import InputError
from custodes.model.vocabulary import family_of
from custodes.store.events import EventStore
from custodes.store.schema import CaseAlert, CaseSubject

if TYPE_CHECKING:
    from custodes.cases.service import CaseService

MARGIN: Final = timedelta(days=1)
MANUAL_LOOKBACK: Final = timedelta(days=30)
MAX_LIMIT: Final = 10_000


def build(
    service: CaseService,
    principal: Principal,
    case_id: int,
    events: EventStore,
    *,
    families: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
) -> Timeline:
    principal.require(Permission.case_read)
    principal.require(Permission.evidence_read)
    chosen = sorted(set(families or []))
    for family in chosen:
        if family not in FAMILIES:
            raise InputError(
                f"unknown action family {family!r} (one of {', '.join(FAMILIES)})",
                field="families",
            )
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit must be within 1..{MAX_LIMIT}", field="limit")
    with service._write() as session:
        case = service._load(session, principal, case_id)
        subjects: dict[str, str] = dict(
            session.execute(
                select(CaseSubject.actor_id, CaseSubject.pseudonym).where(
                    CaseSubject.case_id == case.id
                )
            ).all()
        )
        first, last = session.execute(
            select(func.min(CaseAlert.window_start), func.max(CaseAlert.window_end)).where(
                CaseAlert.case_id == case.id
            )
        ).one()
        lo, hi = _window(utc(case.created_at), utc(first), utc(last), utc(start), utc(end))
        if hi <= lo:
            raise InputError("the timeline's end must be after its start", field="end")
        rows = fetch(
            events,
            EventFilter(actors=sorted(subjects), start=lo, end=hi, families=chosen),
            limit=limit + 1,
        )
        alert_ids = list(
            session.scalars(select(CaseAlert.alert_id).where(CaseAlert.case_id == case.id))
        )
        cited = alert_evidence_ids(events, alert_ids)
        unmasked = service._unmasked(session, principal)
        items = [
            TimelineEvent(
                event_id=str(r["event_id"]),
                ts=utc(r["ts"]) or r["ts"],
                subject=subjects[r["actor_id"]],
                actor_id=r["actor_id"] if subjects[r["actor_id"]] in unmasked else None,
                action=r["action"],
                family=family_of(r["action"]),
                target_type=r["target_type"],
                target_id=r["target_id"],
                outcome=r["outcome"],
                source=r["source"],
                country=r["country"],
                alert_evidence=str(r["event_id"]) in cited,
            )
            for r in rows[:limit]
        ]
        shown = sorted({e.subject for e in items if e.actor_id is not None})
        service._audit(
            session,
            principal,
            "case.timeline",
            case.id,
            detail={
                "start": lo.isoformat(),
                "end": hi.isoformat(),
                "families": chosen,
                "events": len(items),
                **({"unmasked": shown} if shown else {}),
            },
        )
        return Timeline(
            case_id=case.id,
            window_start=lo,
            window_end=hi,
            families=chosen,
            events=items,
            truncated=len(rows) > limit,
        )


def _window(
    opened: datetime | None,
    first: datetime | None,
    last: datetime | None,
    start: datetime | None,
    end: datetime | None,
) -> tuple[datetime, datetime]:
    assert opened is not None
    lo = start or (first - MARGIN if first else opened - MANUAL_LOOKBACK)
    hi = end or (last + MARGIN if last else opened + MARGIN)
    return lo, hi
