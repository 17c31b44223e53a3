"""Unmasking: seeing a subject's real identity behind a pseudonym.

Why so much ceremony: the people Custodes watches are colleagues, and most alerts about them
are false. So seeing who a pseudonym is needs the ``unmask.request`` permission and a written
justification; it lasts ``settings.unmask_minutes``; every request, decision and reveal is in
the audit log; and an installation can require a second person (``unmask.approve``, never the
requester) to approve each request before it takes effect.

Grants are per user and per pseudonym. While one is active, views carry the real actor id
beside the pseudonym for that user only (and each such read is audited by the view).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.audit import append
from custodes.cases.visibility import visible
from custodes.clock import utc_now_aware
from custodes.config import Settings
from custodes.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from custodes.privacy.pseudonyms import is_pseudonym
from custodes.store.schema import Case, CaseSubject, UnmaskGrant

MIN_JUSTIFICATION: Final = 10

PENDING: Final = "pending"
ACTIVE: Final = "active"
DENIED: Final = "denied"
REVOKED: Final = "revoked"


def request(
    session: Session,
    principal: Principal,
    pseudonym: str,
    justification: str,
    case_id: int | None = None,
    *,
    settings: Settings | None = None,
) -> UnmaskGrant:
    """Ask to see who ``pseudonym`` is. Active at once, or pending a second person's approval
    when the installation requires one."""
    settings = settings or Settings()
    principal.require(Permission.unmask_request)
    if not is_pseudonym(pseudonym):
        raise InputError(f"{pseudonym!r} is not a pseudonym (S-XXXXXXXXXX)", field="pseudonym")
    text = justification.strip()
    if len(text) < MIN_JUSTIFICATION:
        raise InputError(
            f"a justification of at least {MIN_JUSTIFICATION} characters is required",
            field="justification",
        )
    if case_id is not None:
        seen = session.execute(
            select(Case.id).where(Case.id == case_id, visible(principal))
        ).scalar_one_or_none()
        if seen is None:
            raise NotFoundError(f"no case {case_id}")
    _subject(session, pseudonym, case_id)
    now = utc_now_aware()
    approval = settings.unmask_needs_approval
    grant = UnmaskGrant(
        user_id=principal.user_id,
        pseudonym=pseudonym,
        case_id=case_id,
        justification=text,
        status=PENDING if approval else ACTIVE,
        requested_at=now,
        expires_at=None if approval else now + timedelta(minutes=settings.unmask_minutes),
    )
    session.add(grant)
    session.flush()
    append(
        session,
        actor=principal.username,
        action="unmask.request",
        target_type="subject",
        target_id=pseudonym,
        reason=text,
        detail={"grant_id": grant.id, "case_id": case_id, "status": grant.status},
    )
    return grant


def approve(
    session: Session, principal: Principal, grant_id: int, *, settings: Settings | None = None
) -> UnmaskGrant:
    """A second person lets a pending request take effect (for ``unmask_minutes`` from now)."""
    settings = settings or Settings()
    grant = _decidable(session, principal, grant_id)
    now = utc_now_aware()
    grant.status = ACTIVE
    grant.decided_by = principal.user_id
    grant.decided_at = now
    grant.expires_at = now + timedelta(minutes=settings.unmask_minutes)
    _audit(session, principal, "unmask.approve", grant)
    return grant


def deny(session: Session, principal: Principal, grant_id: int, reason: str = "") -> UnmaskGrant:
    grant = _decidable(session, principal, grant_id)
    grant.status = DENIED
    grant.decided_by = principal.user_id
    grant.decided_at = utc_now_aware()
    _audit(session, principal, "unmask.deny", grant, reason)
    return grant


def revoke(session: Session, principal: Principal, grant_id: int) -> UnmaskGrant:
    """End an active grant early (its holder, or an approver)."""
    grant = session.get(UnmaskGrant, grant_id)
    if grant is None or (
        grant.user_id != principal.user_id and not principal.can(Permission.unmask_approve)
    ):
        raise NotFoundError(f"no unmasking request {grant_id}")
    if grant.status != ACTIVE:
        raise ConflictError(f"unmasking request {grant_id} is {grant.status}, not active")
    grant.status = REVOKED
    grant.decided_at = utc_now_aware()
    _audit(session, principal, "unmask.revoke", grant)
    return grant


def pending(session: Session, principal: Principal) -> list[UnmaskGrant]:
    """Requests waiting for an approver (an approver's queue)."""
    principal.require(Permission.unmask_approve)
    return list(
        session.scalars(
            select(UnmaskGrant).where(UnmaskGrant.status == PENDING).order_by(UnmaskGrant.id)
        )
    )


def active_pseudonyms(
    session: Session, principal: Principal, now: datetime | None = None
) -> set[str]:
    """The pseudonyms ``principal`` may see through right now."""
    if not principal.can(Permission.unmask_request):
        return set()
    now = now or utc_now_aware()
    rows = session.scalars(
        select(UnmaskGrant.pseudonym).where(
            UnmaskGrant.user_id == principal.user_id,
            UnmaskGrant.status == ACTIVE,
            UnmaskGrant.expires_at > now,
        )
    )
    return set(rows)


def reveal(session: Session, principal: Principal, pseudonym: str) -> str:
    """The real actor id behind ``pseudonym``, for a principal with an active grant; audited."""
    principal.require(Permission.unmask_request)
    if pseudonym not in active_pseudonyms(session, principal):
        raise PermissionDeniedError(
            f"no active unmasking of {pseudonym} for {principal.username}: request one with "
            "a justification"
        )
    actor = _subject(session, pseudonym, None)
    append(
        session,
        actor=principal.username,
        action="unmask.reveal",
        target_type="subject",
        target_id=pseudonym,
    )
    return actor


def _subject(session: Session, pseudonym: str, case_id: int | None) -> str:
    """The actor id stored for ``pseudonym`` (in ``case_id`` when given)."""
    query = select(CaseSubject.actor_id).where(CaseSubject.pseudonym == pseudonym)
    if case_id is not None:
        query = query.where(CaseSubject.case_id == case_id)
    actor = session.scalars(query.limit(1)).first()
    if actor is None:
        where = f" in case {case_id}" if case_id is not None else ""
        raise NotFoundError(f"no subject {pseudonym}{where}")
    return actor


def _decidable(session: Session, principal: Principal, grant_id: int) -> UnmaskGrant:
    principal.require(Permission.unmask_approve)
    grant = session.get(UnmaskGrant, grant_id, with_for_update=True)
    if grant is None:
        raise NotFoundError(f"no unmasking request {grant_id}")
    if grant.user_id == principal.user_id:
        raise PermissionDeniedError("a second person must decide on an unmasking request")
    if grant.status != PENDING:
        raise ConflictError(f"unmasking request {grant_id} is already {grant.status}")
    return grant


def _audit(
    session: Session, principal: Principal, action: str, grant: UnmaskGrant, reason: str = ""
) -> None:
    session.flush()
    append(
        session,
        actor=principal.username,
        action=action,
        target_type="subject",
        target_id=grant.pseudonym,
        reason=reason,
        detail={"grant_id": grant.id, "requester_id": grant.user_id, "status": grant.status},
    )
