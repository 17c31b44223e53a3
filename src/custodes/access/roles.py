"""Roles and the permission matrix: the one place that says who may do what.

docs/permissions.md shows this matrix to people; a test keeps the two equal.

Need-to-know sits on top of permissions: ``case.read`` lets a user see the cases they are on
(assignee, creator or member); ``case.read_all`` lets them see every case that is not
restricted; a restricted case is visible to its members and to admins only. A case a user
may not see does not exist for them (404, never 403), so ids cannot be probed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Role(StrEnum):
    admin = "admin"
    lead = "lead"
    investigator = "investigator"
    triage_analyst = "triage_analyst"
    auditor = "auditor"


class Permission(StrEnum):
    case_read = "case.read"
    case_read_all = "case.read_all"
    case_create = "case.create"
    case_update = "case.update"  # edit, notes, tasks, links, workflow moves
    case_assign = "case.assign"
    case_close = "case.close"
    evidence_read = "evidence.read"
    evidence_add = "evidence.add"
    alert_read = "alert.read"
    alert_verdict = "alert.verdict"
    audit_read = "audit.read"
    user_read = "user.read"
    user_manage = "user.manage"
    unmask_request = "unmask.request"
    unmask_approve = "unmask.approve"
    escalation_read = "escalation.read"
    escalation_manage = "escalation.manage"
    sql_run = "sql.run"  # read-only SQL over pseudonymised views of the event store


P = Permission
_INVESTIGATE: Final = {
    P.case_read,
    P.case_create,
    P.case_update,
    P.evidence_read,
    P.evidence_add,
    P.alert_read,
    P.alert_verdict,
    P.unmask_request,
    P.sql_run,
}

MATRIX: Final[dict[Role, frozenset[Permission]]] = {
    Role.admin: frozenset(Permission),
    Role.lead: frozenset(
        _INVESTIGATE
        | {
            P.case_read_all,
            P.case_assign,
            P.case_close,
            P.user_read,
            P.unmask_approve,
            P.escalation_read,
        }
    ),
    Role.investigator: frozenset(_INVESTIGATE | {P.case_close}),
    Role.triage_analyst: frozenset({P.escalation_read, P.escalation_manage, P.unmask_request}),
    Role.auditor: frozenset(
        {
            P.case_read,
            P.case_read_all,
            P.evidence_read,
            P.alert_read,
            P.audit_read,
            P.user_read,
            P.escalation_read,
            P.sql_run,
        }
    ),
}


def can(role: Role | str, permission: Permission) -> bool:
    try:
        return permission in MATRIX[Role(role)]
    except ValueError:  # an unknown role may do nothing
        return False
