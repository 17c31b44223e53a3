"""Evidence: a saved set of events, or a saved query with the hash of its result.

Why a hash: a finding may be challenged months later (an appeal, a tribunal). The SHA-256 of
the captured events' canonical JSON, with the time of capture, lets anyone re-run the same
selection and show the evidence is unchanged (:func:`check`) — or show exactly that it is not.
Evidence only ever covers the events of the case's own subjects.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.cases import render
from custodes.cases.events import EventFilter, content_hash, fetch
from custodes.cases.views import (
    EvidenceCheck,
    EvidenceCreate,
    EvidenceQuery,
    EvidenceView,
    UserRef,
    utc,
)
from custodes.clock import utc_now_aware
from custodes.errors import InputError, NotFoundError
from custodes.store.events import EventStore
from custodes.store.schema import Case, CaseSubject, Evidence

if TYPE_CHECKING:
    from custodes.cases.service import CaseService

MAX_QUERY_ROWS = 100_000


def add(
    service: CaseService,
    principal: Principal,
    case_id: int,
    data: EvidenceCreate,
    events: EventStore,
) -> EvidenceView:
    principal.require(Permission.evidence_add)
    with service._write() as session:
        case = service._open_case(session, principal, case_id)
        subjects = _subjects(session, case)
        query_text: str | None = None
        if data.kind == "events":
            if not data.event_ids:
                raise InputError("saved events need at least one event id", field="event_ids")
            if data.query is not None:
                raise InputError("saved events take event ids, not a query", field="query")
            wanted = sorted(set(data.event_ids))
            rows = fetch(events, EventFilter(actors=list(subjects.values()), event_ids=wanted))
            missing = sorted(set(wanted) - {str(r["event_id"]) for r in rows})
            if missing:
                raise InputError(
                    f"event {missing[0]} is not an event of this case's subjects",
                    field="event_ids",
                )
        else:
            if data.query is None:
                raise InputError("a saved query needs its query", field="query")
            if data.event_ids:
                raise InputError("a saved query takes a query, not event ids", field="event_ids")
            rows = _run(events, data.query, subjects)
            query_text = json.dumps(data.query.model_dump(mode="json"), sort_keys=True)
        row = Evidence(
            case_id=case.id,
            kind=data.kind,
            title=data.title,
            query=query_text,
            event_ids=sorted(str(r["event_id"]) for r in rows),
            row_count=len(rows),
            content_hash=content_hash(rows),
            captured_at=utc_now_aware(),
            added_by=principal.user_id,
        )
        session.add(row)
        session.flush()
        service._audit(
            session,
            principal,
            "evidence.add",
            case.id,
            detail={
                "evidence_id": row.id,
                "kind": row.kind,
                "row_count": row.row_count,
                "content_hash": row.content_hash,
            },
        )
        return _view(row, render.users(session, [row.added_by]))


def list_for(service: CaseService, principal: Principal, case_id: int) -> list[EvidenceView]:
    """A case's evidence, oldest first; an audited read."""
    principal.require(Permission.evidence_read)
    with service._write() as session:
        case = service._load(session, principal, case_id)
        rows = session.scalars(
            select(Evidence).where(Evidence.case_id == case.id).order_by(Evidence.id)
        ).all()
        people = render.users(session, (r.added_by for r in rows))
        service._audit(
            session, principal, "evidence.read", case.id, detail={"evidence": [r.id for r in rows]}
        )
        return [_view(r, people) for r in rows]


def check(
    service: CaseService,
    principal: Principal,
    case_id: int,
    evidence_id: int,
    events: EventStore,
) -> EvidenceCheck:
    """Re-select the evidence's events now and compare hashes (audited)."""
    principal.require(Permission.evidence_read)
    with service._write() as session:
        case = service._load(session, principal, case_id)
        row = session.get(Evidence, evidence_id)
        if row is None or row.case_id != case.id:
            raise NotFoundError(f"no evidence {evidence_id} in case {case_id}")
        subjects = _subjects(session, case)
        if row.kind == "query" and row.query:
            query = EvidenceQuery.model_validate(json.loads(row.query))
            rows = _run(events, query, subjects)
        else:
            rows = fetch(
                events, EventFilter(actors=list(subjects.values()), event_ids=list(row.event_ids))
            )
        current = content_hash(rows)
        result = EvidenceCheck(
            evidence_id=row.id,
            ok=current == row.content_hash,
            captured_hash=row.content_hash,
            current_hash=current,
            row_count=len(rows),
        )
        service._audit(
            session,
            principal,
            "evidence.verify",
            case.id,
            detail={"evidence_id": row.id, "ok": result.ok},
        )
        return result


def _subjects(session: Session, case: Case) -> dict[str, str]:
    """pseudonym → actor id for the case's subjects."""
    rows = session.execute(
        select(CaseSubject.pseudonym, CaseSubject.actor_id).where(CaseSubject.case_id == case.id)
    )
    return {r[0]: r[1] for r in rows}


def _run(
    events: EventStore, query: EvidenceQuery, subjects: dict[str, str]
) -> list[dict[str, object]]:
    actor = subjects.get(query.subject)
    if actor is None:
        raise InputError(f"{query.subject} is not a subject of this case", field="query.subject")
    if query.end <= query.start:
        raise InputError("the query's end must be after its start", field="query.end")
    rows = fetch(
        events,
        EventFilter(
            actors=[actor],
            start=query.start,
            end=query.end,
            families=query.families,
            actions=query.actions,
        ),
        limit=MAX_QUERY_ROWS + 1,
    )
    if len(rows) > MAX_QUERY_ROWS:
        raise InputError(
            f"the query selects more than {MAX_QUERY_ROWS} events; narrow it", field="query"
        )
    return rows


def _view(row: Evidence, people: dict[int, UserRef]) -> EvidenceView:
    captured = utc(row.captured_at)
    assert captured is not None
    return EvidenceView(
        id=row.id,
        case_id=row.case_id,
        kind="query" if row.kind == "query" else "events",
        title=row.title,
        query=json.loads(row.query) if row.query else None,
        event_ids=list(row.event_ids or []),
        row_count=row.row_count,
        content_hash=row.content_hash,
        captured_at=captured,
        added_by=people.get(row.added_by) if row.added_by else None,
    )
