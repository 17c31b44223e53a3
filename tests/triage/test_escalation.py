"""Escalation input: contract §1.6 fields validated, with errors that name the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from custodes.errors import InputError
from custodes.triage.escalation import EscalationInput


def _data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "received_at": "2026-11-20T10:00:00",
        "source": "user_report",
        "body": "He said he would hurt her tomorrow.",
    }
    return data | overrides


def test_minimal_escalation() -> None:
    e = EscalationInput.from_dict(_data())
    assert e.received_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # no offset means UTC
    assert e.source == "user_report"
    assert e.subject_ids == ()
    assert e.escalation_id is None
    assert e.deadline is None
    assert e.text == "He said he would hurt her tomorrow."


def test_every_field_is_read_and_normalised() -> None:
    e = EscalationInput.from_dict(
        _data(
            escalation_id="esc-1",
            received_at="2026-11-20T10:00:00-03:00",
            title="Ameaça",
            language="PT",
            reported_category="violent_threat",
            subject_ids="acc-1; acc-2;acc-1",
            reach="12_000",
            jurisdiction="br",
            requester="Polícia Civil",
            deadline="2026-11-21T10:00:00Z",
            x_channel="email",
        )
    )
    assert e.received_at.utcoffset() == timedelta(hours=-3)
    assert e.language == "pt"
    assert e.jurisdiction == "BR"
    assert e.subject_ids == ("acc-1", "acc-2")
    assert e.reach == 12000
    assert e.deadline == datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    assert e.attrs == {"x_channel": "email"}  # unknown fields are kept, never an error
    assert e.text.startswith("Ameaça\n")


def test_typed_values_are_accepted() -> None:
    received = datetime(2026, 11, 20, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    e = EscalationInput.from_dict(_data(received_at=received, subject_ids=["a"], reach=5.0))
    assert e.received_at == received
    assert e.reach == 5


def test_to_dict_round_trips() -> None:
    e = EscalationInput.from_dict(_data(subject_ids=["a", "b"], deadline="2026-11-22T00:00Z"))
    assert EscalationInput.from_dict(e.to_dict()) == e


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"received_at": None}, "received_at", "is required"),
        ({"received_at": "yesterday"}, "received_at", "ISO-8601"),
        ({"received_at": 17}, "received_at", "ISO-8601"),
        ({"source": None}, "source", "is required"),
        ({"source": "police"}, "source", "unknown source 'police'"),
        ({"body": "   "}, "body", "is required"),
        ({"body": 3}, "body", "must be text"),
        ({"language": "spanish"}, "language", "ISO 639-1"),
        ({"jurisdiction": "ESP"}, "jurisdiction", "ISO 3166-1"),
        ({"reach": -1}, "reach", "must not be negative"),
        ({"reach": "many"}, "reach", "whole number"),
        ({"reach": True}, "reach", "whole number"),
        ({"reach": 1.5}, "reach", "whole number"),
        ({"subject_ids": 42}, "subject_ids", "list of ids"),
        ({"subject_ids": ["a", 2]}, "subject_ids", "must be text"),
        ({"deadline": "soon"}, "deadline", "ISO-8601"),
        ({"title": "x" * 5000}, "title", "longer than 4096"),
    ],
)
def test_bad_fields_are_named(overrides: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        EscalationInput.from_dict(_data(**overrides), row=7)
    assert caught.value.field == field
    assert caught.value.row == 7
    assert reason in str(caught.value)
    assert f"row 7, field '{field}'" in str(caught.value)


def test_not_a_mapping() -> None:
    with pytest.raises(InputError, match="mapping"):
        EscalationInput.from_dict(["x"])  # type: ignore[arg-type]


def test_naive_datetimes_cannot_be_constructed() -> None:
    with pytest.raises(InputError, match="timezone-aware"):
        EscalationInput(received_at=datetime(2026, 1, 1), source="press", body="x")
