"""An escalation's clocks as the queue works them: the effective band's, less the steps done.

The rating engine keeps its own clocks (``Escalation.clocks``, with the rule behind each in
``clock_causes``). What an analyst is held to is the *effective* schedule:

* no override: the engine's clocks, exactly as rated;
* an override: the override band's clocks from receipt, capped by the requester's deadline,
  and — when a fast lane applied — never later than the engine's clock of the same name (a
  legal clock is not loosened by an override). A ``reply`` clock (press, regulator, VIP
  flags) is a duty to the requester, not a property of the band: it is kept either way.

Each lifecycle step completes clocks: acknowledging completes ``acknowledge``; the first
action completes ``first_action`` and ``reply`` (answering the requester is acting);
resolving completes whatever is still running. The queue's ``sla_due_at`` is the first
clock still running, so an acknowledged escalation sorts by its next deadline.

:func:`progress` reads back the steps taken and the breaches recorded (``triage.lifecycle``
records them) for the detail view.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from custodes.store.schema import Escalation, EscalationBreach
from custodes.triage.policy import Policy
from custodes.triage.sla import Clock, Schedule, schedule
from custodes.triage.views import BreachView, Resolution, ResolvedView, StepView


class Step(StrEnum):
    acknowledge = "acknowledge"
    action = "action"
    resolve = "resolve"


# The clocks each step completes (resolve: every clock still running).
COMPLETES: Final[dict[Step, frozenset[str]]] = {
    Step.acknowledge: frozenset({"acknowledge"}),
    Step.action: frozenset({"first_action", "reply"}),
    Step.resolve: frozenset(),
}


def aware(value: datetime) -> datetime:
    """Aware UTC (SQLite hands timestamps back naive, in UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def engine_schedule(row: Escalation) -> Schedule:
    """The engine's clocks as rated and stored, each with its cause (rows rated before
    causes were kept get one naming the band and the policy version)."""
    causes = row.clock_causes or {}
    return Schedule(
        tuple(
            Clock(
                name,
                aware(datetime.fromisoformat(due)),
                causes.get(name) or f"{row.band} {name} (policy {row.policy_version})",
            )
            for name, due in row.clocks.items()
        )
    )


def effective_schedule(row: Escalation, policy: Policy) -> Schedule:
    """The clocks the analyst is held to: the engine's, or the override band's."""
    engine = engine_schedule(row)
    if row.override_band is None:
        return engine
    plan = schedule(
        row.override_band,
        aware(row.received_at),
        policy.sla,
        jurisdiction=row.jurisdiction,
        deadline=aware(row.deadline) if row.deadline is not None else None,
        deadline_cause="requester deadline",
    )
    rated = {c.name: c for c in engine.clocks}
    out: list[Clock] = []
    for clock in plan.clocks:
        theirs = rated.get(clock.name)
        legal = row.fast_lane is not None and theirs is not None and theirs.due_at < clock.due_at
        out.append(theirs if legal and theirs is not None else clock)
    named = {c.name for c in out}
    out.extend(c for c in engine.clocks if c.name not in named)
    return Schedule(tuple(out))


def done(row: Escalation) -> frozenset[str]:
    """The clocks completed by the steps already taken."""
    if row.resolved_at is not None:
        return frozenset(c for c in row.clocks) | {"acknowledge", "first_action", "resolve"}
    out: set[str] = set()
    if row.acknowledged_at is not None:
        out |= COMPLETES[Step.acknowledge]
    if row.actioned_at is not None:
        out |= COMPLETES[Step.action]
    return frozenset(out)


def completed_by(step: Step, plan: Schedule, already: Iterable[str]) -> frozenset[str]:
    """The clocks of ``plan`` that taking ``step`` completes now."""
    running = {c.name for c in plan.open(already)}
    if step is Step.resolve:
        return frozenset(running)
    return frozenset(running & COMPLETES[step])


def queue_due(row: Escalation, policy: Policy) -> datetime:
    """The queue clock: the first effective clock still running (once every step is done,
    the clock it had, so a resolved escalation keeps its place in history)."""
    due = effective_schedule(row, policy).due_at(done(row))
    return due if due is not None else aware(row.sla_due_at)


def progress(session: Session, row: Escalation) -> dict[str, Any]:
    """The steps taken (who, when, what they noted) and the breaches recorded, as the
    detail view's fields.

    Breaches are recorded only by a status move (``triage.lifecycle``), and every move
    stamps its step, so an escalation with no step taken has none: not asked."""
    if row.acknowledged_at is None and row.actioned_at is None and row.resolved_at is None:
        return steps(row, ())
    breaches = session.scalars(
        select(EscalationBreach)
        .where(EscalationBreach.escalation_pk == row.id)
        .order_by(EscalationBreach.due_at, EscalationBreach.id)
    ).all()
    return steps(row, breaches)


def steps(row: Escalation, breaches: Iterable[EscalationBreach]) -> dict[str, Any]:
    """The detail view's lifecycle fields from ``row`` and its recorded ``breaches``."""
    return {
        "acknowledged": _step(row.acknowledged_by, row.acknowledged_at),
        "actioned": _step(row.actioned_by, row.actioned_at, row.action_note),
        "resolved": None
        if row.resolved_at is None or row.resolution is None
        else ResolvedView(
            by=row.resolved_by or "",
            at=aware(row.resolved_at),
            note=row.resolution_note,
            resolution=Resolution(row.resolution),
        ),
        "breaches": [
            BreachView(
                clock=b.clock,
                step=b.step,
                due_at=aware(b.due_at),
                met_at=aware(b.met_at),
                overdue_seconds=b.overdue_seconds,
                cause=b.cause,
                actor=b.actor,
            )
            for b in breaches
        ],
    }


def _step(by: str | None, at: datetime | None, note: str | None = None) -> StepView | None:
    return None if at is None else StepView(by=by or "", at=aware(at), note=note)
