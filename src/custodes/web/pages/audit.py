"""The audit log page (``audit.read``: auditors and admins): the log, filtered and paged, and
a button that verifies the hash chain and says where it breaks.

Thin over ``custodes.audit.log`` — the same reads as ``GET /api/audit`` and
``/api/audit/verify``, so looking at the log or verifying it is itself a row in the log.

Why the page masks staff ids: the log records what people typed (a SQL statement, an
unmasking justification, a case title), which can name a staff member by their real id.
Every page shows pseudonyms only, so the text is shown with every id of the staff
directory and of case subjects replaced by its pseudonym (``Pseudonyms.mask``); the
stored rows, and the hashes over them, are untouched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import Annotated, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from custodes.access.roles import Permission
from custodes.audit import AuditReport
from custodes.audit.log import LogEntry, read_log, verify_chain
from custodes.errors import StoreError
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.store.cases import CaseStore
from custodes.store.schema import CaseSubject
from custodes.web.deps import SettingsDep, StoreDep, event_store
from custodes.web.pages.base import PageRoute, Viewer, page_requires, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CanReadAudit = Annotated[Viewer, page_requires(Permission.audit_read)]
Filter = Annotated[str, Query(max_length=128)]
PAGE_SIZE: Final = 50


@dataclass(frozen=True)
class Row:
    """One log row as shown: staff ids in its text replaced by pseudonyms."""

    seq: int
    at: str
    actor: str
    action: str
    target: str
    reason: str
    detail: str
    hash: str


@dataclass(frozen=True)
class LogFilters:
    actor: str
    action: str
    target_type: str
    target_id: str
    page: int

    def given(self) -> dict[str, str | None]:
        return {
            "actor": self.actor or None,
            "action": self.action or None,
            "target_type": self.target_type or None,
            "target_id": self.target_id or None,
        }

    def query(self, page: int) -> str:
        params = {k: v for k, v in self.given().items() if v}
        if page > 1:
            params["page"] = str(page)
        return "/audit" + (f"?{urlencode(params)}" if params else "")


class Masker:
    """Replaces known staff ids in text by their pseudonyms, in one regex pass."""

    def __init__(self, names: Pseudonyms, staff: Iterable[str]) -> None:
        ids = sorted({s for s in staff if s}, key=len, reverse=True)
        self._names = names
        self._regex = re.compile("|".join(map(re.escape, ids))) if ids else None

    def __call__(self, text: str) -> str:
        if self._regex is None or not text:
            return text
        return self._regex.sub(lambda m: self._names.of(m.group(0)), text)


def staff_ids(store: CaseStore, settings: SettingsDep) -> set[str]:
    """Every staff id Custodes knows: case subjects, and the staff directory when the
    event store can be read (best effort: while ``detect`` holds it, the case store's)."""
    with store.read() as session:
        found = set(session.scalars(select(CaseSubject.actor_id).distinct()))
    try:
        with event_store(settings) as events:
            if events is not None:
                found |= {str(r[0]) for r in events.fetch_all("SELECT actor_id FROM people")}
    except StoreError:
        pass
    return found


def _row(entry: LogEntry, mask: Masker) -> Row:
    detail = json.dumps(entry.detail, ensure_ascii=False, sort_keys=True) if entry.detail else ""
    return Row(
        seq=entry.seq,
        at=f"{entry.at.astimezone(UTC):%Y-%m-%d %H:%M:%S}",
        actor=mask(entry.actor),
        action=entry.action,
        target=mask(f"{entry.target_type} {entry.target_id}"),
        reason=mask(entry.reason),
        detail=mask(detail),
        hash=entry.hash,
    )


def _log_page(
    request: Request,
    viewer: Viewer,
    store: StoreDep,
    settings: SettingsDep,
    filters: LogFilters,
    report: AuditReport | None,
) -> HTMLResponse:
    entries, total = read_log(
        store,
        viewer.principal,
        filters=filters.given(),
        limit=PAGE_SIZE,
        offset=(filters.page - 1) * PAGE_SIZE,
    )
    mask = Masker(Pseudonyms.load(store, settings), staff_ids(store, settings))
    return render(
        request,
        "audit/log.html",
        {
            "title": "Audit log",
            "rows": [_row(e, mask) for e in entries],
            "total": total,
            "filters": filters,
            "first": (filters.page - 1) * PAGE_SIZE + 1,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "report": report,
        },
    )


@router.get("/audit", response_class=HTMLResponse)
def log_page(
    request: Request,
    viewer: CanReadAudit,
    store: StoreDep,
    settings: SettingsDep,
    actor: Filter = "",
    action: Filter = "",
    target_type: Filter = "",
    target_id: Filter = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """The log, newest first; exact-match filters; reading it is logged."""
    filters = LogFilters(
        actor.strip(), action.strip(), target_type.strip(), target_id.strip(), page
    )
    return _log_page(request, viewer, store, settings, filters, None)


@router.get("/audit/verify", response_class=HTMLResponse)
def verify_page(
    request: Request, viewer: CanReadAudit, store: StoreDep, settings: SettingsDep
) -> HTMLResponse:
    """Walk the whole chain and show the outcome above the newest rows (which now include
    this verification). An HTMX click swaps in the outcome alone."""
    report = verify_chain(store, viewer.principal)
    if request.headers.get("HX-Request"):
        return render(request, "audit/_verify.html", {"report": report})
    return _log_page(request, viewer, store, settings, LogFilters("", "", "", "", 1), report)
