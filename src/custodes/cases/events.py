"""Reading a case's events out of the event store, and hashing them as evidence.

The event store is DuckDB, opened by the caller (read-only in the web server); this module
only builds parameterised queries over the ``events`` table, restricted to the actors the
caller passes in, so nothing here can read another person's events or any other table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from custodes.detect.alert import Alert, Severity
from custodes.model.vocabulary import ACTION_FAMILIES, CANONICAL_ACTIONS
from custodes.store.events import EventStore

# The contract's event fields, in contract order: what evidence hashes cover.
COLUMNS: Final = (
    "event_id",
    "ts",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "source",
    "ip",
    "country",
    "device_id",
    "ticket_id",
    "duration_ms",
    "records",
    "bytes",
    "attrs",
)


@dataclass(frozen=True)
class EventFilter:
    actors: Sequence[str]
    start: datetime | None = None
    end: datetime | None = None
    families: Sequence[str] = ()
    actions: Sequence[str] = ()
    event_ids: Sequence[str] = ()


def fetch(events: EventStore, flt: EventFilter, limit: int | None = None) -> list[dict[str, Any]]:
    """Matching events, oldest first (ties by event id, so the order is stable)."""
    if not flt.actors:
        return []
    where, params = _where(flt)
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    sql = f"SELECT {cols} FROM events WHERE {where} ORDER BY ts, event_id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [dict(zip(COLUMNS, row, strict=True)) for row in events.fetch_all(sql, params)]


def content_hash(rows: Sequence[dict[str, Any]]) -> str:
    """SHA-256 over the rows' canonical JSON, sorted by event id: the same events give the
    same hash whatever order a query returned them in."""
    ordered = sorted(rows, key=lambda r: str(r["event_id"]))
    body = json.dumps(
        [[_plain(r.get(c)) for c in COLUMNS] for r in ordered],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def alert_evidence_ids(events: EventStore, alert_ids: Sequence[str]) -> set[str]:
    """The event ids the given alerts cite (alerts that detection no longer has give none)."""
    if not alert_ids:
        return set()
    marks = ", ".join("?" for _ in alert_ids)
    rows = events.fetch_all(
        f"SELECT DISTINCT unnest(evidence_event_ids) FROM alerts WHERE alert_id IN ({marks})",
        list(alert_ids),
    )
    return {str(r[0]) for r in rows}


def naive_utc(value: datetime) -> datetime:
    """The event store keeps naive UTC timestamps."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _where(flt: EventFilter) -> tuple[str, list[Any]]:
    clauses = [f"actor_id IN ({', '.join('?' for _ in flt.actors)})"]
    params: list[Any] = list(flt.actors)
    if flt.start is not None:
        clauses.append("ts >= ?")
        params.append(naive_utc(flt.start))
    if flt.end is not None:
        clauses.append("ts < ?")
        params.append(naive_utc(flt.end))
    if flt.event_ids:
        clauses.append(f"event_id IN ({', '.join('?' for _ in flt.event_ids)})")
        params.extend(flt.event_ids)
    kinds: list[str] = []
    for family in flt.families:
        if family == "custom":
            marks = ", ".join("?" for _ in CANONICAL_ACTIONS)
            kinds.append(f"action NOT IN ({marks})")
            params.extend(sorted(CANONICAL_ACTIONS))
        else:
            actions = ACTION_FAMILIES[family]
            kinds.append(f"action IN ({', '.join('?' for _ in actions)})")
            params.extend(actions)
    if kinds:
        clauses.append(f"({' OR '.join(kinds)})")
    if flt.actions:
        clauses.append(f"action IN ({', '.join('?' for _ in flt.actions)})")
        params.extend(flt.actions)
    return " AND ".join(clauses), params


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return naive_utc(value).isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def alerts_by_id(events: EventStore, alert_ids: Sequence[str]) -> list[Alert]:
    """The named alerts (muted ones included: an analyst chose them), in the order given."""
    if not alert_ids:
        return []
    marks = ", ".join("?" for _ in alert_ids)
    rows = events.fetch_all(
        "SELECT alert_id, actor_id, detector, category, severity, score, window_start, "
        "window_end, reasons, evidence_event_ids, pattern "
        f"FROM alerts WHERE alert_id IN ({marks})",
        list(alert_ids),
    )
    found = {
        r[0]: Alert(
            actor_id=r[1],
            detector=r[2],
            category=r[3],
            severity=Severity(r[4]),
            score=float(r[5]),
            window_start=r[6],
            window_end=r[7],
            reasons=tuple(r[8] or ()),
            evidence_event_ids=tuple(r[9] or ()),
            alert_id=r[0],
            pattern=r[10] or "",
        )
        for r in rows
    }
    return [found[a] for a in alert_ids if a in found]


def staff_ids(events: EventStore) -> set[str]:
    """Every staff member's real id: what free text (alert reasons name counterparts) must be
    masked against, not only the subject's own id."""
    return {str(r[0]) for r in events.fetch_all("SELECT actor_id FROM people")}
