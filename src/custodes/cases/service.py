"""The case service: every read and change of a case goes through here.

Each method takes the acting ``Principal`` first and does, in one transaction: check the
permission, find the case through need-to-know (a case the principal may not see is "not
found"), check the caller's ``version`` (a stale one is a ``ConflictError``, never a silent
overwrite), make the change and append the audit row that records it. Reads of sensitive data
(a case's detail, its evidence, its timeline) are audited too, which is why they use a write
transaction.
"""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, String, case, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.audit import append
from custodes.cases import evidence, render, timeline, trail
from custodes.cases.events import alerts_by_id, staff_ids
from custodes.cases.views import (
    CaseCreate,
    CaseDetail,
    CaseSummary,
    CaseUpdate,
    EvidenceCheck,
    EvidenceCreate,
    EvidenceView,
    LinkView,
    NoteView,
    Page,
    TaskCreate,
    TaskUpdate,
    TaskView,
    Timeline,
    utc,
)
from custodes.cases.visibility import visible
from custodes.cases.workflow import (
    VERDICT,
    CaseSeverity,
    LinkKind,
    Outcome,
    Status,
    check_move,
    parse_outcome,
    parse_status,
)
from custodes.clock import utc_now_aware
from custodes.config import Settings
from custodes.detect.alert import Alert
from custodes.errors import ConflictError, InputError, NotFoundError
from custodes.privacy import unmasking
from custodes.privacy.pseudonyms import Pseudonyms, is_pseudonym
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
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

MAX_LIMIT: Final = 500
COUNT_CAP: Final = 1000  # list totals are exact up to here
MAX_NOTE: Final = 100_000
_SEVERITY_RANK = {s.value: i for i, s in enumerate(CaseSeverity)}
_SORTS: Final = ("updated_at", "created_at", "due_at", "id", "title", "status", "severity")


