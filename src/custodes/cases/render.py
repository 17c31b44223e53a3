"""ORM rows → views. The one place that decides what a caller sees of a case, so the rule
"pseudonyms, and a real id only where unmasked right now" cannot be forgotten by one view."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from custodes.cases.views import (
    CaseAlertView,
    CaseDetail,
    CaseSummary,
    LinkView,
    NoteView,
    SubjectView,
    TaskView,
    UserRef,
    utc,
)
from custodes.cases.workflow import LinkKind, Outcome, Status
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.store.schema import (
    Case,
    CaseAlert,
    CaseLink,
    CaseMember,
    CaseSubject,
    Note,
    Task,
    User,
)


def _ts(value: datetime) -> datetime:
    out = utc(value)
    assert out is not None
    return out


def users(session: Session, ids: Iterable[int | None]) -> dict[int, UserRef]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(wanted)))
    return {r[0]: UserRef(id=r[0], username=r[1]) for r in rows}


def subject(pseudonym: str, actor_id: str, unmasked: set[str]) -> SubjectView:
    return SubjectView(pseudonym=pseudonym, actor_id=actor_id if pseudonym in unmasked else None)


def summaries(session: Session, cases: Sequence[Case], unmasked: set[str]) -> list[CaseSummary]:
    ids = [c.id for c in cases]
    subjects: dict[int, list[SubjectView]] = defaultdict(list)
    alerts: dict[int, int] = {}
    if ids:
        for row in session.execute(
            select(CaseSubject.case_id, CaseSubject.pseudonym, CaseSubject.actor_id)
            .where(CaseSubject.case_id.in_(ids))
            .order_by(CaseSubject.case_id, CaseSubject.pseudonym)
        ):
            subjects[row[0]].append(subject(row[1], row[2], unmasked))
        alerts = dict(
            session.execute(
                select(CaseAlert.case_id, func.count())
                .where(CaseAlert.case_id.in_(ids))
                .group_by(CaseAlert.case_id)
            ).all()
        )
    people = users(session, (c.assignee_id for c in cases))
    return [
        CaseSummary(**_summary_fields(c, people, subjects[c.id], alerts.get(c.id, 0)))
        for c in cases
    ]


def _summary_fields(
    case: Case, people: dict[int, UserRef], subjects: list[SubjectView], alert_count: int
) -> dict[str, Any]:
    return {
        "id": case.id,
        "title": case.title,
        "category": case.category,
        "severity": case.severity,
        "status": Status(case.status),
        "outcome": Outcome(case.outcome) if case.outcome else None,
        "assignee": people.get(case.assignee_id) if case.assignee_id else None,
        "subjects": subjects,
        "tags": list(case.tags or []),
        "restricted": case.restricted,
        "alert_count": alert_count,
        "created_at": _ts(case.created_at),
        "updated_at": _ts(case.updated_at),
        "due_at": utc(case.due_at),
        "closed_at": utc(case.closed_at),
        "version": case.version,
    }


def detail(session: Session, case: Case, unmasked: set[str], pseudonyms: Pseudonyms) -> CaseDetail:
    subject_rows = session.execute(
        select(CaseSubject.pseudonym, CaseSubject.actor_id)
        .where(CaseSubject.case_id == case.id)
        .order_by(CaseSubject.pseudonym)
    ).all()
    subjects = [subject(p, a, unmasked) for p, a in subject_rows]
    actors = {a for _, a in subject_rows}
    alert_rows = session.scalars(
        select(CaseAlert)
        .where(CaseAlert.case_id == case.id)
        .order_by(CaseAlert.window_start, CaseAlert.alert_id)
    ).all()
    actors |= {a.actor_id for a in alert_rows}
    member_ids = session.scalars(
        select(CaseMember.user_id).where(CaseMember.case_id == case.id)
    ).all()
    notes = session.scalars(
        select(Note).where(Note.case_id == case.id).order_by(Note.created_at, Note.id)
    ).all()
    tasks = session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.id)).all()
    link_rows = session.scalars(
        select(CaseLink).where(or_(CaseLink.case_id == case.id, CaseLink.other_id == case.id))
    ).all()
    people = users(
        session,
        [case.assignee_id, case.created_by, *member_ids, *(n.author_id for n in notes)],
    )
    return CaseDetail(
        **_summary_fields(case, people, subjects, len(alert_rows)),
        description=case.description,
        created_by=people.get(case.created_by) if case.created_by else None,
        members=sorted((people[m] for m in member_ids if m in people), key=lambda u: u.id),
        alerts=[
            CaseAlertView(
                alert_id=a.alert_id,
                subject=pseudonyms.of(a.actor_id),
                detector=a.detector,
                category=a.category,
                pattern=a.pattern,
                score=a.score,
                window_start=_ts(a.window_start),
                window_end=_ts(a.window_end),
                # Detectors may name people in reasons; views name pseudonyms.
                reasons=[pseudonyms.mask(r, actors) for r in a.reasons or []],
                verdict=a.verdict,
                synced_at=utc(a.synced_at),
            )
            for a in alert_rows
        ],
        links=sorted(
            (
                LinkView(
                    case_id=link.other_id if link.case_id == case.id else link.case_id,
                    kind=LinkKind(link.kind),
                    direction="out" if link.case_id == case.id else "in",
                )
                for link in link_rows
            ),
            key=lambda v: (v.case_id, v.direction),
        ),
        tasks=[task(t) for t in tasks],
        notes=[note(n, people) for n in notes],
    )


def task(row: Task) -> TaskView:
    return TaskView(
        id=row.id,
        case_id=row.case_id,
        title=row.title,
        done=row.done,
        assignee_id=row.assignee_id,
        due_at=utc(row.due_at),
        created_at=_ts(row.created_at),
        version=row.version,
    )


def note(row: Note, people: dict[int, UserRef]) -> NoteView:
    return NoteView(
        id=row.id,
        case_id=row.case_id,
        author=people.get(row.author_id) if row.author_id else None,
        body=row.body,
        created_at=_ts(row.created_at),
    )
