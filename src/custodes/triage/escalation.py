"""One escalation as triage receives it (data contract §1.6), checked field by field.

Escalations arrive from files, the HTTP API and other teams' scripts, so everything is
validated here once, with an :class:`~custodes.errors.InputError` that names the field:
a caller fixing a rejected escalation needs to know *which* value was wrong. Timestamps
become timezone-aware (the contract reads an offset-less timestamp as UTC), so every clock
computed from them later is unambiguous across time zones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

from custodes.errors import InputError
from custodes.model.schema import ESCALATIONS
from custodes.model.vocabulary import ESCALATION_SOURCES

FIELDS: Final = (
    "escalation_id",
    "received_at",
    "source",
    "title",
    "body",
    "language",
    "reported_category",
    "subject_ids",
    "reach",
    "jurisdiction",
    "requester",
    "deadline",
)
_LANGUAGE: Final = re.compile(r"[a-z]{2}$")
_COUNTRY: Final = re.compile(r"[A-Z]{2}$")
_MAX_LENGTH: Final = {f.name: f.max_length for f in ESCALATIONS.fields}
_Fail = Callable[[str, str], InputError]


@dataclass(frozen=True)
class EscalationInput:
    """A validated escalation. ``attrs`` keeps unknown extra fields, as the contract asks."""

    received_at: datetime
    source: str
    body: str
    escalation_id: str | None = None
    title: str = ""
    language: str | None = None
    reported_category: str | None = None
    subject_ids: tuple[str, ...] = ()
    reach: int | None = None
    jurisdiction: str | None = None
    requester: str | None = None
    deadline: datetime | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        for name in ("received_at", "deadline"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise InputError("must be timezone-aware", field=name)

    @property
    def text(self) -> str:
        """Title and body together: what the reading of the escalation looks at."""
        return f"{self.title}\n{self.body}" if self.title else self.body

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, row: int | None = None) -> EscalationInput:
        """Validate a mapping of contract fields (strings from a file, or typed values);
        raises :class:`InputError` naming the first bad field (and ``row`` when given)."""
        if not isinstance(data, Mapping):
            raise InputError("an escalation must be a mapping of fields", row=row)

        def fail(name: str, reason: str) -> InputError:
            return InputError(reason, row=row, field=name)

        received = _timestamp(data.get("received_at"), "received_at", fail)
        if received is None:
            raise fail("received_at", "is required")
        source = _text(data, "source", fail)
        if source is None:
            raise fail("source", "is required")
        if source not in ESCALATION_SOURCES:
            raise fail(
                "source",
                f"unknown source '{source}'; expected one of: {', '.join(ESCALATION_SOURCES)}",
            )
        body = _text(data, "body", fail)
        if body is None:
            raise fail("body", "is required")
        language = _text(data, "language", fail)
        if language is not None:
            language = language.lower()
            if not _LANGUAGE.match(language):
                raise fail("language", f"must be an ISO 639-1 code such as 'es', not {language!r}")
        jurisdiction = _text(data, "jurisdiction", fail)
        if jurisdiction is not None:
            jurisdiction = jurisdiction.upper()
            if not _COUNTRY.match(jurisdiction):
                raise fail(
                    "jurisdiction", f"must be an ISO 3166-1 alpha-2 code, not {jurisdiction!r}"
                )
        return cls(
            escalation_id=_text(data, "escalation_id", fail),
            received_at=received,
            source=source,
            title=_text(data, "title", fail) or "",
            body=body,
            language=language,
            reported_category=_text(data, "reported_category", fail),
            subject_ids=_subjects(data.get("subject_ids"), fail),
            reach=_reach(data.get("reach"), fail),
            jurisdiction=jurisdiction,
            requester=_text(data, "requester", fail),
            deadline=_timestamp(data.get("deadline"), "deadline", fail),
            attrs={k: v for k, v in data.items() if k not in FIELDS},
        )

    def to_dict(self) -> dict[str, Any]:
        """Contract fields as JSON-ready values (ISO-8601 timestamps with offsets)."""
        out: dict[str, Any] = {
            "escalation_id": self.escalation_id,
            "received_at": self.received_at.isoformat(),
            "source": self.source,
            "title": self.title,
            "body": self.body,
            "language": self.language,
            "reported_category": self.reported_category,
            "subject_ids": list(self.subject_ids),
            "reach": self.reach,
            "jurisdiction": self.jurisdiction,
            "requester": self.requester,
            "deadline": self.deadline.isoformat() if self.deadline else None,
        }
        return out | dict(self.attrs)


def _text(data: Mapping[str, Any], name: str, fail: _Fail) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail(name, f"must be text, not {type(value).__name__}")
    value = value.strip()
    if len(value) > _MAX_LENGTH.get(name, 1024):
        raise fail(name, f"is longer than {_MAX_LENGTH.get(name, 1024)} characters")
    return value or None


def _timestamp(value: Any, name: str, fail: _Fail) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise fail(name, f"must be an ISO-8601 timestamp, not {value!r}") from None
    else:
        raise fail(name, f"must be an ISO-8601 timestamp, not {type(value).__name__}")
    return parsed.replace(tzinfo=UTC) if parsed.utcoffset() is None else parsed


def _subjects(value: Any, fail: _Fail) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items: list[Any] = value.split(";")
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise fail("subject_ids", "must be a list of ids or a ';'-separated text")
    out = []
    for item in items:
        if not isinstance(item, str):
            raise fail("subject_ids", f"ids must be text, not {type(item).__name__}")
        if item.strip():
            out.append(item.strip())
    return tuple(dict.fromkeys(out))


def _reach(value: Any, fail: _Fail) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise fail("reach", "must be a whole number, not true/false")
    if isinstance(value, str):
        try:
            value = int(value.strip().replace("_", ""))
        except ValueError:
            raise fail("reach", f"must be a whole number, not {value!r}") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise fail("reach", f"must be a whole number, not {value!r}")
    if value < 0:
        raise fail("reach", "must not be negative")
    return value
