"""Escalation status moves: acknowledge, first action, resolve — each by someone, at a time,
against the clocks.

``open → acknowledged → actioned → resolved``; an escalation may also be resolved straight
from ``acknowledged`` (a duplicate, or nothing to do), never from ``open`` (someone must
have owned it first) and never moved again once resolved (new facts are a new escalation,
or an update of this one through intake). A move the workflow does not allow is a
``ConflictError`` (409), like a stale ``version``.

Why breaches are recorded at the move: a clock that ran out is a fact about the
organisation's response (reported, learned from), not only a colour in the queue. Each move
completes some clocks (``custodes.triage.clocks``); those that had already run out when it
came are stored in ``escalation_breaches`` with the clock's cause — exactly what
``Schedule.breaches`` reports — so "late, by how much, and under which rule" survives
later re-ratings and policy changes.

Each move is one transaction: the status, who and when, the breaches, a ``status``
revision, the audit row and the queue clock (the next clock still running) all land, or
nothing does. The actor needs ``escalation.manage`` — whoever may triage.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.clock import utc_now_aware
from custodes.errors import ConflictError, InputError
from custodes.store.schema import Escalation, EscalationBreach
from custodes.triage import clocks
from custodes.triage.clocks import Step
from custodes.triage.intake import MAX_REASON, _check_text
from custodes.triage.rows import _revise
from custodes.triage.views import EscalationDetail, EscalationStatus, Resolution

if TYPE_CHECKING:
    from custodes.triage.intake import EscalationService

S = EscalationStatus
FROM: Final[dict[Step, frozenset[EscalationStatus]]] = {
    Step.acknowledge: frozenset({S.open}),
    Step.action: frozenset({S.acknowledged}),
    Step.resolve: frozenset({S.acknowledged, S.actioned}),
}
TO: Final[dict[Step, EscalationStatus]] = {
    Step.acknowledge: S.acknowledged,
    Step.action: S.actioned,
    Step.resolve: S.resolved,
}


def parse_step(value: str) -> Step:
    try:
        return Step(value)
    except ValueError:
        allowed = ", ".join(Step)
        raise InputError(f"unknown step {value!r} (one of {allowed})", field="step") from None


def parse_resolution(value: str | None) -> Resolution:
    if value is None or not str(value).strip():
        raise InputError("resolving an escalation needs a resolution", field="resolution")
    try:
        return Resolution(str(value).strip())
    except ValueError:
        allowed = ", ".join(Resolution)
        raise InputError(
            f"unknown resolution {value!r} (one of {allowed})", field="resolution"
        ) from None


def move(
    service: EscalationService,
    principal: Principal,
    escalation_pk: int,
    version: int,
    step: Step | str,
    *,
    resolution: Resolution | str | None = None,
    note: str = "",
) -> EscalationDetail:
    """Take ``step`` on the escalation read at ``version``; ``resolution`` is required to
    resolve and refused otherwise; ``note`` (optional) says what was done."""
    principal.require(Permission.escalation_manage)
    taken = parse_step(str(step))
    ended: Resolution | None = None
    if taken is Step.resolve:
        ended = parse_resolution(str(resolution) if resolution is not None else None)
    elif resolution is not None:
        raise InputError("only resolving sets a resolution", field="resolution")
    text = _note(note)
    with service._write() as session:
        row = service._load(session, escalation_pk)
        if row.version != version:
            raise ConflictError(
                f"escalation {escalation_pk} is at version {row.version}, not {version}; "
                "read it again"
            )
        current = S(row.status)
        if current not in FROM[taken]:
            raise ConflictError(_refusal(escalation_pk, current, taken))
        now = utc_now_aware()
        plan = clocks.effective_schedule(row, service.policy)
        before = clocks.done(row)
        completing = clocks.completed_by(taken, plan, before)
        every = {c.name for c in plan.clocks}
        late = plan.breaches(now, done=every - completing)
        _record(row, taken, principal.username, now, text, ended)
        row.status = TO[taken].value
        row.sla_due_at = clocks.queue_due(row, service.policy)
        row.updated_at = now
        for breach in late:
            session.add(
                EscalationBreach(
                    escalation_pk=row.id,
                    clock=breach.clock,
                    step=taken.value,
                    due_at=breach.due_at,
                    met_at=breach.detected_at,
                    overdue_seconds=round(breach.overdue.total_seconds(), 3),
                    cause=breach.cause,
                    actor=principal.username,
                )
            )
        changes: dict[str, list[str | None]] = {"status": [current.value, row.status]}
        if ended is not None:
            changes["resolution"] = [None, ended.value]
        _revise(session, row, principal.username, "status", changes, now, reason=text)
        service._audit(
            session,
            principal,
            f"escalation.{taken.value}",
            row,
            {
                "from": current.value,
                "to": row.status,
                "resolution": ended.value if ended else None,
                "breaches": [b.clock for b in late],
            },
            reason=text,
        )
        service._link(session, principal, row)
        session.flush()
        return service._detail(session, row, principal)


def acknowledge(
    service: EscalationService, principal: Principal, escalation_pk: int, version: int
) -> EscalationDetail:
    """Someone owns it now: stops the ``acknowledge`` clock."""
    return move(service, principal, escalation_pk, version, Step.acknowledge)


def action(
    service: EscalationService,
    principal: Principal,
    escalation_pk: int,
    version: int,
    note: str = "",
) -> EscalationDetail:
    """The first action was taken (what, in ``note``): stops ``first_action`` and ``reply``."""
    return move(service, principal, escalation_pk, version, Step.action, note=note)


def resolve(
    service: EscalationService,
    principal: Principal,
    escalation_pk: int,
    version: int,
    resolution: Resolution | str,
    note: str = "",
) -> EscalationDetail:
    """Done, with how (``resolution``) and optionally the mitigation in words: stops every
    clock still running."""
    return move(
        service, principal, escalation_pk, version, Step.resolve, resolution=resolution, note=note
    )


def _note(note: str | None) -> str:
    text = (note or "").strip()
    if len(text) > MAX_REASON:
        raise InputError(f"is longer than {MAX_REASON} characters", field="note")
    _check_text(text, "note", None)
    return text


def _record(
    row: Escalation,
    step: Step,
    who: str,
    at: datetime,
    note: str,
    resolution: Resolution | None,
) -> None:
    if step is Step.acknowledge:
        row.acknowledged_at, row.acknowledged_by = at, who
    elif step is Step.action:
        row.actioned_at, row.actioned_by, row.action_note = at, who, note or None
    else:
        assert resolution is not None
        row.resolved_at, row.resolved_by = at, who
        row.resolution, row.resolution_note = resolution.value, note or None


def _refusal(pk: int, current: EscalationStatus, step: Step) -> str:
    if current is S.resolved:
        return f"escalation {pk} is resolved; a resolved escalation does not move again"
    if step is Step.acknowledge:
        return f"escalation {pk} is already {current.value}"
    if current is S.open:
        return f"escalation {pk} is open: acknowledge it first"
    return f"escalation {pk} is already {current.value}"
