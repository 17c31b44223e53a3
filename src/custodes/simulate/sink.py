"""Where the simulator's output goes: the simulator streams, a sink writes one layout."""

from __future__ import annotations

from typing import Protocol

import pyarrow as pa


class Sink(Protocol):
    """Receives contract-shaped data (schemas from ``custodes.model.arrow.arrow_schema``).

    ``write_events`` is called many times with batches in ascending time order, so a sink
    never holds more than one batch; the other entities arrive once each, whole (they are
    small: at most a few hundred thousand rows).
    """

    def write_events(self, batch: pa.RecordBatch) -> None: ...

    def write_table(self, entity: str, table: pa.Table) -> None: ...

    def close(self) -> None: ...
