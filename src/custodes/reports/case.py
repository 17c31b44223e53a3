"""The case report: one case as a document to hand to HR or legal — the case, its alerts,
notes, outcome, evidence with hashes, the forensic timeline and the case's audit trail.

Why its own audited read: the document carries everything the case detail, the evidence
list and the timeline show, about one person, and leaves the system as a file. So making it
needs what reading those needs (``case.read`` through need-to-know, ``evidence.read``), and
it appends one ``case.report`` audit row naming the unmasked pseudonyms, if any; the
document names that row, so a recipient can find its making in the log.

Pseudonyms unless the requesting user holds an active unmask grant for a subject right now
(``custodes.privacy.unmasking``): then that subject appears with its real id, and the audit
row says so. Free text written by people (description, notes, alert reasons, audit reasons)
has every staff id it names masked too, not only the subjects' — a note may name a witness.

The audit trail (the case's own rows, and unmasking of its subjects) is shown to holders of
``audit.read`` only, as the audit log itself is; for others the document says it was left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.audit import append
from custodes.cases import render
from custodes.cases.events import EventFilter, alert_evidence_ids, fetch, naive_utc, staff_ids
from custodes.cases.timeline import MANUAL_LOOKBACK, MARGIN
from custodes.cases.views import CaseDetail
from custodes.cases.visibility import visible
from custodes.clock import utc_now_aware
from custodes.errors import NotFoundError
from custodes.model.vocabulary import family_of
from custodes.privacy import unmasking
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from custodes.store.schema import AuditEntry, Case, CaseAlert, CaseSubject, Evidence, User
from custodes.triage.clocks import aware

TIMELINE_LIMIT: Final = 1000  # events listed, as `custodes case timeline` shows; the rest counted
Mask = Callable[[str], str]  # free text in, the same with staff ids masked out


@dataclass(frozen=True)
class Subject:
    pseudonym: str
    actor_id: str | None  # only while the requester has it unmasked


@dataclass(frozen=True)
class NoteItem:
    author: str
    at: datetime
    body: str


@dataclass(frozen=True)
class EvidenceItem:
    id: int
    kind: str
    title: str
    query: str | None
    row_count: int
    content_hash: str
    captured_at: datetime
    added_by: str


@dataclass(frozen=True)
class TimelineItem:
    ts: datetime
    subject: str
    action: str
    family: str
    target: str
    outcome: str
    source: str
    country: str
    cited: bool  # behind one of the case's alerts


@dataclass(frozen=True)
class AuditItem:
    seq: int
    at: datetime
    actor: str
    action: str
    reason: str
    detail: str
    hash: str


@dataclass(frozen=True)
class CaseReport:
    case: CaseDetail
    description: str
    notes: tuple[NoteItem, ...]
    subjects: tuple[Subject, ...]
    unmasked: tuple[str, ...]
    evidence: tuple[EvidenceItem, ...]
    has_events: bool
    timeline_start: datetime
    timeline_end: datetime
    timeline: tuple[TimelineItem, ...]
    timeline_total: int  # events in the window (more than listed when truncated)
    audit: tuple[AuditItem, ...] | None  # None: the requester may not read the audit log
    generated_at: datetime
    generated_by: str
    reason: str
    audit_seq: int  # the audit row recording this report's making

    @property
    def timeline_truncated(self) -> bool:
        return self.timeline_total > len(self.timeline)


def build(
    principal: Principal,
    store: CaseStore,
    events: EventStore | None,
    case_id: int,
    pseudonyms: Pseudonyms,
    *,
    reason: str = "",
) -> CaseReport:
    """Read the case and everything the document shows, then audit the read
    (``case.report``) in a short write of its own, as the case detail does."""
    principal.require(Permission.case_read)
    principal.require(Permission.evidence_read)
    with store.read() as session:
        row = session.scalars(select(Case).where(Case.id == case_id, visible(principal))).first()
        if row is None:
            raise NotFoundError(f"no case {case_id}")
        unmasked = unmasking.active_pseudonyms(session, principal)
        detail = render.detail(session, row, unmasked, pseudonyms)
        subjects = dict(
            session.execute(
                select(CaseSubject.actor_id, CaseSubject.pseudonym).where(
                    CaseSubject.case_id == row.id
                )
            ).all()
        )
        alert_actors = set(
            session.scalars(select(CaseAlert.actor_id).where(CaseAlert.case_id == row.id))
        )
        hidden = {a for a, p in subjects.items() if p not in unmasked} | (
            alert_actors - set(subjects)
        )
        if events is not None:
            hidden |= staff_ids(events) - {a for a, p in subjects.items() if p in unmasked}

        def mask(text: str) -> str:
            return pseudonyms.mask(text, hidden)

        # The document carries only masked free text, even in the parts it does not show.
        detail = detail.model_copy(
            update={
                "title": mask(detail.title),
                "description": mask(detail.description),
                "notes": [n.model_copy(update={"body": mask(n.body)}) for n in detail.notes],
                "tasks": [t.model_copy(update={"title": mask(t.title)}) for t in detail.tasks],
            }
        )
        names = _usernames(session)
        notes = tuple(
            NoteItem(n.author.username if n.author else "", n.created_at, n.body)
            for n in detail.notes
        )
        evidence = _evidence(session, row.id, names, mask)
        audit = (
            _audit(session, row.id, list(subjects.values()), mask)
            if principal.can(Permission.audit_read)
            else None
        )
        first, last = session.execute(
            select(func.min(CaseAlert.window_start), func.max(CaseAlert.window_end)).where(
                CaseAlert.case_id == row.id
            )
        ).one()
        opened, case_pk = aware(row.created_at), row.id

    start = aware(first) - MARGIN if first else opened - MANUAL_LOOKBACK
    end = aware(last) + MARGIN if last else opened + MARGIN
    timeline, total = _timeline(
        events, subjects, unmasked, start, end, [a.alert_id for a in detail.alerts], mask
    )
    shown = sorted(p for p in subjects.values() if p in unmasked)
    with store.write() as session:
        entry = append(
            session,
            actor=principal.username,
            action="case.report",
            target_type="case",
            target_id=case_pk,
            reason=reason.strip(),
            detail={
                "evidence": len(evidence),
                "timeline_events": len(timeline),
                **({"unmasked": shown} if shown else {}),
            },
        )
        seq = entry.seq
    return CaseReport(
        case=detail,
        description=detail.description,
        notes=notes,
        subjects=tuple(
            Subject(p, a if p in unmasked else None) for a, p in sorted(subjects.items(), key=_by_p)
        ),
        unmasked=tuple(shown),
        evidence=evidence,
        has_events=events is not None,
        timeline_start=start,
        timeline_end=end,
        timeline=timeline,
        timeline_total=total,
        audit=audit,
        generated_at=utc_now_aware(),
        generated_by=principal.username,
        reason=reason.strip(),
        audit_seq=seq,
    )


def _by_p(item: tuple[str, str]) -> str:
    return item[1]


def _usernames(session: Session) -> dict[int, str]:
    return {int(i): str(n) for i, n in session.execute(select(User.id, User.username))}


def _evidence(
    session: Session, case_id: int, names: dict[int, str], mask: Mask
) -> tuple[EvidenceItem, ...]:
    rows = session.scalars(
        select(Evidence).where(Evidence.case_id == case_id).order_by(Evidence.id)
    ).all()
    return tuple(
        EvidenceItem(
            id=e.id,
            kind=e.kind,
            title=mask(e.title),
            query=e.query,
            row_count=e.row_count,
            content_hash=e.content_hash,
            captured_at=aware(e.captured_at),
            added_by=names.get(e.added_by, "") if e.added_by is not None else "",
        )
        for e in rows
    )


def _audit(
    session: Session, case_id: int, pseudonyms: Iterable[str], mask: Mask
) -> tuple[AuditItem, ...]:
    """The case's own rows and the unmasking of its subjects, in chain order."""
    about = [
        and_(AuditEntry.target_type == "case", AuditEntry.target_id == str(case_id)),
    ]
    names = sorted(pseudonyms)
    if names:
        about.append(and_(AuditEntry.target_type == "subject", AuditEntry.target_id.in_(names)))
    rows = session.scalars(select(AuditEntry).where(or_(*about)).order_by(AuditEntry.seq)).all()
    return tuple(
        AuditItem(
            seq=r.seq,
            at=aware(r.at),
            actor=r.actor,
            action=r.action,
            reason=mask(r.reason),
            detail=mask(_detail_text(r.detail)),
            hash=r.hash,
        )
        for r in rows
    )


