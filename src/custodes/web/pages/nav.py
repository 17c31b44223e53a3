"""The navigation: sections of pages, each link shown only to roles that may open it.

A link carries the same permission as its page's route (a test checks), so nobody is shown
a link that answers 403, and sections with nothing for a role disappear for it. New pages
slot in by adding a ``Link`` to their section:

- **Integrity** (``alert.read``/``case.read``: admin, lead, investigator, auditor) — the
  overview, the alert queue and cases under ``/integrity/…`` (a staff member's page is
  reached from the riskiest-staff list, the queue and cases, by pseudonym).
- **Escalations** (``escalation.read``: triage analyst, lead, admin, and auditors, who
  read everything) — the escalation queue goes here under ``/escalations/…``.
- **Audit** (``audit.read``: auditor, admin) — the audit log, under ``/audit/…``.
- **Data** — the SQL workbench.
- **Reports** (any logged-in user; each report shown only to roles that may read it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from custodes.access.principal import Principal
from custodes.access.roles import Permission

P = Permission


@dataclass(frozen=True)
class Link:
    label: str
    path: str
    permission: Permission | None  # None: any logged-in user


@dataclass(frozen=True)
class Section:
    label: str
    links: tuple[Link, ...]


SECTIONS: Final[tuple[Section, ...]] = (
    Section("Overview", (Link("Dashboard", "/", None),)),
    Section(
        "Integrity",
        (
            Link("Integrity overview", "/integrity/overview", P.alert_read),
            Link("Alert queue", "/integrity/alerts", P.alert_read),
            Link("Cases", "/integrity/cases", P.case_read),
        ),
    ),
    Section(
        "Escalations",
        (
            Link("Escalation overview", "/escalations/overview", P.escalation_read),
            Link("Escalation queue", "/escalations", P.escalation_read),
            Link("New escalation", "/escalations/new", P.escalation_manage),
        ),
    ),
    Section("Audit", (Link("Audit log", "/audit", P.audit_read),)),
    Section("Reports", (Link("Reports", "/reports", None),)),
    Section(
        "Data",
        (
            Link("SQL workbench", "/data/sql", P.sql_run),
            Link("Dashboards", "/data/dashboards", P.sql_run),
        ),
    ),
)


@dataclass(frozen=True)
class NavLink:
    label: str
    path: str
    current: bool


@dataclass(frozen=True)
class NavSection:
    label: str
    links: tuple[NavLink, ...]


def nav_for(principal: Principal, current_path: str) -> list[NavSection]:
    """The sections and links ``principal`` may open, the current page marked."""
    out = []
    for section in SECTIONS:
        links = tuple(
            NavLink(link.label, link.path, link.path == current_path)
            for link in section.links
            if link.permission is None or principal.can(link.permission)
        )
        if links:
            out.append(NavSection(section.label, links))
    return out


def links() -> list[Link]:
    """Every link of every section."""
    return [link for section in SECTIONS for link in section.links]
