"""Trailing windows: 28 days of edges, judged once a week.

A relationship (a moderator and a creator, a QA analyst and a moderator) only shows over
weeks, so edges are aggregated over a trailing 28-day window; windows end every 7 days, at
the midnight after ``as_of``, so each day is covered by four windows and a pattern that
straddles two weeks is still seen whole. Events are bucketed by week once (bucket 0 is the
newest week) and a window is four consecutive buckets, so the scan never multiplies the
events, only small aggregates.

Incremental runs (``since``) judge only windows that reach a day >= since, but those
windows still look 28 days back, before ``since``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

from custodes.detect.detector import DetectContext
from custodes.store.events import EventStore

WEEK_DAYS: Final = 7
SPAN_WEEKS: Final = 4
WEEK_S: Final = WEEK_DAYS * 86_400


@dataclass(frozen=True)
class Frame:
    end: datetime  # exclusive end of window 0 (the newest)
    windows: int  # windows 0 .. windows - 1, each ``SPAN_WEEKS`` buckets wide
    since: date | None = None

    @classmethod
    def of(cls, store: EventStore, context: DetectContext) -> Frame | None:
        """The windows this run judges; None when there are no events to judge."""
        first = store.fetch_value("SELECT min(ts) FROM events")
        if not isinstance(first, datetime):
            return None
        end = datetime.combine(context.as_of.date() + timedelta(days=1), time.min)
        start = first.date()
        if context.since is not None:
            start = max(start, context.since)
        days = (end.date() - start).days
        if days <= 0:
            return None
        return cls(end, math.ceil(days / WEEK_DAYS), context.since)

    @property
    def buckets(self) -> int:
        return self.windows + SPAN_WEEKS - 1

    @property
    def start(self) -> datetime:
        """The earliest instant any window reaches."""
        return self.end - timedelta(days=WEEK_DAYS * self.buckets)

    def window_range(self, k: int) -> tuple[datetime, datetime]:
        hi = self.end - timedelta(days=WEEK_DAYS * k)
        return hi - timedelta(days=WEEK_DAYS * SPAN_WEEKS), hi

    def events_in_range(self, ts: str = "e.ts") -> str:
        return f"{ts} >= {_literal(self.start)} AND {ts} < {_literal(self.end)}"

    def bucket(self, ts: str = "e.ts") -> str:
        """Week number counted back from the end: 0 is the newest week."""
        return f"CAST(floor((epoch({_literal(self.end)}) - epoch({ts})) / {WEEK_S}) AS INTEGER)"

    def spread(self, source: str, keys: str, sums: str) -> str:
        """Bucket rows (``b`` plus ``keys``) summed into the windows that contain them:
        bucket b lies in windows b - 3 .. b."""
        return f"""
SELECT {keys}, s.b - o.i AS w, {sums}
FROM ({source}) AS s CROSS JOIN range({SPAN_WEEKS}) AS o(i)
WHERE s.b - o.i >= 0 AND s.b - o.i < {self.windows}
GROUP BY ALL"""

    def keeps(self, day: date) -> bool:
        """Whether an actor-day belongs to this run's output."""
        return self.since is None or day >= self.since


def _literal(ts: datetime) -> str:
    return f"TIMESTAMP '{ts.isoformat(sep=' ')}'"
