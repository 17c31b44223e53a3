"""Cases built on the event store (real DuckDB): merged from alerts without duplicates, a
forensic timeline around the alerts, hashed evidence that shows later tampering, and case
outcomes flowing back to detection as verdicts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from custodes.access.principal import Principal
from custodes.audit import verify
from custodes.cases import CaseService
from custodes.cases.feedback import sync_verdicts
from custodes.cases.views import EvidenceCreate, parse
from custodes.detect.feedback import verdicts
from custodes.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from tests.cases.helpers import DAY0, add_alert, add_events, audit_actions

People = dict[str, Principal]


@pytest.fixture
def world(store: EventStore) -> EventStore:
    """m042 snoops on day 3 and 4; m007 is busy elsewhere."""
    add_events(store, "m042", 1, ["login", "review_decision"])
    ev3 = add_events(store, "m042", 3, ["login", "view_private_data", "export_data", "logout"])
    ev4 = add_events(store, "m042", 4, ["view_private_data", "x-screenshot"])
    add_events(store, "m042", 20, ["login"])
    add_events(store, "m007", 3, ["login", "view_private_data"])
    add_alert(store, "m042", 3, evidence=ev3[1:3])
    add_alert(store, "m042", 4, detector="rules", score=0.6, evidence=ev4[:1])
    add_alert(store, "m042", 4, category="data_exfiltration", score=0.5)
    add_alert(store, "m007", 3)
    return store


def _ids(store: EventStore, actor: str) -> list[str]:
    rows = store.fetch_all("SELECT alert_id FROM alerts WHERE actor_id = ? ORDER BY score", [actor])
    return [r[0] for r in rows]


def test_alerts_of_one_person_merge_into_one_case_once(
    service: CaseService, cases: CaseStore, people: People, world: EventStore
) -> None:
    ana = people["ana"]
    low, mid, high = _ids(world, "m042")
    case = service.create_from_alerts(ana, [high, mid, high], world)
    assert {a.alert_id for a in case.alerts} == {high, mid}
    assert case.category == "unjustified_access" and case.severity == "high"
    assert len(case.subjects) == 1
    pseudonym = case.subjects[0].pseudonym
    assert case.title == f"unjustified access: {pseudonym}"
    # Reasons naming the person are masked in the case.
    assert all("m042" not in r and pseudonym in r for a in case.alerts for r in a.reasons)
    assert "m042" not in case.model_dump_json()
    # Already in an open case: not added twice.
    with pytest.raises(ConflictError, match="already in an open case"):
        service.create_from_alerts(ana, [mid, high], world)
    second = service.create_from_alerts(ana, [high, low], world, title="Exfil follow-up")
    assert [a.alert_id for a in second.alerts] == [low]
    assert second.category == "data_exfiltration"
    assert audit_actions(cases)[-1][1] == "case.create"
    assert verify(cases).ok


def test_from_alerts_rejects_bad_input(
    service: CaseService, people: People, world: EventStore
) -> None:
    ana = people["ana"]
    with pytest.raises(InputError) as mixed:
        service.create_from_alerts(ana, [*_ids(world, "m042")[:1], *_ids(world, "m007")], world)
    assert mixed.value.field == "alert_ids"
    with pytest.raises(InputError, match="no alert a-nope") as missing:
        service.create_from_alerts(ana, ["a-nope"], world)
    assert missing.value.field == "alert_ids"
    with pytest.raises(PermissionDeniedError):
        service.create_from_alerts(people["aud"], _ids(world, "m007"), world)


def test_the_timeline_shows_the_subject_around_the_alerts(
    service: CaseService, cases: CaseStore, people: People, world: EventStore
) -> None:
    ana = people["ana"]
    case = service.create_from_alerts(ana, _ids(world, "m042")[1:], world)
    tl = service.timeline(ana, case.id, world)
    # Day 2 .. day 6: around the alert windows (day 3 and 4) by a day; not day 1, not day 20,
    # and never m007's events.
    assert tl.window_start.replace(tzinfo=None) == DAY0 + timedelta(days=2)
    assert tl.window_end.replace(tzinfo=None) == DAY0 + timedelta(days=6)
    assert [e.action for e in tl.events] == [
        "login",
        "view_private_data",
        "export_data",
        "logout",
        "view_private_data",
        "x-screenshot",
    ]
    assert {e.subject for e in tl.events} == {case.subjects[0].pseudonym}
    assert all(e.actor_id is None for e in tl.events)
    assert [e.alert_evidence for e in tl.events] == [False, True, True, False, True, False]
    assert [e.family for e in tl.events][-1] == "custom"
    only = service.timeline(ana, case.id, world, families=["data_access", "custom"])
    assert [e.action for e in only.events] == [
        "view_private_data",
        "export_data",
        "view_private_data",
        "x-screenshot",
    ]
    short = service.timeline(ana, case.id, world, limit=2)
    assert short.truncated and len(short.events) == 2
    with pytest.raises(InputError) as bad:
        service.timeline(ana, case.id, world, families=["gossip"])
    assert bad.value.field == "families"
    with pytest.raises(NotFoundError):
        service.timeline(people["ivo"], case.id, world)
    assert [a for _, a, _ in audit_actions(cases)].count("case.timeline") == 3


def test_evidence_is_hashed_and_shows_tampering(
    service: CaseService, cases: CaseStore, people: People, world: EventStore
) -> None:
    ana = people["ana"]
    case = service.create_from_alerts(ana, _ids(world, "m042")[1:], world)
    pseudonym = case.subjects[0].pseudonym
    saved = service.add_evidence(
        ana,
        case.id,
        parse(
            EvidenceCreate,
            {"kind": "events", "title": "the exports", "event_ids": ["e-m042-3-2", "e-m042-3-1"]},
        ),
        world,
    )
    assert saved.row_count == 2 and len(saved.content_hash) == 64
    assert saved.event_ids == ["e-m042-3-1", "e-m042-3-2"]
    query = service.add_evidence(
        ana,
        case.id,
        parse(
            EvidenceCreate,
            {
                "kind": "query",
                "title": "private data views, days 3-4",
                "query": {
                    "subject": pseudonym,
                    "start": (DAY0 + timedelta(days=3)).isoformat(),
                    "end": (DAY0 + timedelta(days=5)).isoformat(),
                    "families": ["data_access"],
                },
            },
        ),
        world,
    )
    assert query.row_count == 3 and query.query is not None
    assert query.query["subject"] == pseudonym
    # Another person's event cannot become this case's evidence.
    with pytest.raises(InputError) as foreign:
        service.add_evidence(
            ana,
            case.id,
            parse(EvidenceCreate, {"kind": "events", "title": "x", "event_ids": ["e-m007-3-1"]}),
            world,
        )
    assert foreign.value.field == "event_ids"
    with pytest.raises(InputError) as who:
        service.add_evidence(
            ana,
            case.id,
            parse(
                EvidenceCreate,
                {
                    "kind": "query",
                    "title": "x",
                    "query": {
                        "subject": "S-AAAAAAAAAA",
                        "start": "2026-03-01",
                        "end": "2026-03-09",
                    },
                },
            ),
            world,
        )
    assert who.value.field == "query.subject"
    listed = service.list_evidence(ana, case.id)
    assert [e.id for e in listed] == [saved.id, query.id]
    assert service.check_evidence(ana, case.id, saved.id, world).ok
    assert service.check_evidence(ana, case.id, query.id, world).ok
    world.execute("UPDATE events SET target_id = 'acct-x' WHERE event_id = 'e-m042-3-1'")
    assert not service.check_evidence(ana, case.id, saved.id, world).ok
    assert not service.check_evidence(ana, case.id, query.id, world).ok
    actions = [a for _, a, _ in audit_actions(cases)]
    assert actions.count("evidence.add") == 2 and "evidence.read" in actions
    assert actions.count("evidence.verify") == 4
    assert verify(cases).ok


def test_case_outcomes_become_alert_verdicts(
    service: CaseService, cases: CaseStore, people: People, world: EventStore
) -> None:
    ana = people["ana"]
    low, mid, high = _ids(world, "m042")
    good = service.create_from_alerts(ana, [high, mid], world)
    bad = service.create_from_alerts(ana, [low], world)
    gap = service.create_from_alerts(ana, _ids(world, "m007"), world)
    service.transition(ana, good.id, good.version, "closed", outcome="substantiated")
    service.transition(ana, bad.id, bad.version, "closed", outcome="unsubstantiated")
    service.transition(ana, gap.id, gap.version, "closed", outcome="policy_gap")
    assert sync_verdicts(cases, world) == 3
    got = {v.alert_id: (v.verdict.value, v.analyst) for v in verdicts(world)}
    assert got == {
        high: ("true_positive", f"case-{good.id}"),
        mid: ("true_positive", f"case-{good.id}"),
        low: ("false_positive", f"case-{bad.id}"),
    }
    assert sync_verdicts(cases, world) == 0  # nothing twice
    assert len(verdicts(world)) == 3
    detail = service.get(ana, good.id)
    assert all(a.verdict == "true_positive" and a.synced_at for a in detail.alerts)
    # A closed case frees its alerts for a new case.
    again = service.create_from_alerts(ana, [high], world)
    assert [a.alert_id for a in again.alerts] == [high]
    assert verify(cases).ok