def _detail_text(stored: str) -> str:
    """``{"a":1,"b":[2]}`` → ``a=1, b=[2]`` (the stored canonical JSON, for people)."""
    try:
        data = json.loads(stored)
    except ValueError:
        return stored
    if not isinstance(data, dict):
        return stored
    return ", ".join(
        f"{k}={v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
        for k, v in data.items()
    )


def _timeline(
    events: EventStore | None,
    subjects: dict[str, str],
    unmasked: set[str],
    start: datetime,
    end: datetime,
    alert_ids: list[str],
    mask: Mask,
) -> tuple[tuple[TimelineItem, ...], int]:
    if events is None or not subjects:
        return (), 0
    flt = EventFilter(actors=sorted(subjects), start=start, end=end)
    rows = fetch(events, flt, limit=TIMELINE_LIMIT)
    total = len(rows)
    if total >= TIMELINE_LIMIT:
        counted = events.fetch_value(
            f"SELECT count(*) FROM events WHERE actor_id IN ({', '.join('?' for _ in subjects)}) "
            "AND ts >= ? AND ts < ?",
            [*sorted(subjects), naive_utc(start), naive_utc(end)],
        )
        total = int(counted or total)
    cited = alert_evidence_ids(events, alert_ids)

    def who(actor: str) -> str:
        p = subjects[actor]
        return f"{p} ({actor})" if p in unmasked else p

    items = tuple(
        TimelineItem(
            ts=aware(r["ts"]),
            subject=who(str(r["actor_id"])),
            action=str(r["action"]),
            family=family_of(str(r["action"])),
            target=mask(f"{r['target_type'] or ''} {r['target_id'] or ''}".strip()),
            outcome=str(r["outcome"] or ""),
            source=str(r["source"] or ""),
            country=str(r["country"] or ""),
            cited=str(r["event_id"]) in cited,
        )
        for r in rows
    )
    return items, total
