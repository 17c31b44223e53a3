"""The escalation picture at a glance: the open queue by band and SLA status, and intake
over time, for dashboards.

The queue (``EscalationService.queue``) answers "what next"; this answers "how are we
doing": how many open escalations sit in each band, how many have breached their clock or
are about to. An escalation is **at risk** when less than ``AT_RISK_SHARE`` of its time
(from receipt to its SLA due time) is left: a share, not a fixed number of hours, because
a P0's whole clock is shorter than a P4's warning period would be. Bands are the effective
ones (an analyst's override when there is one), as the queue shows them.

Intake trends count escalations by the week they were received, over the ``TREND_WEEKS``
weeks up to the latest one received (not up to today: an imported history still shows).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import func, select

from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.clock import utc_now_aware
from custodes.model.vocabulary import BANDS
from custodes.store.cases import CaseStore
from custodes.store.schema import Escalation
from custodes.triage.rows import utc
from custodes.triage.views import EscalationStatus

AT_RISK_SHARE: Final = 0.25
TREND_WEEKS: Final = 26
_OPEN: Final = tuple(s.value for s in EscalationStatus if s is not EscalationStatus.resolved)


class SlaStatus(StrEnum):
    breached = "breached"
    at_risk = "at risk"
    on_track = "on track"


@dataclass(frozen=True)
class BandCount:
    band: str
    sla: SlaStatus
    escalations: int


@dataclass(frozen=True)
class WeekBand:
    week: date  # the Monday the week starts on
    band: str
    escalations: int


@dataclass(frozen=True)
class EscalationOverview:
    now: datetime
    by_band: tuple[BandCount, ...]  # open escalations: every band x SLA status, zeros too
    by_status: dict[str, int]  # open escalations per workflow status
    weekly: tuple[WeekBand, ...]  # received per week and band (all statuses)

    @property
    def open_total(self) -> int:
        return sum(c.escalations for c in self.by_band)

    def sla_total(self, status: SlaStatus) -> int:
        return sum(c.escalations for c in self.by_band if c.sla is status)


def sla_status(received_at: datetime, due_at: datetime, now: datetime) -> SlaStatus:
    """Breached once due; at risk in the last quarter of the clock; on track before."""
    if due_at <= now:
        return SlaStatus.breached
    whole = (due_at - received_at).total_seconds()
    left = (due_at - now).total_seconds()
    if whole <= 0 or left < AT_RISK_SHARE * whole:
        return SlaStatus.at_risk
    return SlaStatus.on_track


def week_of(moment: datetime) -> date:
    day = moment.date()
    return day - timedelta(days=day.weekday())


def escalation_overview(
    store: CaseStore, principal: Principal, now: datetime | None = None
) -> EscalationOverview:
    """Counts for the escalation dashboard (needs ``escalation.read``)."""
    principal.require(Permission.escalation_read)
    now = now or utc_now_aware()
    band = func.coalesce(Escalation.override_band, Escalation.band)
    with store.read() as session:
        open_rows = session.execute(
            select(band, Escalation.status, Escalation.received_at, Escalation.sla_due_at).where(
                Escalation.status.in_(_OPEN)
            )
        ).all()
        latest = session.scalar(select(func.max(Escalation.received_at)))
        recent: list[tuple[str, datetime]] = []
        if latest is not None:
            since = _aware(latest) - timedelta(weeks=TREND_WEEKS)
            recent = [
                (b, r)
                for b, r in session.execute(
                    select(band, Escalation.received_at).where(Escalation.received_at > since)
                )
            ]
    sla = Counter(
        (b, sla_status(_aware(received), _aware(due), now)) for b, _s, received, due in open_rows
    )
    bands = list(BANDS) + sorted({b for b, _ in sla} - set(BANDS))
    by_band = tuple(BandCount(b, s, sla.get((b, s), 0)) for b in bands for s in SlaStatus)
    statuses = Counter(s for _b, s, _r, _d in open_rows)
    weekly = Counter((week_of(_aware(received)), b) for b, received in recent)
    return EscalationOverview(
        now=now,
        by_band=by_band,
        by_status={s: statuses.get(s, 0) for s in _OPEN},
        weekly=tuple(WeekBand(w, b, n) for (w, b), n in sorted(weekly.items())),
    )


def _aware(value: datetime) -> datetime:
    out = utc(value)
    assert out is not None
    return out
