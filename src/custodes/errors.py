"""The one error hierarchy: every error says *where* (file, row, field) when it can."""

from __future__ import annotations

from pathlib import Path


class CustodesError(Exception):
    """Base of every error Custodes raises on purpose; the CLI prints these without a trace."""


class InputError(CustodesError):
    """Input that cannot be used, located as precisely as we know."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.row = row
        self.field = field
        self.reason = message
        where = []
        if self.file:
            where.append(self.file)
        if row is not None:
            where.append(f"row {row}")
        if field:
            where.append(f"field '{field}'")
        super().__init__(f"{': '.join([', '.join(where), message]) if where else message}")


class StoreError(CustodesError):
    """The store cannot be opened or used (locked, corrupt, wrong version)."""


class NotFoundError(CustodesError):
    """No such thing, or not one the caller may know exists (need-to-know)."""


class PermissionDeniedError(CustodesError):
    """The caller is known but may not do this."""


class ConflictError(CustodesError):
    """The thing changed since the caller read it (a stale version), or the move is not
    allowed from its current state."""


class RateLimitedError(CustodesError):
    """Too many attempts (failed sign-ins): refused until ``retry_after`` seconds pass."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(message)
