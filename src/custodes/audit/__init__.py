"""The append-only, hash-chained audit log: who did or read what, when, and why."""

from custodes.audit.chain import GENESIS, AuditBreak, AuditReport, append, verify

__all__ = ["GENESIS", "AuditBreak", "AuditReport", "append", "verify"]
