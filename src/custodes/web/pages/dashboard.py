"""The home dashboard and the two section overviews (integrity, escalations).

Thin over the domain: ``risk.overview.integrity_overview`` (the event store, opened
read-only for the request and closed at once, like the alert API) and
``triage.overview.escalation_overview`` (the case store). This module only pseudonymises
and arranges; every number comes from those two functions.

The home page shows each viewer the panels their role may see: integrity panels need
``alert.read`` (risk is computed from alerts), escalation panels ``escalation.read``. The
section overviews show one side in more depth, and answer 403 to other roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from custodes.access.roles import Permission
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.risk.overview import integrity_overview
from custodes.triage.overview import SlaStatus, escalation_overview
from custodes.web import charts
from custodes.web.deps import SettingsDep, StoreDep, event_store
from custodes.web.pages.base import (
    CHART_SCRIPTS,
    SCRIPTS,
    PageRoute,
    Viewer,
    ViewerDep,
    page_requires,
    render,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

P = Permission
CanSeeIntegrity = Annotated[Viewer, page_requires(P.alert_read)]
CanSeeEscalations = Annotated[Viewer, page_requires(P.escalation_read)]

HOME_TOP: Final = 10  # riskiest staff on the home page
SECTION_TOP: Final = 25  # and on the integrity overview


@dataclass(frozen=True)
class Figure:
    """A headline number."""

    label: str
    value: int | str
    tone: str = ""  # "alarm" for numbers that need someone now


@dataclass(frozen=True)
class Panels:
    figures: tuple[Figure, ...]
    charts: tuple[charts.Chart, ...]
    as_of: str


def integrity_panels(store: StoreDep, settings: SettingsDep, top: int) -> Panels:
    names = Pseudonyms.load(store, settings)
    with event_store(settings) as events:
        overview = integrity_overview(events)
    levels = {level.value: n for level, n in overview.levels.items()}
    as_of = f"{overview.as_of:%Y-%m-%d %H:%M} UTC"
    riskiest = [
        {
            "rank": r.rank,
            "subject": names.of(r.actor_id),
            "score": r.risk_score,
            "level": r.level.value,
            "categories": list(r.categories),
            "alerts": sum(1 for c in r.contributions if c.kind == "alert"),
        }
        for r in overview.ranked[:top]
    ]
    return Panels(
        figures=(
            Figure("critical risk", levels["critical"], "alarm" if levels["critical"] else ""),
            Figure("high risk", levels["high"]),
            Figure("open alerts", overview.open_total),
        ),
        charts=(
            charts.risk_distribution(
                [r.risk_score for r in overview.ranked], levels, overview.staff, as_of
            ),
            charts.top_staff(riskiest),
            charts.open_alerts([(c.category, c.severity, c.alerts) for c in overview.open_alerts]),
            charts.weekly(
                "alert-trend",
                "Alerts per week",
                [(w.week, w.category, w.alerts) for w in overview.weekly_alerts],
                series="category",
                what="alerts",
            ),
        ),
        as_of=as_of,
    )


def escalation_panels(viewer: Viewer, store: StoreDep) -> Panels:
    overview = escalation_overview(store, viewer.principal)
    breached = overview.sla_total(SlaStatus.breached)
    return Panels(
        figures=(
            Figure("open escalations", overview.open_total),
            Figure("past SLA", breached, "alarm" if breached else ""),
            Figure("SLA at risk", overview.sla_total(SlaStatus.at_risk)),
        ),
        charts=(
            charts.escalations_by_band(
                [(c.band, c.sla.value, c.escalations) for c in overview.by_band]
            ),
            charts.weekly(
                "escalation-trend",
                "Escalations received per week",
                [(w.week, w.band, w.escalations) for w in overview.weekly],
                series="band",
                what="escalations",
                colours=charts.BAND_COLOURS,
            ),
        ),
        as_of=f"{overview.now:%Y-%m-%d %H:%M} UTC",
    )


def _page(request: Request, template: str, title: str, **context: Any) -> HTMLResponse:
    return render(
        request,
        template,
        {"title": title, "scripts": (*SCRIPTS, *CHART_SCRIPTS), **context},
    )


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request, viewer: ViewerDep, store: StoreDep, settings: SettingsDep
) -> HTMLResponse:
    """What needs attention, for whoever is looking: their role's panels only."""
    integrity = integrity_panels(store, settings, HOME_TOP) if viewer.can(P.alert_read) else None
    escalations = escalation_panels(viewer, store) if viewer.can(P.escalation_read) else None
    return _page(
        request, "dashboard/home.html", "Dashboard", integrity=integrity, escalations=escalations
    )


@router.get("/integrity/overview", response_class=HTMLResponse)
def integrity_page(
    request: Request, _viewer: CanSeeIntegrity, store: StoreDep, settings: SettingsDep
) -> HTMLResponse:
    """Risk over the staff, the riskiest by pseudonym, open alerts and their trend."""
    return _page(
        request,
        "dashboard/integrity.html",
        "Integrity overview",
        integrity=integrity_panels(store, settings, SECTION_TOP),
    )


@router.get("/escalations/overview", response_class=HTMLResponse)
def escalations_page(request: Request, viewer: CanSeeEscalations, store: StoreDep) -> HTMLResponse:
    """The open queue by band and SLA status, and intake per week."""
    return _page(
        request,
        "dashboard/escalations.html",
        "Escalation overview",
        escalations=escalation_panels(viewer, store),
    )
