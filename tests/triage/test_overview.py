"""The escalation overview on a real case store (SQLite and PostgreSQL): open escalations
by effective band and SLA status, intake per week, and who may look."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from custodes.access.principal import Principal
from custodes.access.roles import Role
from custodes.errors import PermissionDeniedError
from custodes.store.cases import CaseStore
from custodes.store.schema import Escalation
from custodes.triage.intake import EscalationService
from custodes.triage.overview import SlaStatus, escalation_overview, sla_status, week_of
from tests.cases.helpers import add_user

RECEIVED = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday


def record(escalation_id: str, received: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "escalation_id": escalation_id,
        "received_at": received.isoformat(),
        "source": "trusted_flagger",
        "body": "Coordinated harassment of a creator across several accounts.",
    } | fields


@pytest.fixture
def tom(cases: CaseStore) -> Principal:
    return add_user(cases, "tom", Role.triage_analyst)


def test_sla_status_is_a_share_of_the_clock() -> None:
    received = RECEIVED
    due = received + timedelta(hours=4)
    assert sla_status(received, due, received) is SlaStatus.on_track
    assert sla_status(received, due, due - timedelta(hours=1, seconds=1)) is SlaStatus.on_track
    assert sla_status(received, due, due - timedelta(minutes=59)) is SlaStatus.at_risk
    assert sla_status(received, due, due) is SlaStatus.breached
    assert sla_status(received, due, due + timedelta(days=3)) is SlaStatus.breached
    assert sla_status(due, due - timedelta(hours=1), due - timedelta(hours=2)) is SlaStatus.at_risk


def test_week_of_is_the_monday() -> None:
    assert week_of(datetime(2026, 11, 22, 23, 59, tzinfo=UTC)).isoformat() == "2026-11-16"
    assert week_of(RECEIVED).isoformat() == "2026-11-16"


def test_open_escalations_by_band_and_sla(cases: CaseStore, tom: Principal) -> None:
    service = EscalationService(cases)
    old, _ = service.submit(tom, record("old", RECEIVED - timedelta(days=20)))
    new, _ = service.submit(tom, record("new", RECEIVED))
    done, _ = service.submit(tom, record("done", RECEIVED - timedelta(days=8)))
    service.override(tom, new.id, new.version, "P0", "a creator at risk of harm")
    now = RECEIVED + timedelta(minutes=1)
    with cases.write() as session:  # resolved by whatever workflow; only the status matters
        session.get_one(Escalation, done.id).status = "resolved"
    view = escalation_overview(cases, tom, now)

    assert view.open_total == 2
    counts = {(c.band, c.sla): c.escalations for c in view.by_band if c.escalations}
    overridden = service.get(tom, new.id)
    assert overridden.band == "P0"
    expected_new = sla_status(RECEIVED, overridden.sla_due_at, now)
    assert counts == {(old.band, SlaStatus.breached): 1, ("P0", expected_new): 1}
    assert [c.band for c in view.by_band][:: len(SlaStatus)] == ["P0", "P1", "P2", "P3", "P4"]
    assert view.sla_total(SlaStatus.breached) == 1
    assert set(view.by_status) == {"open", "acknowledged", "actioned"}
    # Intake counts every escalation, resolved too, by the week it arrived.
    weeks = {(w.week.isoformat(), w.band): w.escalations for w in view.weekly}
    assert sum(weeks.values()) == 3
    assert weeks[("2026-11-16", "P0")] == 1


def test_only_escalation_readers_may_look(cases: CaseStore) -> None:
    ivy = add_user(cases, "ivy", Role.investigator)
    with pytest.raises(PermissionDeniedError):
        escalation_overview(cases, ivy)


def test_an_empty_store_has_an_empty_overview(cases: CaseStore, tom: Principal) -> None:
    view = escalation_overview(cases, tom)
    assert view.open_total == 0
    assert view.weekly == ()
    assert len(view.by_band) == 5 * len(SlaStatus)
