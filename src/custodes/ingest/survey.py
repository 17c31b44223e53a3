"""One pass over a file that answers what the ingest needs to know before writing.

Records, bad records, time range and whether the rows are already in time order come from
a single aggregate over every contract check, so a clean file materialises nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from custodes.store.events import EventStore


def survey_sql(table: str, validated: str) -> str:
    # The window over (_ord, _t) is narrow; the checks themselves touch every column, so
    # DuckDB validates the encoding of every value in this same pass.
    return (
        f"CREATE TEMP TABLE {table} AS SELECT count(*) AS records, "
        "count(*) FILTER (WHERE _err IS NOT NULL) AS bad, min(_t) AS first, max(_t) AS last, "
        "count(*) FILTER (WHERE _t < prev) AS backwards FROM ("
        f"SELECT _err, _t, lag(_t) OVER (ORDER BY _ord) AS prev FROM ({validated}))"
    )


@dataclass
class Survey:
    records: int
    bad: int
    first: datetime | None
    last: datetime | None
    in_order: bool

    @classmethod
    def read(cls, store: EventStore, table: str) -> Survey:
        row = store.fetch_one(f"SELECT records, bad, first, last, backwards FROM {table}")
        store.execute(f"DROP TABLE {table}")
        assert row is not None
        return cls(int(row[0]), int(row[1]), row[2], row[3], int(row[4]) == 0)

    def fast(self, store: EventStore) -> bool:
        """True when the file can be appended as it is: already in time order, nothing to
        filter out, and no stored event in its time range (so no id can repeat one).

        The general path sorts every column of every row and joins on every id; for logs
        that arrive in order and do not overlap what is stored, both are wasted work.
        """
        if not self.in_order or self.bad or self.first is None:
            return False
        overlap = store.fetch_value(
            "SELECT count(*) FROM events WHERE ts BETWEEN ? AND ?", [self.first, self.last]
        )
        return not overlap
