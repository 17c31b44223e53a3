"""What making a report reads from: the acting user, the stores, pseudonyms and the triage
policy in force — gathered once by the caller (the CLI, a scheduler, the web app), so
each report kind is one call and every kind reads the same things the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.errors import InputError
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.reports import documents, escalations, integrity, transparency
from custodes.reports.period import Period
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from custodes.triage.policy import Policy

PERIODIC: Final = ("escalations", "integrity", "transparency")
# What each periodic kind needs of the acting user.
NEEDS: Final[dict[str, tuple[Permission, ...]]] = {
    "escalations": (Permission.escalation_read,),
    "integrity": (Permission.alert_read, Permission.case_read),
    "transparency": (Permission.escalation_read,),
}


@dataclass(frozen=True)
class Sources:
    principal: Principal
    cases: CaseStore
    events: EventStore | None  # None before anything was ingested
    pseudonyms: Pseudonyms
    policy: Policy  # the triage policy in force (with a learned adjustment, if any)
    base: Policy  # the same before any adjustment

    def may(self, kind: str) -> bool:
        """Whether the acting user holds what ``kind`` needs."""
        return all(self.principal.can(p) for p in NEEDS[kind])

    def periodic(self, kind: str, period: Period, folder: Path) -> documents.Written:
        """Build one periodic report and write its files into ``folder``."""
        if kind == "escalations":
            return documents.write_escalations(
                escalations.build(self.principal, self.cases, period, self.policy, base=self.base),
                folder,
            )
        if kind == "integrity":
            return documents.write_integrity(
                integrity.build(self.principal, self.cases, self.events, period, self.pseudonyms),
                folder,
            )
        if kind == "transparency":
            return documents.write_transparency(
                transparency.build(self.principal, self.cases, self.events, period), folder
            )
        raise InputError(f"unknown report {kind!r} (one of {', '.join(PERIODIC)})", field="kind")
