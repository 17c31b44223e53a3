"""Events as numpy columns of small codes, turned into contract rows only when written.

Generators work on integer codes (actor index, action code, ip index, ...) because that is
what numpy is fast at; strings exist only for the few columns whose values are open-ended
(``target_id``, ``attrs``), and even those are built a block at a time with Arrow compute.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from custodes.model.arrow import arrow_schema
from custodes.model.vocabulary import ACTION_FAMILIES, SCENARIOS, TARGET_TYPES
from custodes.simulate.ids import event_ids, scatter, ticket_ids

I8 = npt.NDArray[np.int8]
I16 = npt.NDArray[np.int16]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

ACTIONS: Final[tuple[str, ...]] = tuple(a for acts in ACTION_FAMILIES.values() for a in acts)
ACTION: Final[dict[str, int]] = {a: i for i, a in enumerate(ACTIONS)}

OUTCOMES: Final[tuple[str, ...]] = (
    "approve",
    "remove",
    "restrict",
    "escalate",
    "skip",
    "uphold",
    "overturn",
    "agree",
    "disagree",
    "success",
    "failure",
)
OUTCOME: Final[dict[str, int]] = {o: i for i, o in enumerate(OUTCOMES)}

# Outcomes each action may carry; everything not listed is success/failure.
DECISION_OUTCOMES: Final = ("approve", "remove", "restrict", "escalate", "skip")
VALID_OUTCOMES: Final[dict[str, frozenset[str]]] = {
    a: frozenset(("success", "failure")) for a in ACTIONS
} | {
    "review_decision": frozenset(DECISION_OUTCOMES),
    "appeal_decision": frozenset(("uphold", "overturn")),
    "qa_review": frozenset(("agree", "disagree")),
    "login": frozenset(("success",)),
    "login_failed": frozenset(("failure",)),
    "mfa_failed": frozenset(("failure",)),
}

SOURCES: Final[tuple[str, ...]] = (
    "review_tool",
    "admin_console",
    "iam",
    "vpn",
    "dlp",
    "proxy",
    "mail_gateway",
    "data_portal",
    "endpoint",
    "case_tool",
)
SOURCE: Final[dict[str, int]] = {s: i for i, s in enumerate(SOURCES)}

TARGET: Final[dict[str, int]] = {t: i for i, t in enumerate(TARGET_TYPES)}
SCENARIO: Final[dict[str, int]] = {s: i for i, s in enumerate(SCENARIOS)}
HONEST: Final = -1
NULL: Final = -1


@dataclass
class Events:
    """A set of events as columns; ``truth`` is the scenario code of misconduct, or -1."""

    ts: I64
    actor: I32
    action: I8
    target_type: I8
    target: pa.Array
    outcome: I8
    source: I8
    ip: I32
    country: I16
    device: I32
    ticket: I64
    duration: I64
    records: I64
    nbytes: I64
    attrs: pa.Array
    truth: I8
    number: I64

    def __len__(self) -> int:
        return int(self.ts.size)

    def take(self, index: npt.NDArray[np.intp]) -> Events:
        arrow_index = pa.array(index)
        parts = {}
        for f in fields(self):
            col = getattr(self, f.name)
            parts[f.name] = col.take(arrow_index) if isinstance(col, pa.Array) else col[index]
        return Events(**parts)

    def slice(self, start: int, stop: int) -> Events:
        parts = {}
        for f in fields(self):
            col = getattr(self, f.name)
            parts[f.name] = (
                col.slice(start, stop - start) if isinstance(col, pa.Array) else col[start:stop]
            )
        return Events(**parts)

    @staticmethod
    def concat(items: list[Events]) -> Events:
        parts = {}
        for f in fields(Events):
            cols = [getattr(e, f.name) for e in items]
            if isinstance(cols[0], pa.Array):
                parts[f.name] = pa.concat_arrays(cols)
            else:
                parts[f.name] = np.concatenate(cols)
        return Events(**parts)

    @staticmethod
    def empty() -> Events:
        i = np.zeros(0, dtype=np.int64)
        s = pa.array([], type=pa.string())
        return Events(
            i,
            i.astype(np.int32),
            i.astype(np.int8),
            i.astype(np.int8),
            s,
            i.astype(np.int8),
            i.astype(np.int8),
            i.astype(np.int32),
            i.astype(np.int16),
            i.astype(np.int32),
            i,
            i,
            i,
            i,
            s,
            i.astype(np.int8),
            i,
        )


Column = npt.ArrayLike | None


def _col(value: Column, n: int, dtype: type[np.generic], default: int = NULL) -> np.ndarray:
    if value is None:
        return np.full(n, default, dtype=dtype)
    arr = np.asarray(value)
    if arr.ndim == 0:
        return np.full(n, arr, dtype=dtype)
    if arr.shape[0] != n:
        raise ValueError(f"column has {arr.shape[0]} rows, expected {n}")
    return arr.astype(dtype, copy=False)


def _strings(value: pa.Array | str | None, n: int) -> pa.Array:
    if value is None:
        return pa.nulls(n, type=pa.string())
    if isinstance(value, str):
        return pa.array(np.full(n, value, dtype=object), type=pa.string())
    if len(value) != n:
        raise ValueError(f"string column has {len(value)} rows, expected {n}")
    return value


class DayEvents:
    """Collects one day's blocks; each block learns the numbers its rows will carry."""

    def __init__(self, day: int) -> None:
        self.day = day
        self._blocks: list[Events] = []
        self._rows = 0

    @property
    def rows(self) -> int:
        return self._rows

    def add(
        self,
        *,
        ts: I64,
        actor: npt.ArrayLike,
        action: str | npt.ArrayLike,
        source: str | npt.ArrayLike,
        ip: Column,
        country: Column,
        device: Column,
        target_type: str | Column = None,
        target: pa.Array | str | None = None,
        outcome: str | Column = "success",
        ticket: Column = None,
        duration: Column = None,
        records: Column = None,
        nbytes: Column = None,
        attrs: pa.Array | str | None = None,
        truth: Column = None,
    ) -> I64:
        """Add a block; returns the event numbers of its rows (for later references)."""
        n = int(np.asarray(ts).size)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        numbers = scatter(self.day, self._rows + np.arange(n, dtype=np.int64))
        self._blocks.append(
            Events(
                ts=_col(ts, n, np.int64),
                actor=_col(actor, n, np.int32),
                action=_col(ACTION[action] if isinstance(action, str) else action, n, np.int8),
                target_type=_col(
                    TARGET[target_type] if isinstance(target_type, str) else target_type,
                    n,
                    np.int8,
                ),
                target=_strings(target, n),
                outcome=_col(OUTCOME[outcome] if isinstance(outcome, str) else outcome, n, np.int8),
                source=_col(SOURCE[source] if isinstance(source, str) else source, n, np.int8),
                ip=_col(ip, n, np.int32),
                country=_col(country, n, np.int16),
                device=_col(device, n, np.int32),
                ticket=_col(ticket, n, np.int64),
                duration=_col(duration, n, np.int64),
                records=_col(records, n, np.int64),
                nbytes=_col(nbytes, n, np.int64),
                attrs=_strings(attrs, n),
                truth=_col(truth, n, np.int8, HONEST),
                number=numbers,
            )
        )
        self._rows += n
        return numbers

    def finish(self) -> Events:
        return Events.concat(self._blocks) if self._blocks else Events.empty()


