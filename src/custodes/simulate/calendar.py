"""Dates, local time and volume over the period.

Local wall-clock times become UTC once per (site, day), so daylight-saving changes move
shifts in UTC exactly as they do for real staff in Austin, Dublin or Lisbon, while Bogotá,
São Paulo, Manila and Hyderabad stay put.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import numpy.typing as npt

from custodes.simulate.config import SimulationConfig
from custodes.simulate.org import SITES

US_PER_MINUTE: Final = 60_000_000
US_PER_DAY: Final = 86_400_000_000
_EPOCH: Final = date(1970, 1, 1)


class Calendar:
    def __init__(self, cfg: SimulationConfig, rng: np.random.Generator) -> None:
        self.start = cfg.start
        self.days = cfg.days
        span = cfg.days + 2
        dates = [cfg.start + timedelta(days=d) for d in range(span)]
        self.weekday = np.array([d.weekday() for d in dates], dtype=np.int8)
        years = sorted({d.year for d in dates})
        self.holiday = np.zeros((len(SITES), span), dtype=np.bool_)
        # origin[s, d]: UTC microseconds of local 00:00 on day d at site s, using the
        # offset in force at local noon that day.
        self.origin = np.zeros((len(SITES), span), dtype=np.int64)
        for s, site in enumerate(SITES):
            cal = holidays.country_holidays(site.country, subdiv=site.subdiv, years=years)
            zone = ZoneInfo(site.timezone)
            for d, day in enumerate(dates):
                self.holiday[s, d] = day in cal
                noon = datetime.combine(day, time(12), tzinfo=zone)
                offset = noon.utcoffset() or timedelta(0)
                midnight = (day - _EPOCH).days * US_PER_DAY
                self.origin[s, d] = midnight - int(offset.total_seconds()) * 1_000_000
        self.volume = self._season(dates, rng)

    def _season(self, dates: list[date], rng: np.random.Generator) -> npt.NDArray[np.float64]:
        """Review volume: a yearly swell, a year-end lull, and news-driven surges."""
        doy = np.array([d.timetuple().tm_yday for d in dates], dtype=np.float64)
        vol = 1.0 + 0.08 * np.sin(2 * np.pi * (doy - 80.0) / 365.0)
        lull = np.array(
            [(d.month == 12 and d.day >= 22) or (d.month == 1 and d.day <= 2) for d in dates]
        )
        vol[lull] *= 0.85
        d = 0
        while d < len(dates):
            if rng.random() < 1 / 30:
                length = int(rng.integers(1, 4))
                vol[d : d + length] *= rng.uniform(1.2, 1.5)
                d += length
            d += 1
        return vol

    def date(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def cutoff(self, day: int) -> int:
        """No event of a later local day can be earlier than this (UTC microseconds)."""
        return int(self.origin[:, day + 1].min())

    def week(self, day: int) -> int:
        return (day + int(self.weekday[0])) // 7

    def midnight_utc(self, day: int) -> datetime:
        return datetime.combine(self.date(day), time(0), tzinfo=UTC)


def to_datetime(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))