class CaseService:
    """Cases for one case store; cheap to create (per request or per command)."""

    def __init__(self, store: CaseStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._pseudonyms: Pseudonyms | None = None

    @property
    def pseudonyms(self) -> Pseudonyms:
        if self._pseudonyms is None:
            self._pseudonyms = Pseudonyms.load(self.store, self.settings)
        return self._pseudonyms

    # --- reading -----------------------------------------------------------------------

    def list(
        self,
        principal: Principal,
        *,
        status: str | None = None,
        category: str | None = None,
        assignee_id: int | None = None,
        tag: str | None = None,
        q: str | None = None,
        sort: str = "-updated_at",
        limit: int = 50,
        offset: int = 0,
    ) -> Page[CaseSummary]:
        """Cases the principal may see, filtered, sorted and paged. Pseudonyms only: a list
        never carries real ids, so listing is not an audited read."""
        principal.require(Permission.case_read)
        if not 1 <= limit <= MAX_LIMIT:
            raise InputError(f"limit must be within 1..{MAX_LIMIT}", field="limit")
        if offset < 0:
            raise InputError("offset must not be negative", field="offset")
        where: list[ColumnElement[bool]] = [visible(principal)]
        if status is not None:
            where.append(Case.status == parse_status(status).value)
        if category is not None:
            where.append(Case.category == category)
        if assignee_id is not None:
            where.append(Case.assignee_id == assignee_id)
        if tag is not None:
            where.append(cast(Case.tags, String).like(f'%"{_like(tag.strip().lower())}"%', "\\"))
        if q is not None and q.strip():
            text = q.strip()
            found: list[ColumnElement[bool]] = [
                func.lower(Case.title).like(f"%{_like(text.lower())}%", "\\")
            ]
            if is_pseudonym(text.upper()):
                found.append(
                    Case.id.in_(
                        select(CaseSubject.case_id).where(CaseSubject.pseudonym == text.upper())
                    )
                )
            if text.isdigit():
                found.append(Case.id == int(text))
            where.append(or_(*found))
        order = _order(sort)
        with self.store.read() as session:
            # Counting every visible case costs a scan of them all (tens of ms at 100k on
            # every page view); past COUNT_CAP the count stops and says so.
            matching = select(Case.id).where(*where).limit(COUNT_CAP + 1).subquery()
            total = session.scalar(select(func.count()).select_from(matching)) or 0
            rows = session.scalars(
                select(Case).where(*where).order_by(*order).limit(limit).offset(offset)
            ).all()
            items = render.summaries(session, rows, set())
        return Page[CaseSummary](
            items=items,
            total=min(total, COUNT_CAP),
            limit=limit,
            offset=offset,
            total_exact=total <= COUNT_CAP,
        )

    def get(self, principal: Principal, case_id: int, *, reason: str = "") -> CaseDetail:
        """One case in full; an audited read (``case.read``)."""
        principal.require(Permission.case_read)
        # Read in a read transaction and append the audit row in a short write of its own:
        # on SQLite a write transaction holds the one writer lock, and rendering a detail
        # inside it made every concurrent detail view and edit queue behind this one.
        with self.store.read() as session:
            row = self._load(session, principal, case_id)
            view = render.detail(session, row, self._unmasked(session, principal), self.pseudonyms)
        shown = sorted(s.pseudonym for s in view.subjects if s.actor_id is not None)
        with self._write() as session:
            self._audit(
                session,
                principal,
                "case.read",
                case_id,
                reason=reason,
                detail={"unmasked": shown} if shown else {},
            )
        return view

    def version(self, principal: Principal, case_id: int) -> int:
        """A case's current version (for callers that act without a prior read, like the
        CLI); not audited: it says nothing about the case's content."""
        principal.require(Permission.case_read)
        with self.store.read() as session:
            return self._load(session, principal, case_id).version

    # --- creating ------------------------------------------------------------------------

    def create(self, principal: Principal, data: CaseCreate) -> CaseDetail:
        principal.require(Permission.case_create)
        with self._write() as session:
            row = self._insert(session, principal, data)
            self._audit(
                session,
                principal,
                "case.create",
                row.id,
                detail={
                    "subjects": sorted(self.pseudonyms.of(s) for s in data.subjects),
                    "severity": row.severity,
                    "category": row.category,
                },
            )
            return self._detail(session, principal, row)

    def create_from_alerts(
        self,
        principal: Principal,
        alert_ids: Sequence[str],
        events: EventStore,
        title: str | None = None,
    ) -> CaseDetail:
        """One case from several alerts about one staff member. Alerts already in an open case
        are not added again; if all of them are, nothing is created (``ConflictError``)."""
        principal.require(Permission.case_create)
        wanted = list(dict.fromkeys(a.strip() for a in alert_ids if a.strip()))
        if not wanted:
            raise InputError("name at least one alert", field="alert_ids")
        alerts = alerts_by_id(events, wanted)
        missing = sorted(set(wanted) - {a.alert_id for a in alerts})
        if missing:
            raise InputError(
                f"no alert {missing[0]}; `custodes alerts` lists them", field="alert_ids"
            )
        actors = {a.actor_id for a in alerts}
        if len(actors) > 1:
            raise InputError(
                f"the alerts concern {len(actors)} different people; a case merges the alerts "
                "of one person",
                field="alert_ids",
            )
        # Reasons name counterparts (a shared device's other user): mask everyone, once, here.
        staff = staff_ids(events) | actors
        with self._write() as session:
            taken = set(
                session.scalars(
                    select(CaseAlert.alert_id)
                    .join(Case, Case.id == CaseAlert.case_id)
                    .where(CaseAlert.alert_id.in_(wanted), Case.status != Status.closed.value)
                )
            )
            fresh = [a for a in alerts if a.alert_id not in taken]
            if not fresh:
                raise ConflictError("every one of these alerts is already in an open case")
            actor = fresh[0].actor_id
            category = _main_category(fresh)
            severity = max((str(a.severity) for a in fresh), key=lambda s: _SEVERITY_RANK[s])
            default_title = f"{category.replace('_', ' ')}: {self.pseudonyms.of(actor)}"
            data = CaseCreate(
                title=(title or default_title).strip()[:300] or default_title,
                category=category,
                severity=CaseSeverity(severity),
                subjects=[actor],
                description="\n".join(
                    f"- {a.alert_id} ({a.detector}, score {a.score:.2f}): "
                    f"{self.pseudonyms.mask(a.reasons[0], staff) if a.reasons else ''}"
                    for a in fresh
                ),
            )
            row = self._insert(session, principal, data)
            for a in fresh:
                session.add(
                    CaseAlert(
                        case_id=row.id,
                        alert_id=a.alert_id,
                        actor_id=a.actor_id,
                        detector=a.detector,
                        category=a.category,
                        pattern=a.pattern,
                        score=a.score,
                        window_start=utc(a.window_start),
                        window_end=utc(a.window_end),
                        reasons=[self.pseudonyms.mask(r, staff) for r in a.reasons],
                    )
                )
            session.flush()
            self._audit(
                session,
                principal,
                "case.create",
                row.id,
                detail={
                    "from_alerts": [a.alert_id for a in fresh],
                    "skipped_in_open_cases": sorted(taken),
                    "subjects": [self.pseudonyms.of(actor)],
                },
            )
            return self._detail(session, principal, row)

    # --- changing ------------------------------------------------------------------------

    def update(
        self, principal: Principal, case_id: int, version: int, data: CaseUpdate
    ) -> CaseDetail:
        principal.require(Permission.case_update)
        with self._write() as session:
            row = self._editable(session, principal, case_id, version)
            changed: list[str] = []
            for name in sorted(data.model_fields_set):
                value = getattr(data, name)
                if name == "title" and value is None:
                    raise InputError("a case needs a title", field="title")
                if name == "severity":
                    value = (value or CaseSeverity.medium).value
                if name == "description":
                    value = value or ""
                if name == "tags":
                    value = value or []
                if name == "assignee_id":
                    self._check_assignee(session, principal, value, row.assignee_id)
                if name == "restricted":
                    principal.require(Permission.case_assign)
                    value = bool(value)
                if getattr(row, name) != value:
                    setattr(row, name, value)
                    changed.append(name)
            if changed:
                row.updated_at = utc_now_aware()
                if "assignee_id" in changed and row.assignee_id is not None:
                    _add_member(session, row.id, row.assignee_id)
                session.flush()
                self._audit(session, principal, "case.update", row.id, detail={"fields": changed})
            return self._detail(session, principal, row)

    def transition(
        self,
        principal: Principal,
        case_id: int,
        version: int,
        to_status: Status | str,
        *,
        outcome: Outcome | str | None = None,
        reason: str = "",
    ) -> CaseDetail:
        """Move a case along the workflow; closing needs ``case.close`` and an outcome, which
        becomes the verdict of the case's alerts (synced to detection later)."""
        principal.require(Permission.case_update)
        target = parse_status(str(to_status), "to_status")
        result = parse_outcome(str(outcome)) if outcome is not None else None
        if target is Status.closed:
            principal.require(Permission.case_close)
        with self._write() as session:
            row = self._load(session, principal, case_id)
            self._check_version(row, version)
            check_move(Status(row.status), target, result)
            now = utc_now_aware()
            before = row.status
            row.status = target.value
            row.updated_at = now
            if result is not None:
                row.outcome = result.value
                row.closed_at = now
                verdict = VERDICT[result]
                for alert in session.scalars(select(CaseAlert).where(CaseAlert.case_id == row.id)):
                    alert.verdict = verdict
            session.flush()
            self._audit(
                session,
                principal,
                "case.close" if result is not None else "case.move",
                row.id,
                reason=reason.strip(),
                detail={"from": before, "to": target.value, "outcome": row.outcome},
            )
            return self._detail(session, principal, row)

    def add_note(self, principal: Principal, case_id: int, body: str) -> NoteView:
        principal.require(Permission.case_update)
        text = body.strip()
        if not text:
            raise InputError("a note needs a body", field="body")
        if len(text) > MAX_NOTE:
            raise InputError(f"a note is at most {MAX_NOTE} characters", field="body")
        with self._write() as session:
            row = self._open_case(session, principal, case_id)
            note = Note(
                case_id=row.id, author_id=principal.user_id, body=text, created_at=utc_now_aware()
            )
            session.add(note)
            session.flush()
            self._audit(session, principal, "note.create", row.id, detail={"note_id": note.id})
            return render.note(note, render.users(session, [principal.user_id]))

    def add_task(self, principal: Principal, case_id: int, data: TaskCreate) -> TaskView:
        principal.require(Permission.case_update)
        with self._write() as session:
            row = self._open_case(session, principal, case_id)
            if data.assignee_id is not None:
                _require_user(session, data.assignee_id, "assignee_id")
            task = Task(
                case_id=row.id,
                title=data.title,
                assignee_id=data.assignee_id,
                due_at=data.due_at,
                created_at=utc_now_aware(),
            )
            session.add(task)
            session.flush()
            self._audit(session, principal, "task.create", row.id, detail={"task_id": task.id})
            return render.task(task)

    def update_task(
        self, principal: Principal, case_id: int, task_id: int, version: int, data: TaskUpdate
    ) -> TaskView:
        principal.require(Permission.case_update)
        with self._write() as session:
            row = self._open_case(session, principal, case_id)
            task = session.get(Task, task_id)
            if task is None or task.case_id != row.id:
                raise NotFoundError(f"no task {task_id} in case {case_id}")
            if task.version != version:
                raise ConflictError(
                    f"task {task_id} changed since version {version} (now {task.version})"
                )
            changed = []
            for name in sorted(data.model_fields_set):
                value = getattr(data, name)
                if name in ("title", "done") and value is None:
                    raise InputError(f"{name} cannot be empty", field=name)
                if name == "assignee_id" and value is not None:
                    _require_user(session, value, "assignee_id")
                if getattr(task, name) != value:
                    setattr(task, name, value)
                    changed.append(name)
            if changed:
                session.flush()
                self._audit(
                    session,
                    principal,
                    "task.update",
                    row.id,
                    detail={"task_id": task.id, "fields": changed},
                )
            return render.task(task)

    def link(
        self,
        principal: Principal,
        case_id: int,
        other_id: int,
        kind: LinkKind | str = LinkKind.related,
    ) -> LinkView:
        principal.require(Permission.case_update)
        try:
            link_kind = LinkKind(str(kind))
        except ValueError:
            raise InputError(f"unknown link kind {kind!r}", field="kind") from None
        if case_id == other_id:
            raise InputError("a case cannot be linked to itself", field="other_id")
        with self._write() as session:
            row = self._load(session, principal, case_id)
            other = self._load(session, principal, other_id)
            existing = session.get(CaseLink, (row.id, other.id))
            if existing is not None:
                existing.kind = link_kind.value
            else:
                session.add(CaseLink(case_id=row.id, other_id=other.id, kind=link_kind.value))
            session.flush()
            self._audit(
                session,
                principal,
                "case.link",
                row.id,
                detail={"other_id": other.id, "kind": link_kind.value},
            )
            return LinkView(case_id=other.id, kind=link_kind, direction="out")

    def add_member(self, principal: Principal, case_id: int, user_id: int) -> None:
        """Let one more user see (a restricted) case: need-to-know is granted per person."""
        principal.require(Permission.case_assign)
        with self._write() as session:
            row = self._load(session, principal, case_id)
            _require_user(session, user_id, "user_id")
            if _add_member(session, row.id, user_id):
                self._audit(
                    session, principal, "case.member_add", row.id, detail={"user_id": user_id}
                )

    # --- evidence and timeline (event store) -----------------------------------------------

    def add_evidence(
        self, principal: Principal, case_id: int, data: EvidenceCreate, events: EventStore
    ) -> EvidenceView:
        return evidence.add(self, principal, case_id, data, events)

    def list_evidence(self, principal: Principal, case_id: int) -> builtins.list[EvidenceView]:
        return evidence.list_for(self, principal, case_id)

    def check_evidence(
        self, principal: Principal, case_id: int, evidence_id: int, events: EventStore
    ) -> EvidenceCheck:
        return evidence.check(self, principal, case_id, evidence_id, events)

    def timeline(
        self,
        principal: Principal,
        case_id: int,
        events: EventStore,
        *,
        families: Sequence[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
    ) -> Timeline:
        return timeline.build(
            self,
            principal,
            case_id,
            events,
            families=families,
            start=start,
            end=end,
            limit=limit,
        )

    def audit_trail(
        self,
        principal: Principal,
        case_id: int,
        staff: Iterable[str] = (),
        limit: int = trail.MAX_ROWS,
    ) -> builtins.list[trail.TrailEntry]:
        """The case's newest rows of the audit log (``audit.read``; an audited read)."""
        return trail.build(self, principal, case_id, staff, limit)

    # --- helpers (shared with evidence and timeline) ----------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A write transaction whose lost races become ``ConflictError`` (HTTP 409)."""
        # Load (maybe create) the pseudonym key first: creating it inside this transaction
        # would need a second writer, which SQLite makes wait for this one forever.
        _ = self.pseudonyms
        try:
            with self.store.write() as session:
                yield session
        except StaleDataError as exc:
            raise ConflictError("the case changed meanwhile; reload it and try again") from exc

    def _load(self, session: Session, principal: Principal, case_id: int) -> Case:
        row = session.scalars(select(Case).where(Case.id == case_id, visible(principal))).first()
        if row is None:
            raise NotFoundError(f"no case {case_id}")
        return row

    def _open_case(self, session: Session, principal: Principal, case_id: int) -> Case:
        row = self._load(session, principal, case_id)
        if row.status == Status.closed.value:
            raise ConflictError(f"case {case_id} is closed")
        return row

    def _editable(self, session: Session, principal: Principal, case_id: int, version: int) -> Case:
        row = self._open_case(session, principal, case_id)
        self._check_version(row, version)
        return row

    @staticmethod
    def _check_version(row: Case, version: int) -> None:
        if row.version != version:
            raise ConflictError(
                f"case {row.id} changed since version {version} (now {row.version}); "
                "reload it and try again"
            )

    def _unmasked(self, session: Session, principal: Principal) -> set[str]:
        return unmasking.active_pseudonyms(session, principal)

    def _detail(
        self,
        session: Session,
        principal: Principal,
        row: Case,
        *,
        audit: str | None = None,
        reason: str = "",
    ) -> CaseDetail:
        unmasked = self._unmasked(session, principal)
        view = render.detail(session, row, unmasked, self.pseudonyms)
        shown = sorted(s.pseudonym for s in view.subjects if s.actor_id is not None)
        if audit is not None or shown:
            self._audit(
                session,
                principal,
                audit or "case.read",
                row.id,
                reason=reason,
                detail={"unmasked": shown} if shown else {},
            )
        return view

    def _audit(
        self,
        session: Session,
        principal: Principal,
        action: str,
        case_id: int,
        *,
        reason: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        append(
            session,
            actor=principal.username,
            action=action,
            target_type="case",
            target_id=case_id,
            reason=reason,
            detail=detail,
        )

    def _insert(self, session: Session, principal: Principal, data: CaseCreate) -> Case:
        self._check_assignee(session, principal, data.assignee_id, None)
        now = utc_now_aware()
        row = Case(
            title=data.title,
            description=data.description,
            category=data.category,
            severity=data.severity.value,
            status=Status.new.value,
            assignee_id=data.assignee_id,
            created_by=principal.user_id,
            created_at=now,
            updated_at=now,
            due_at=data.due_at,
            tags=list(data.tags),
            restricted=data.restricted,
        )
        session.add(row)
        session.flush()
        for actor in data.subjects:
            session.add(
                CaseSubject(case_id=row.id, actor_id=actor, pseudonym=self.pseudonyms.of(actor))
            )
        for user_id in {principal.user_id, data.assignee_id}:
            if user_id is not None:
                _add_member(session, row.id, user_id)
        session.flush()
        return row

    def _check_assignee(
        self, session: Session, principal: Principal, new: int | None, current: int | None
    ) -> None:
        """Assigning someone else (or taking over someone's case) needs ``case.assign``;
        anyone who may edit can pick up an unassigned case themselves."""
        if new == current or (new is None and current is None):
            return
        if not (new == principal.user_id and current is None):
            principal.require(Permission.case_assign)
        if new is not None:
            _require_user(session, new, "assignee_id")


def _require_user(session: Session, user_id: int, field: str) -> None:
    row = session.execute(select(User.disabled).where(User.id == user_id)).first()
    if row is None or row[0]:
        raise InputError(f"no active user {user_id}", field=field)


def _add_member(session: Session, case_id: int, user_id: int) -> bool:
    if session.get(CaseMember, (case_id, user_id)) is not None:
        return False
    session.add(CaseMember(case_id=case_id, user_id=user_id))
    session.flush()
    return True


def _main_category(alerts: Sequence[Alert]) -> str:
    """The category most alerts share; ties go to the strongest alert's."""
    counts = Counter(a.category for a in alerts)
    best = max(counts.values())
    return max((a for a in alerts if counts[a.category] == best), key=lambda a: a.score).category


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _order(sort: str) -> list[Any]:
    name = sort.removeprefix("-")
    if name not in _SORTS:
        raise InputError(f"cannot sort by {name!r} (one of {', '.join(_SORTS)})", field="sort")
    column: Any
    if name == "severity":
        column = case(_SEVERITY_RANK, value=Case.severity, else_=-1)
    else:
        column = getattr(Case, name)
    primary = column.desc() if sort.startswith("-") else column.asc()
    return [primary, Case.id.desc() if sort.startswith("-") else Case.id.asc()]
