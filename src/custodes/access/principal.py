"""The acting user, as every service sees it.

Services take a ``Principal`` rather than a user row so that the web layer, the CLI and tests
can all say "who is doing this" the same way, and so that permission checks happen in one
place (``roles.MATRIX``) instead of being re-derived from database rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from custodes.access.roles import Permission, Role, can
from custodes.errors import PermissionDeniedError


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return can(self.role, permission)

    def require(self, permission: Permission) -> None:
        """Raise ``PermissionDeniedError`` unless this principal holds ``permission``."""
        if not self.can(permission):
            raise PermissionDeniedError(f"{self.username} may not {permission.value}")
