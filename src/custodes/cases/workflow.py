"""The case workflow: which status may follow which, and what a closing outcome means.

``new → triage → investigating → pending_decision → closed``. A case may also step back one
stage (new evidence sends a decision back to investigation) and may be closed from any open
stage (a duplicate or an obviously unfounded alert should not have to walk the whole path).
A closed case stays closed: its outcome has already become detection feedback, and the
retention clock runs from its closing; new facts open a new, linked case.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from custodes.errors import ConflictError, InputError


class Status(StrEnum):
    new = "new"
    triage = "triage"
    investigating = "investigating"
    pending_decision = "pending_decision"
    closed = "closed"


class Outcome(StrEnum):
    substantiated = "substantiated"
    unsubstantiated = "unsubstantiated"
    policy_gap = "policy_gap"
    referred = "referred"


class CaseSeverity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class LinkKind(StrEnum):
    related = "related"
    duplicate = "duplicate"
    parent = "parent"
    child = "child"


ORDER: Final = tuple(Status)

NEXT: Final[dict[Status, frozenset[Status]]] = {
    Status.new: frozenset({Status.triage, Status.closed}),
    Status.triage: frozenset({Status.investigating, Status.new, Status.closed}),
    Status.investigating: frozenset({Status.pending_decision, Status.triage, Status.closed}),
    Status.pending_decision: frozenset({Status.closed, Status.investigating}),
    Status.closed: frozenset(),
}

# What a closed case tells detection about its alerts; None = no verdict either way.
VERDICT: Final[dict[Outcome, str | None]] = {
    Outcome.substantiated: "true_positive",
    Outcome.unsubstantiated: "false_positive",
    Outcome.policy_gap: None,
    Outcome.referred: None,
}


def parse_status(value: str, field: str = "status") -> Status:
    try:
        return Status(value)
    except ValueError:
        allowed = ", ".join(ORDER)
        raise InputError(f"unknown status {value!r} (one of {allowed})", field=field) from None


def parse_outcome(value: str, field: str = "outcome") -> Outcome:
    try:
        return Outcome(value)
    except ValueError:
        allowed = ", ".join(Outcome)
        raise InputError(f"unknown outcome {value!r} (one of {allowed})", field=field) from None


def check_move(current: Status, target: Status, outcome: Outcome | None) -> None:
    """Raise unless ``current → target`` is allowed with this outcome."""
    if target not in NEXT[current]:
        raise ConflictError(f"a case cannot move from {current} to {target}")
    if target is Status.closed and outcome is None:
        raise InputError("closing a case needs an outcome", field="outcome")
    if target is not Status.closed and outcome is not None:
        raise InputError("only closing a case sets an outcome", field="outcome")
