"""Unmasking: ask (with a justification) to see who a pseudonym is, have a second person
approve when the installation requires it, and reveal while the grant lasts. Every step is
in the audit log (``custodes.privacy.unmasking``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from custodes.privacy import unmasking
from custodes.web.deps import CanApproveUnmask, CanRequestUnmask, SettingsDep, StoreDep
from custodes.web.schemas.unmask import GrantOut, Revealed, UnmaskDecision, UnmaskRequest

router = APIRouter(prefix="/unmask", tags=["unmask"])

GrantId = Annotated[int, Path(ge=1, le=2**53)]
Pseudonym = Annotated[str, Path(pattern=r"^S-[A-Z2-7]{10}$")]


@router.post("", response_model=GrantOut, status_code=status.HTTP_201_CREATED)
def request_unmask(
    body: UnmaskRequest, principal: CanRequestUnmask, store: StoreDep, settings: SettingsDep
) -> GrantOut:
    with store.write() as session:
        grant = unmasking.request(
            session,
            principal,
            body.pseudonym,
            body.justification,
            body.case_id,
            settings=settings,
        )
        return GrantOut.model_validate(grant)


@router.get("/pending", response_model=list[GrantOut])
def pending_unmasks(principal: CanApproveUnmask, store: StoreDep) -> list[GrantOut]:
    with store.read() as session:
        return [GrantOut.model_validate(g) for g in unmasking.pending(session, principal)]


@router.post("/{grant_id}/approve", response_model=GrantOut)
def approve_unmask(
    grant_id: GrantId, principal: CanApproveUnmask, store: StoreDep, settings: SettingsDep
) -> GrantOut:
    with store.write() as session:
        grant = unmasking.approve(session, principal, grant_id, settings=settings)
        return GrantOut.model_validate(grant)


@router.post("/{grant_id}/deny", response_model=GrantOut)
def deny_unmask(
    grant_id: GrantId, body: UnmaskDecision, principal: CanApproveUnmask, store: StoreDep
) -> GrantOut:
    with store.write() as session:
        return GrantOut.model_validate(unmasking.deny(session, principal, grant_id, body.reason))


@router.post("/{grant_id}/revoke", response_model=GrantOut)
def revoke_unmask(grant_id: GrantId, principal: CanRequestUnmask, store: StoreDep) -> GrantOut:
    """End an active grant early (its holder, or an approver)."""
    with store.write() as session:
        return GrantOut.model_validate(unmasking.revoke(session, principal, grant_id))


@router.get("/reveal/{pseudonym}", response_model=Revealed)
def reveal(pseudonym: Pseudonym, principal: CanRequestUnmask, store: StoreDep) -> Revealed:
    """Who the pseudonym is, while you hold an active grant for it (an audited read)."""
    with store.write() as session:
        actor = unmasking.reveal(session, principal, pseudonym)
    return Revealed(pseudonym=pseudonym, actor_id=actor)
