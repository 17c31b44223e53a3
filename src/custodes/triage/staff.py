"""Escalations about staff: recognise them, link them to the open integrity case, and show
that link only to those who may see the case.

An escalation names its subjects in ``subject_ids`` (data contract §1.6): accounts, content,
URLs — and sometimes a staff member, when a user, a partner or a colleague reports one of the
people doing the moderating. A subject id names staff when it is

* a pseudonym (``S-`` + ten base32 characters): only staff get pseudonyms, so a reporter
  quoting one (an internal team, from a case or an alert) names staff;
* the actor id of a subject of any integrity case in the case store; or
* an ``actor_id`` of the staff directory (``people`` in the event store), when the caller
  hands in a directory lookup (the API does, at intake; it is consulted *before* the case
  store's write transaction, so the two stores' locks are never held together).

Such an escalation is ``staff_involved``. It is linked (``Escalation.case_id``) to the open
integrity case whose subjects include one of those staff (the most recently updated one if
several); without one the flag stays up, so a lead can open a case, and the next step taken
on the escalation or the next read of it links that case. A link, once made, is kept.

Need-to-know: a case a principal may not see (``cases.visibility``) is not shown to them —
not its id, title or status — so a triage analyst learns only that staff are involved.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Final

from sqlalchemy import Table, bindparam, or_, select
from sqlalchemy.orm import Session

from custodes.access.principal import Principal
from custodes.cases.visibility import visible
from custodes.cases.workflow import Status
from custodes.errors import StoreError
from custodes.privacy.pseudonyms import Pseudonyms, is_pseudonym
from custodes.store.events import EventStore
from custodes.store.schema import Base, Case, CaseSubject, Escalation
from custodes.triage.views import IntegrityCaseView

_SUBJECTS: Final[Table] = Base.metadata.tables["case_subjects"]
_CASE_SUBJECTS: Final = (
    select(_SUBJECTS.c.actor_id)
    .where(_SUBJECTS.c.actor_id.in_(bindparam("ids", expanding=True)))
    .distinct()
)
# Which of these subject ids are staff actor ids (the staff directory's answer).
StaffLookup = Callable[[Sequence[str]], set[str]]
MAX_SUBJECTS: Final = 200  # subject ids looked up per escalation (as intake's keys)


def in_directory(events: EventStore, subject_ids: Sequence[str]) -> set[str]:
    """The subject ids that are ``actor_id`` s of the staff directory (``people``)."""
    wanted = list(dict.fromkeys(subject_ids))[:MAX_SUBJECTS]
    if not wanted:
        return set()
    marks = ", ".join("?" for _ in wanted)
    rows = events.fetch_all(f"SELECT actor_id FROM people WHERE actor_id IN ({marks})", wanted)
    return {str(r[0]) for r in rows}


def directory(
    open_events: Callable[[], AbstractContextManager[EventStore | None]],
) -> StaffLookup:
    """A lookup in the staff directory, opened read-only per call, best effort: while
    another process holds the event store (detect, ingest), intake must neither wait nor
    fail, so only what the case store knows (case subjects, pseudonyms) counts then."""

    def lookup(subject_ids: Sequence[str]) -> set[str]:
        try:
            with open_events() as events:
                return set() if events is None else in_directory(events, subject_ids)
        except StoreError:
            return set()

    return lookup


def staff_among(
    session: Session, subject_ids: Sequence[str], known: Collection[str] = ()
) -> list[str]:
    """The subject ids that name staff, in the escalation's order: pseudonyms, case
    subjects, and ``known`` (what the directory said, now or earlier)."""
    wanted, found, rest = candidates(subject_ids, known)
    if rest:
        # Core on the session's connection (every intake asks this), after the flush the ORM
        # query it replaces would have done, so rows still reach the database as before.
        if session.autoflush:
            session.flush()
        found |= set(session.connection().execute(_CASE_SUBJECTS, {"ids": rest}).scalars())
    return [s for s in wanted if s in found]


def candidates(
    subject_ids: Sequence[str], known: Collection[str] = ()
) -> tuple[list[str], set[str], list[str]]:
    """The subject ids looked at (distinct, in order, at most ``MAX_SUBJECTS``), those
    that name staff without asking the case store (pseudonyms, ``known``), and the rest:
    staff only if some case has them as a subject."""
    wanted = list(dict.fromkeys(subject_ids))[:MAX_SUBJECTS]
    found = {s for s in wanted if s in known or is_pseudonym(s)}
    return wanted, found, [s for s in wanted if s not in found]


def refresh(session: Session, row: Escalation, directory: Iterable[str] = ()) -> int | None:
    """Bring ``row``'s staff subjects and its case link up to date; returns the id of a
    case linked just now (for the caller to audit), else None."""
    known = set(directory) | (set(row.staff_subject_ids or ()) & set(row.subject_ids))
    staff = staff_among(session, row.subject_ids, known)
    if staff != list(row.staff_subject_ids or ()):
        row.staff_subject_ids = staff
    if row.case_id is not None or not staff:
        return None
    found = open_case_of(session, staff)
    if found is None:
        return None
    row.case_id = found
    return found


def open_case_of(session: Session, staff: Sequence[str]) -> int | None:
    """The open integrity case whose subjects include one of ``staff`` (by actor id or
    pseudonym), the most recently updated if several; None when there is none."""
    found: int | None = session.scalars(
        select(Case.id)
        .join(CaseSubject, CaseSubject.case_id == Case.id)
        .where(
            Case.status != Status.closed.value,
            or_(CaseSubject.actor_id.in_(staff), CaseSubject.pseudonym.in_(staff)),
        )
        .order_by(Case.updated_at.desc(), Case.id.desc())
        .limit(1)
    ).first()
    return found


def linked_case(
    session: Session, principal: Principal, row: Escalation
) -> IntegrityCaseView | None:
    """The linked case, if ``principal`` may see it (else None, as if there were none)."""
    if row.case_id is None:
        return None
    case = session.scalars(select(Case).where(Case.id == row.case_id, visible(principal))).first()
    if case is None:
        return None
    return IntegrityCaseView(id=case.id, title=case.title, status=case.status)


def visible_cases(
    session: Session, principal: Principal, case_ids: Iterable[int | None]
) -> set[int]:
    """Which of ``case_ids`` ``principal`` may see (one query for a page of the queue)."""
    wanted = {c for c in case_ids if c is not None}
    if not wanted:
        return set()
    return set(session.scalars(select(Case.id).where(Case.id.in_(wanted), visible(principal))))


class StaffMask:
    """Staff named in an escalation, shown as their pseudonyms.

    A reporter may write a staff member's real id in ``subject_ids`` or in the text; left
    as it is, a lead reading the escalation beside the linked case (which shows the
    pseudonym) could match the two without a logged unmasking. So every view replaces them,
    except for a reader with an active unmask grant for that pseudonym (then the read says
    so in its audit row, like a case detail read)."""

    def __init__(self, hidden: Mapping[str, str], shown: Sequence[str] = ()) -> None:
        self.hidden = dict(hidden)  # real id → pseudonym, for ids this reader may not see
        self.shown = sorted(shown)  # pseudonyms this reader sees through (unmasked)
        # Longest first, so an id that contains another is replaced whole.
        self._order = sorted(self.hidden, key=len, reverse=True)

    def text(self, value: str) -> str:
        for actor in self._order:
            value = value.replace(actor, self.hidden[actor])
        return value

    def value(self, value: Any) -> Any:
        """Strings anywhere inside lists and dicts (a revision's recorded changes)."""
        if not self.hidden:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value


def raw_staff(row: Escalation) -> list[str]:
    """``row``'s staff subjects named by their real id (not already a pseudonym): the only
    ones a view masks."""
    return [s for s in row.staff_subject_ids or () if not is_pseudonym(s)]


def mask_for(
    principal: Principal, row: Escalation, pseudonyms: Pseudonyms, unmasked: Collection[str]
) -> StaffMask:
    """What ``principal``, who sees through the pseudonyms ``unmasked``
    (``unmasking.active_pseudonyms``), may not read of ``row``'s staff subjects."""
    raw = raw_staff(row)
    if not raw:
        return StaffMask({})
    hidden: dict[str, str] = {}
    shown: list[str] = []
    for actor in raw:
        pseudonym = pseudonyms.of(actor)
        if pseudonym in unmasked:
            shown.append(pseudonym)
        else:
            hidden[actor] = pseudonym
    return StaffMask(hidden, shown)
