"""Need-to-know: which cases a principal may see (rules in ``custodes.access.roles``).

Expressed once as a SQL condition, so listing, counting and fetching one case all apply the
same rule inside the database, and a case the principal may not see is simply not found.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from custodes.access.principal import Principal
from custodes.access.roles import Permission, Role
from custodes.store.schema import Case, CaseMember


def visible(principal: Principal) -> ColumnElement[bool]:
    """A WHERE condition on ``Case`` that keeps exactly the cases ``principal`` may see."""
    if principal.role is Role.admin:
        return true()
    if not principal.can(Permission.case_read):
        return false()
    member = exists(
        select(CaseMember.user_id).where(
            CaseMember.case_id == Case.id, CaseMember.user_id == principal.user_id
        )
    )
    on_case = or_(
        Case.assignee_id == principal.user_id, Case.created_by == principal.user_id, member
    )
    if principal.can(Permission.case_read_all):
        return or_(Case.restricted.is_(False), on_case)
    return and_(on_case)
