"""Deferred audit rows (``audit.chain.deferred``): written last in their transaction, in the
order asked, or not at all; linked by the database (``seal_in``) exactly as by Python."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from custodes.audit import chain, verify
from custodes.store.cases import CaseStore
from custodes.store.schema import AuditEntry
from tests.conftest import case_store_url


def _actions(cases: CaseStore) -> list[tuple[int, str, str]]:
    with cases.read() as session:
        rows = session.execute(
            sa.select(AuditEntry.seq, AuditEntry.action, AuditEntry.target_id).order_by(
                AuditEntry.seq
            )
        ).all()
    return [(int(s), str(a), str(t)) for s, a, t in rows]


def test_deferred_rows_are_written_at_the_end_in_the_order_asked(cases: CaseStore) -> None:
    with cases.write() as session, chain.deferred(session):
        chain.defer(session, actor="ana", action="a.first", target_type="t", target_id=1)
        # Not written yet: the head is untouched until the block ends.
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0
        chain.defer(session, actor="ana", action="a.second", target_type="t", target_id=2)
        # An immediate append inside the block writes the deferred rows first.
        entry = chain.append(session, actor="ana", action="a.third", target_type="t", target_id=3)
        assert entry.seq == 3
        chain.defer(session, actor="ana", action="a.fourth", target_type="t", target_id=4)
    assert _actions(cases) == [
        (1, "a.first", "1"),
        (2, "a.second", "2"),
        (3, "a.third", "3"),
        (4, "a.fourth", "4"),
    ]
    assert verify(cases).ok


def test_a_failed_transaction_writes_no_deferred_row(cases: CaseStore) -> None:
    def fail() -> None:
        with cases.write() as session, chain.deferred(session):
            chain.defer(session, actor="ana", action="a.lost", target_type="t", target_id=1)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail()
    with cases.write() as session, chain.deferred(session):
        chain.defer(session, actor="ana", action="a.kept", target_type="t", target_id=2)
    assert _actions(cases) == [(1, "a.kept", "2")]
    assert verify(cases).ok


def test_defer_outside_a_deferred_block_appends_at_once(cases: CaseStore) -> None:
    with cases.write() as session:
        chain.defer(session, actor="ana", action="a.now", target_type="t", target_id=1)
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 1
    assert verify(cases).ok


@pytest.mark.postgres
@pytest.mark.parametrize("n", [1, 2, 5])
def test_rows_linked_by_the_database_verify(postgres_cases: CaseStore, n: int) -> None:
    """``seal_in`` hashes in SQL what ``verify`` hashes in Python: non-ASCII text, newlines,
    an empty reason, several rows in one statement, before and after Python-linked rows."""
    cases = postgres_cases
    with cases.write() as session:
        chain.append(session, actor="bob", action="b.before", target_type="t", target_id=0)
    for round_ in range(2):
        with cases.write() as session, chain.deferred(session):
            for i in range(n):
                chain.defer(
                    session,
                    actor="ána",
                    action="a.sql",
                    target_type="case",
                    target_id=f"{round_}-{i}",
                    reason="ü\nß" * i,
                    detail={"i": i, "note": "ñ — 𝄞", "nested": {"b": [1, 2]}},
                )
            chain.seal_in(session, chain.seal_statement, {})
    with cases.write() as session:
        chain.append(session, actor="bob", action="b.after", target_type="t", target_id=0)
    report = verify(cases)
    assert report.ok, report.first_break
    assert report.rows == report.head_seq == 2 * n + 2


@pytest.fixture
def postgres_cases(tmp_path: Path) -> Iterator[CaseStore]:
    for url in case_store_url("postgresql", tmp_path):
        with CaseStore(url) as store:
            yield store