@dataclass(frozen=True)
class Lookups:
    """String tables that integer codes index into when a batch is written."""

    actors: pa.Array
    ips: pa.Array
    devices: pa.Array
    countries: pa.Array


_ACTIONS_ARR: Final = pa.array(ACTIONS)
_OUTCOMES_ARR: Final = pa.array(OUTCOMES)
_SOURCES_ARR: Final = pa.array(SOURCES)
_TARGETS_ARR: Final = pa.array(TARGET_TYPES)
EVENT_SCHEMA: Final = arrow_schema("events")


def _lookup(table: pa.Array, codes: npt.NDArray[np.integer]) -> pa.Array:
    nulls = codes < 0
    if nulls.any():
        return table.take(pa.array(codes, mask=nulls))
    return table.take(pa.array(codes))


def _ints(values: I64) -> pa.Array:
    nulls = values < 0
    return pa.array(values, type=pa.int64(), mask=nulls if nulls.any() else None)


def to_batch(ev: Events, lk: Lookups) -> pa.RecordBatch:
    """Contract-shaped rows (``arrow_schema('events')``) from coded events."""
    columns = [
        event_ids(ev.number),
        pa.array(ev.ts.view("datetime64[us]"), type=pa.timestamp("us")),
        _lookup(lk.actors, ev.actor),
        _lookup(_ACTIONS_ARR, ev.action),
        _lookup(_TARGETS_ARR, ev.target_type),
        ev.target,
        _lookup(_OUTCOMES_ARR, ev.outcome),
        _lookup(_SOURCES_ARR, ev.source),
        _lookup(lk.ips, ev.ip),
        _lookup(lk.countries, ev.country),
        _lookup(lk.devices, ev.device),
        ticket_ids(ev.ticket),
        _ints(ev.duration),
        _ints(ev.records),
        _ints(ev.nbytes),
        ev.attrs,
    ]
    return pa.RecordBatch.from_arrays(columns, schema=EVENT_SCHEMA)
