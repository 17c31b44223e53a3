"""One person's risk profile on a real event store: the score over time with parts that add
up to it (the last day equal to ``custodes risk``), peers of the same role and site, activity
against the peers' median; and the staff service's rules (pseudonyms only, activity audited,
"not found" for a pseudonym of nobody)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select

from custodes.access.principal import Principal
from custodes.access.roles import Role
from custodes.config import Settings
from custodes.detect.results import contexts, last_event_time, load_alerts
from custodes.errors import InputError, NotFoundError, PermissionDeniedError
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.risk import score_actors
from custodes.risk.profile import HISTORY_DAYS, staff_profile
from custodes.risk.staff import StaffService
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from custodes.store.schema import AuditEntry
from tests.web.world import ACTORS, add_alert, add_events, add_people

PEERS = ("staff-peer-7394", "staff-peer-7395")  # moderators in Dublin, like ACTORS[0]


def _world(data: Path) -> None:
    add_people(data, (*ACTORS, *PEERS))
    with EventStore.open(data) as store:
        for actor in (ACTORS[0], *PEERS):
            store.execute(
                "UPDATE people SET role = 'moderator', site = 'dublin' WHERE actor_id = ?",
                [actor],
            )
        store.execute(
            "UPDATE people SET role = 'moderator', site = 'manila', privileged = true "
            "WHERE actor_id = ?",
            [ACTORS[1]],
        )
    for day in range(20):
        add_events(data, ACTORS[0], day, count=6)  # twice the peers' activity
        for peer in PEERS:
            add_events(data, peer, day, count=3)
    add_alert(data, ACTORS[0], 2, score=0.9)
    add_alert(data, ACTORS[0], 15, score=0.5, other=ACTORS[1])
    add_alert(data, PEERS[0], 10, score=0.95)
    add_alert(data, ACTORS[1], 5, score=0.7)


def test_history_adds_up_and_ends_at_the_score_of_custodes_risk(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _world(data)
    with EventStore.open(data, read_only=True) as store:
        profile = staff_profile(store, ACTORS[0])
        as_of = last_event_time(store)
        assert as_of is not None
        ranked = {r.actor_id: r for r in score_actors(load_alerts(store), contexts(store), as_of)}
    assert profile.role == "moderator" and profile.site == "dublin"
    assert profile.risk is not None
    assert profile.risk.risk_score == ranked[ACTORS[0]].risk_score
    assert len(profile.history) == 20 < HISTORY_DAYS  # from the first day with data on
    assert profile.history[-1].day == as_of.date()
    assert profile.history[-1].score == profile.risk.risk_score
    for day in profile.history:
        assert math.fsum(v for _n, v in day.parts) == pytest.approx(day.score, abs=1e-9)
    before = [d for d in profile.history if d.day.isoformat() < "2026-03-04"]
    assert all(d.score == 0 for d in before)  # the first alert's window starts on day 2
    rises = [d.day.isoformat() for a, d in pairwise(profile.history) if d.score > a.score]
    assert rises == ["2026-03-04", "2026-03-17"]  # each alert on the day its window opens
    fading = [d.score for d in profile.history if d.day.isoformat() >= "2026-03-17"]
    assert fading == sorted(fading, reverse=True) and fading[-1] < fading[0]  # then it fades
    assert {n for d in profile.history for n, _ in d.parts} == {"unjustified_access"}


def test_peers_are_the_same_role_and_site(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _world(data)
    with EventStore.open(data, read_only=True) as store:
        profile = staff_profile(store, ACTORS[0])
        lonely = staff_profile(store, ACTORS[1])  # the only moderator in Manila
    peers = profile.peers
    assert peers.size == 2  # the two Dublin moderators, not the person
    assert len(peers.scores) == 2 and peers.scores[1] == 0.0  # one peer has no alerts
    assert peers.rank == 2  # the peer's single 0.95 alert outweighs theirs
    assert peers.median == pytest.approx(peers.scores[0] / 2)
    (access,) = [a for a in peers.activity if a.family == "data_access"]
    assert access.own == 6 and access.peers == 3  # events per active day
    assert lonely.peers.size == 0 and lonely.peers.median is None
    assert lonely.risk is not None
    assert {n for n, _ in lonely.history[-1].parts} == {"unjustified_access", "privileged"}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[StaffService]:
    data = tmp_path / "data"
    _world(data)
    settings = Settings(data_dir=data, pseudonym_key="k" * 32)
    with CaseStore(f"sqlite:///{tmp_path / 'cases.sqlite'}") as cases:
        yield StaffService(cases, settings)


def test_the_staff_service_masks_audits_and_hides_nobody(service: StaffService) -> None:
    names = Pseudonyms.load(service.store, service.settings)
    who = Principal(1, "ana", Role.investigator)
    subject = names.of(ACTORS[0])
    with EventStore.open(service.settings.data_dir, read_only=True) as events:
        view = service.profile(who, events, subject)
        assert view.actor_id is None and view.pseudonym == subject
        text = " ".join([*view.reasons, *(p.detail for p in view.parts)])
        assert names.of(ACTORS[1]) in text  # the colleague a reason names: masked
        assert not any(actor in text for actor in ACTORS)
        activity = service.activity(who, events, subject, families=["data_access"], limit=5)
        assert len(activity.events) == 5 and activity.truncated
        assert all(e.subject == subject and e.actor_id is None for e in activity.events)
        with pytest.raises(NotFoundError):
            service.profile(who, events, names.of("staff-nobody-0000"))
        with pytest.raises(NotFoundError):
            service.profile(who, events, ACTORS[0])  # a real id is no pseudonym
        with pytest.raises(InputError):
            service.activity(who, events, subject, families=["gossip"])
        with pytest.raises(PermissionDeniedError):
            service.profile(Principal(2, "tom", Role.triage_analyst), events, subject)
    with service.store.read() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "staff.activity"))
        (row,) = rows.all()
        assert (row.actor, row.target_id) == ("ana", subject)
        assert '"families":["data_access"]' in row.detail
