"""Concurrent intake on PostgreSQL, where writers really overlap: the audit chain stays
whole, every escalation is stored once, and intakes about the same subject see each other
(each counts and re-rates the ones committed before it, as when they ran one at a time)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from custodes.access.roles import Role
from custodes.audit import verify
from custodes.errors import ConflictError
from custodes.store.cases import CaseStore
from custodes.store.schema import AuditEntry, Escalation, EscalationKey, EscalationRevision
from custodes.triage.intake import EscalationService
from tests.cases.helpers import add_user
from tests.conftest import case_store_url
from tests.triage.test_intake import record

pytestmark = pytest.mark.postgres

THREADS = 6


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[CaseStore]:
    for url in case_store_url("postgresql", tmp_path):
        with CaseStore(url) as store:
            yield store


def _together(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(0..n-1)`` on ``n`` threads released at once; their results or errors."""
    start = threading.Barrier(n)
    out: list[Any] = [None] * n

    def run(i: int) -> None:
        start.wait()
        try:
            out[i] = work(i)
        except Exception as exc:  # collected, asserted on by the test
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _count(cases: CaseStore, model: Any) -> int:
    with cases.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_concurrent_intakes_keep_the_chain_and_store_each_once(pg: CaseStore) -> None:
    tom = add_user(pg, "tom", Role.triage_analyst)
    service = EscalationService(pg)
    per_thread = 8

    def submit_many(i: int) -> list[int]:
        made = []
        for j in range(per_thread):
            ident = f"t{i}-{j}"
            detail, created = service.submit(
                tom, record(escalation_id=ident, subject_ids=[f"acct:{ident}"])
            )
            assert created
            made.append(detail.id)
        return made

    results = _together(THREADS, submit_many)
    assert not [r for r in results if isinstance(r, Exception)], results
    ids = [pk for r in results for pk in r]
    total = THREADS * per_thread
    assert len(set(ids)) == total
    assert _count(pg, Escalation) == total
    assert _count(pg, EscalationKey) == total
    assert _count(pg, EscalationRevision) == 2 * total
    assert _count(pg, AuditEntry) == total
    report = verify(pg)
    assert report.ok, report.first_break
    assert report.rows == report.head_seq == total
    with pg.read() as session:
        targets = session.scalars(select(AuditEntry.target_id)).all()
    assert sorted(int(t) for t in targets) == sorted(ids)  # one create row each, right ids


def test_concurrent_intakes_about_one_subject_all_see_each_other(pg: CaseStore) -> None:
    tom = add_user(pg, "tom", Role.triage_analyst)
    service = EscalationService(pg)

    def submit(i: int) -> int:
        detail, _ = service.submit(
            tom, record(escalation_id=f"same-{i}", subject_ids=["acct:shared"])
        )
        return detail.id

    results = _together(THREADS, submit)
    assert not [r for r in results if isinstance(r, Exception)], results
    clusters = []
    for pk in results:
        detail = service.get(tom, pk)
        coordination = next(f for f in detail.factors if f.name == "coordination")
        clusters.append(coordination.input)
    # Each later intake re-rated the earlier ones: all know the whole cluster.
    assert all(f"cluster of {THREADS}" in c for c in clusters), clusters
    assert verify(pg).ok


def test_the_same_escalation_sent_concurrently_is_stored_once(pg: CaseStore) -> None:
    tom = add_user(pg, "tom", Role.triage_analyst)
    service = EscalationService(pg)

    def submit(i: int) -> bool:
        _, created = service.submit(tom, record(escalation_id="one", reach=1_000 + i))
        return created

    results = _together(THREADS, submit)
    # One creates it; each other one updates it (its reach differs) or, having lost the race
    # to insert, is told to send it again: never a second row, never a half-written one.
    created = [r for r in results if r is True]
    assert len(created) == 1, results
    assert all(r is False or isinstance(r, ConflictError) for r in results if r is not True)
    assert _count(pg, Escalation) == 1
    assert verify(pg).ok


def test_intakes_without_keys_and_later_steps_keep_the_chain(pg: CaseStore) -> None:
    """No subject and no URL (no key locks, no related escalations); then the ORM paths
    (an update, an override, an audited read), each sealing its audit rows with its commit."""
    tom = add_user(pg, "tom", Role.triage_analyst)
    service = EscalationService(pg)

    def submit(i: int) -> int:
        detail, _ = service.submit(
            tom, record(escalation_id=f"bare-{i}", subject_ids=[], body="a threat, no link")
        )
        return detail.id

    ids = _together(THREADS, submit)
    assert not [r for r in ids if isinstance(r, Exception)], ids
    first = ids[0]
    updated, created = service.submit(
        tom, record(escalation_id="bare-0", subject_ids=[], body="a threat, no link", reach=9)
    )
    assert not created and updated.id == first
    overridden = service.override(tom, first, updated.version, "P0", "confirmed by phone")
    assert service.get(tom, first).version == overridden.version
    report = verify(pg)
    assert report.ok, report.first_break
    with pg.read() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions.count("escalation.create") == THREADS
    later = [a for a in actions if a != "escalation.create"]
    assert later[0] == "escalation.update" and later[-2:] == [
        "escalation.override",
        "escalation.read",
    ], later
