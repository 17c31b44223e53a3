"""The SQL workbench: read-only SQL over pseudonymised views of the event store."""

from custodes.sql.guard import QueryRefused, check
from custodes.sql.workbench import (
    QueryFailed,
    QueryResult,
    QueryTimeout,
    ResultColumn,
    Sandbox,
    run,
)

__all__ = [
    "QueryFailed",
    "QueryRefused",
    "QueryResult",
    "QueryTimeout",
    "ResultColumn",
    "Sandbox",
    "check",
    "run",
]
