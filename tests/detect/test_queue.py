"""The alert queue on real stores: what each review state holds, filters and stable order,
masking of reasons, real ids only while unmasked (audited), and verdicts in a batch — all of
them or none, one audit row per alert."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from custodes.access.principal import Principal
from custodes.access.roles import Role
from custodes.cases.service import CaseService
from custodes.config import Settings
from custodes.detect.alert import Severity
from custodes.detect.feedback import Verdict, record_verdicts
from custodes.detect.queue import AlertFilter, AlertQueue, Review
from custodes.errors import InputError, NotFoundError, PermissionDeniedError
from custodes.privacy import unmasking
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from custodes.store.schema import AuditEntry
from tests.cases.helpers import add_user
from tests.web.world import ACTORS, add_alert, add_people

ANA = Principal(1, "ana", Role.investigator)


@pytest.fixture
def queue(tmp_path: Path, case_url: str) -> Iterator[AlertQueue]:
    data = tmp_path / "data"
    add_people(data)
    with CaseStore(case_url) as cases:
        yield AlertQueue(cases, Settings(data_dir=data, pseudonym_key="k" * 32))


def _events(queue: AlertQueue, *, write: bool = False) -> EventStore:
    return EventStore.open(queue.settings.data_dir, read_only=not write)


def _actions(queue: AlertQueue, action: str) -> list[AuditEntry]:
    with queue.store.read() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        session.expunge_all()
        return list(rows)


def test_review_states_filters_and_order(queue: AlertQueue) -> None:
    data = queue.settings.data_dir
    a = add_alert(data, ACTORS[0], 0, score=0.9, other=ACTORS[1])
    b = add_alert(data, ACTORS[0], 1, score=0.9)
    c = add_alert(data, ACTORS[1], 2, score=0.4)
    d = add_alert(data, ACTORS[2], 3, score=0.7)
    with _events(queue, write=True) as events:
        record_verdicts(events, [c.alert_id], Verdict.true_positive, "seen", "lead")
        events.execute("UPDATE alerts SET suppressed = 'muted' WHERE alert_id = ?", [d.alert_id])
    with _events(queue) as events:

        def ids(flt: AlertFilter, sort: str = "-score") -> list[str]:
            return [x.alert_id for x in queue.list(ANA, events, flt, sort=sort).items]

        ties = sorted([a.alert_id, b.alert_id])
        assert ids(AlertFilter(review=Review.open)) == ties  # same score: by alert id
        assert ids(AlertFilter(review=Review.judged)) == [c.alert_id]
        assert ids(AlertFilter(review=Review.active)) == [*ties, c.alert_id]
        assert ids(AlertFilter(review=Review.all)) == [*ties, d.alert_id, c.alert_id]
        assert ids(AlertFilter(), sort="window_end") == [a.alert_id, b.alert_id, c.alert_id]
        names = queue.pseudonyms
        assert ids(AlertFilter(subject=names.of(ACTORS[0]))) == ties
        assert ids(AlertFilter(subject=ACTORS[0])) == []  # a real id finds nothing
        assert ids(AlertFilter(min_score=0.5)) == ties
        assert ids(AlertFilter(severity=Severity.low)) == []
        page = queue.list(ANA, events, AlertFilter(review=Review.all), limit=2, offset=2)
        assert page.total == 4 and [x.alert_id for x in page.items] == [d.alert_id, c.alert_id]
        assert (
            page.items[0].suppressed == "muted" and page.items[1].verdict is Verdict.true_positive
        )
        shown = queue.get(ANA, events, a.alert_id)
        assert shown.subject == names.of(ACTORS[0]) and shown.actor_id is None
        text = " ".join(shown.reasons)
        assert names.of(ACTORS[1]) in text and not any(x in text for x in ACTORS)
        assert queue.choices(ANA, events) == {
            "category": ["unjustified_access"],
            "detector": ["baselines"],
        }
        with pytest.raises(NotFoundError):
            queue.get(ANA, events, "a-nope")
        with pytest.raises(InputError):
            queue.list(ANA, events, sort="name")
        with pytest.raises(PermissionDeniedError):
            queue.list(Principal(9, "tom", Role.triage_analyst), events)
    assert queue.list(ANA, None).total == 0  # nothing ingested yet


def test_a_real_id_shows_only_while_unmasked_and_is_audited(queue: AlertQueue) -> None:
    data = queue.settings.data_dir
    alert = add_alert(data, ACTORS[0], 0)
    ana = add_user(queue.store, "ana", Role.investigator)
    with _events(queue) as events:
        CaseService(queue.store, queue.settings).create_from_alerts(ana, [alert.alert_id], events)
        subject = queue.pseudonyms.of(ACTORS[0])
        with queue.store.write() as session:
            unmasking.request(
                session, ana, subject, "interview booked today", settings=queue.settings
            )
        (item,) = queue.list(ana, events).items
        assert item.actor_id == ACTORS[0]
        other = add_user(queue.store, "ivo", Role.investigator)
        assert queue.list(other, events).items[0].actor_id is None
    (row,) = _actions(queue, "alert.read_unmasked")
    assert (row.actor, row.target_id) == ("ana", subject)


def test_judging_a_batch_is_all_or_nothing_and_audited(queue: AlertQueue) -> None:
    data = queue.settings.data_dir
    made = [add_alert(data, ACTORS[i], i) for i in range(3)]
    ids = [a.alert_id for a in made]
    with _events(queue, write=True) as events:
        with pytest.raises(NotFoundError):
            queue.judge(ANA, events, [*ids, "a-0000000000000000"], Verdict.false_positive, "x")
        assert events.fetch_value("SELECT count(*) FROM alert_verdicts") == 0
        with pytest.raises(InputError):
            queue.judge(ANA, events, ids, Verdict.false_positive, "   ")
        with pytest.raises(InputError):
            queue.judge(ANA, events, [], Verdict.false_positive, "ok")
        with pytest.raises(PermissionDeniedError):
            queue.judge(
                Principal(5, "audrey", Role.auditor), events, ids, Verdict.false_positive, "no"
            )
        done = queue.judge(ANA, events, [*ids, ids[0]], Verdict.false_positive, " shift swap ")
        assert [r.alert_id for r in done] == ids  # once each, in order
        assert {r.reason for r in done} == {"shift swap"}
        assert events.fetch_value("SELECT count(*) FROM alert_verdicts") == 3
        assert queue.list(ANA, events, AlertFilter(review=Review.open)).total == 0
    rows = _actions(queue, "alert.verdict")
    assert sorted(r.target_id for r in rows) == sorted(ids)
    assert {(r.actor, r.reason, r.detail) for r in rows} == {
        ("ana", "shift swap", '{"verdict":"false_positive"}')
    }


def test_pseudonym_masker_matches_mask() -> None:
    names = Pseudonyms(b"k" * 32)
    ids = ["u1", "u12", "staff-7", ""]
    text = "u12 met u1 and staff-7 (u123, not staff-70?)"
    assert names.masker(ids)(text) == names.mask(text, ids)
    assert names.masker([])(text) == text
