"""Work items that justify access: investigations, escalated cases, data requests.

A lookup is justified when a ticket assigned to the same person names the same target and
is open at the time. Tickets stay open for days, so most justified lookups reuse an old
ticket; the simulator keeps only the open ones in its working set and the rest as compact
arrays until the table is written.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custodes.model.arrow import arrow_schema
from custodes.simulate.block import I8, I32, I64
from custodes.simulate.ids import account_ids, ticket_ids
from custodes.simulate.text import dumps, pick

KINDS: Final = ("investigation", "escalation", "data_request", "access_request")
INVESTIGATION, ESCALATION, DATA_REQUEST, ACCESS_REQUEST = range(4)
DATASETS: Final = (
    "ds:moderation_decisions",
    "ds:appeals",
    "ds:account_signals",
    "ds:qa_samples",
    "ds:ads_integrity",
    "ds:classifier_training",
    "ds:user_reports",
    "ds:workforce_metrics",
)


@dataclass
class TicketSet:
    number: I64
    actor: I32
    target: I64  # account index, or -(dataset index + 1)
    kind: I8
    opened: I64
    closed: I64

    def __len__(self) -> int:
        return int(self.number.size)

    def select(self, index: np.ndarray) -> TicketSet:
        return TicketSet(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(items: list[TicketSet]) -> TicketSet:
        return TicketSet(
            **{
                f.name: np.concatenate([getattr(i, f.name) for i in items])
                for f in fields(TicketSet)
            }
        )

    @staticmethod
    def empty() -> TicketSet:
        z = np.zeros(0, dtype=np.int64)
        return TicketSet(z, z.astype(np.int32), z, z.astype(np.int8), z, z)


class Tickets:
    def __init__(self) -> None:
        self._next = 1
        self._all: list[TicketSet] = []
        self.open = TicketSet.empty()

    def add(self, actor: I64, target: I64, kind: int | I64, opened: I64, closed: I64) -> I64:
        n = actor.size
        numbers = np.arange(self._next, self._next + n, dtype=np.int64)
        self._next += n
        new = TicketSet(
            numbers,
            actor.astype(np.int32),
            target.astype(np.int64),
            np.broadcast_to(np.asarray(kind, dtype=np.int8), (n,)).copy(),
            opened // 1_000_000 * 1_000_000,
            closed // 1_000_000 * 1_000_000,
        )
        self._all.append(new)
        self.open = TicketSet.concat([self.open, new])
        return numbers

    def expire(self, before: int) -> None:
        """Forget tickets closed before ``before``; they can no longer justify anything."""
        self.open = self.open.select(self.open.closed >= before)

    @property
    def count(self) -> int:
        return self._next - 1

    def table(self, actors: list[str], period_end: int) -> pa.Table:
        done = TicketSet.concat(self._all) if self._all else TicketSet.empty()
        account = done.target >= 0
        target = pc.if_else(
            pa.array(account),
            account_ids(np.where(account, done.target, 0)),
            pick(DATASETS, np.where(account, 0, -done.target - 1)),
        )
        # A ticket still open when the period ends has no closing time yet.
        closed = pa.array(
            done.closed.view("datetime64[us]"),
            type=pa.timestamp("us"),
            mask=done.closed > period_end,
        )
        return pa.Table.from_arrays(
            [
                ticket_ids(done.number),
                pick(actors, done.actor),
                target,
                pa.array(done.opened.view("datetime64[us]"), type=pa.timestamp("us")),
                closed,
                pick([dumps({"kind": k}) for k in KINDS], done.kind),
            ],
            schema=arrow_schema("tickets"),
        )
