"""The audit chain on SQLite and PostgreSQL: intact chains verify, and every edit, deletion
or reordering of rows is caught at the row where it happened."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from custodes.audit import append, verify
from custodes.store.cases import CaseStore


def _fill(cases: CaseStore, n: int = 10) -> None:
    for i in range(n):
        with cases.write() as session:
            append(
                session,
                actor="ana",
                action="case.read",
                target_type="case",
                target_id=i,
                reason="triage" if i % 2 else "",
                detail={"fields": ["title"], "n": i, "note": "ünïcode"},
            )


def _attack(cases: CaseStore, *statements: str) -> None:
    """An attacker with database access: drops the append-only guard, then tampers."""
    with cases.write_engine.begin() as conn:
        if cases.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_append_only ON audit_log")
        for statement in statements:
            conn.execute(sa.text(statement))


@pytest.mark.parametrize("split_min", [10**9, 1], ids=["one-walk", "two-halves"])
def test_an_intact_chain_verifies(cases: CaseStore, split_min: int) -> None:
    _fill(cases)
    report = verify(cases, split_min=split_min)
    assert report.ok and report.rows == 10 and report.head_seq == 10
    assert len(report.head_hash) == 64


def test_an_empty_chain_verifies(cases: CaseStore) -> None:
    report = verify(cases)
    assert report.ok and report.rows == 0


def test_the_database_refuses_to_change_or_delete_rows(cases: CaseStore) -> None:
    _fill(cases, 2)
    for statement in ("UPDATE audit_log SET actor = 'eve'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="append-only"), cases.write() as session:
            session.execute(sa.text(statement))
    assert verify(cases).ok


@pytest.mark.parametrize(
    ("statements", "seq", "words"),
    [
        (["UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 4"], 4, "changed"),
        (["UPDATE audit_log SET detail = '{\"n\": 99}' WHERE seq = 7"], 7, "changed"),
        (["DELETE FROM audit_log WHERE seq = 5"], 6, "missing"),
        (["DELETE FROM audit_log WHERE seq >= 9"], 9, "newest rows removed"),
        (
            # Swap the content of rows 3 and 4, keeping each row's own seq.
            [
                "UPDATE audit_log SET seq = -3 WHERE seq = 3",
                "UPDATE audit_log SET seq = 3 WHERE seq = 4",
                "UPDATE audit_log SET seq = 4 WHERE seq = -3",
            ],
            3,
            "moved or replaced",
        ),
    ],
    ids=["edit-reason", "edit-detail", "delete-middle", "delete-tail", "reorder"],
)
@pytest.mark.parametrize("split_min", [10**9, 1], ids=["one-walk", "two-halves"])
def test_tampering_is_found_where_it_happened(
    cases: CaseStore, statements: list[str], seq: int, words: str, split_min: int
) -> None:
    """Also with the chain cut in two and the halves walked in two processes at once."""
    _fill(cases)
    _attack(cases, *statements)
    report = verify(cases, split_min=split_min)
    assert report.first_break is not None
    assert report.first_break.seq == seq
    assert words in report.first_break.problem
