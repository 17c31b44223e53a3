"""The reports page: the insight reports in the data dir (``custodes report …``, and the
scheduled run), listed and served to those entitled to them.

Who sees what follows the report's content, not a page permission: escalation and
transparency reports need ``escalation.read``; integrity reports ``alert.read``; a case
report ``case.read`` *and* the case itself under need-to-know (the same rule as the case
page, so a report never shows what its case would hide). A report made with a real identity
(``-unmasked``) is never served here: its maker has it, and an unmasking is not passed on.
Opening a report file is an audited read (``report.read``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy import select

from custodes import audit
from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.cases.visibility import visible
from custodes.errors import NotFoundError
from custodes.reports.catalogue import ReportEntry, find, list_reports
from custodes.store.cases import CaseStore
from custodes.store.schema import Case
from custodes.web.deps import SettingsDep, StoreDep
from custodes.web.pages.base import PageRoute, ViewerDep, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

NEEDS: Final = {
    "escalations": Permission.escalation_read,
    "transparency": Permission.escalation_read,
    "integrity": Permission.alert_read,
    "case": Permission.case_read,
}
MEDIA: Final = {"html": "text/html", "pdf": "application/pdf", "csv": "text/csv"}
TITLES: Final = {
    "escalations": "Escalations",
    "transparency": "Transparency export",
    "integrity": "Integrity",
    "case": "Case report",
}


@dataclass(frozen=True)
class Row:
    name: str
    title: str
    about: str  # the period, or the case
    made_at: str
    formats: tuple[str, ...]


def readable(
    store: CaseStore, principal: Principal, entries: list[ReportEntry]
) -> list[ReportEntry]:
    """The reports ``principal`` may open."""
    allowed = [
        e
        for e in entries
        if not e.unmasked and principal.can(NEEDS.get(e.kind, Permission.audit_read))
    ]
    case_ids = {e.case_id for e in allowed if e.case_id is not None}
    seen: set[int] = set()
    if case_ids:
        with store.read() as session:
            seen = set(
                session.scalars(select(Case.id).where(Case.id.in_(case_ids), visible(principal)))
            )
    return [e for e in allowed if e.case_id is None or e.case_id in seen]


def _row(entry: ReportEntry) -> Row:
    about = (
        f"case {entry.case_id}"
        if entry.case_id is not None
        else (entry.period.label if entry.period is not None else "")
    )
    return Row(
        name=entry.name,
        title=TITLES.get(entry.kind, entry.kind),
        about=about,
        made_at=f"{entry.made_at.astimezone(UTC):%Y-%m-%d %H:%M}",
        formats=tuple(f for f in ("pdf", "html", "csv") if f in entry.files),
    )


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request, viewer: ViewerDep, store: StoreDep, settings: SettingsDep
) -> HTMLResponse:
    """Every report this viewer may open, newest first."""
    entries = readable(store, viewer.principal, list_reports(settings.data_dir))
    return render(
        request,
        "reports/list.html",
        {"title": "Reports", "rows": [_row(e) for e in entries]},
    )


@router.get("/reports/{name}.{fmt}")
def report_file(
    name: str, fmt: str, viewer: ViewerDep, store: StoreDep, settings: SettingsDep
) -> FileResponse:
    """One report file; a report this viewer may not open is not found (need-to-know)."""
    entry = find(settings.data_dir, name)
    if entry is None or fmt not in entry.files or not readable(store, viewer.principal, [entry]):
        raise NotFoundError(f"no report {name}.{fmt}")
    with store.write() as session:
        audit.append(
            session,
            actor=viewer.principal.username,
            action="report.read",
            target_type="report",
            target_id=f"{name}.{fmt}",
        )
    disposition = "inline" if fmt == "html" else "attachment"
    return FileResponse(
        entry.files[fmt],
        media_type=MEDIA[fmt],
        filename=f"{name}.{fmt}",
        content_disposition_type=disposition,
    )
