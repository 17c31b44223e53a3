"""What a scenario sees on a day: the world, the roster, and the honest generators to reuse.

Scenarios reuse the honest generators (decisions, grants) so that misconduct rows look
exactly like honest rows in every column; only their pattern gives them away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from custodes.simulate.access import Access
from custodes.simulate.admin import Admin
from custodes.simulate.block import I64, SCENARIO, DayEvents
from custodes.simulate.moderation import Moderation
from custodes.simulate.roster import US_PER_SECOND, Context, Roster, seconds
from custodes.simulate.scenarios.plan import Insider
from custodes.simulate.world import World

MINUTE: Final = 60 * US_PER_SECOND
HOUR: Final = 60 * MINUTE


@dataclass
class Stage:
    w: World
    ev: DayEvents
    roster: Roster
    rng: np.random.Generator
    moderation: Moderation
    access: Access
    admin: Admin

    @property
    def day(self) -> int:
        return self.roster.day

    def on_duty(self, ins: Insider) -> bool:
        """A misconduct day: inside the window, at work, and not one of the quiet days."""
        return (
            ins.active(self.day)
            and bool(self.roster.working[ins.actor])
            and self.rng.random() >= ins.camouflage
        )

    def during_shift(self, ins: Insider, n: int, lead_min: float = 20.0) -> I64:
        actor = np.full(n, ins.actor, dtype=np.int64)
        _, ts = self.roster.spread(self.rng, actor, np.ones(n, dtype=np.int64), lead_min=lead_min)
        return ins.clip(np.sort(ts))

    def after_hours(self, ins: Insider, n: int) -> I64:
        """From home after the shift: one to four hours after it ends."""
        end = int(self.roster.end[ins.actor])
        ts = end + (self.rng.uniform(60, 240, n) * MINUTE).astype(np.int64)
        return ins.clip(seconds(np.sort(ts)))

    def local_hours(self, ins: Insider, n: int, first_h: float, last_h: float) -> I64:
        """Local wall-clock hours of the insider's site on this day."""
        origin = int(self.w.cal.origin[self.w.org.site[ins.actor], self.day])
        ts = origin + (self.rng.uniform(first_h, last_h, n) * HOUR).astype(np.int64)
        return ins.clip(seconds(np.sort(ts)))

    def ctx(self, ins: Insider, n: int, at_home: bool = False) -> Context:
        p = ins.actor
        ip = int(self.w.org.home_ip[p]) if at_home else int(self.roster.ip[p])
        return Context(
            np.full(n, ip, dtype=np.int32),
            np.full(n, self.roster.country[p], dtype=np.int16),
            np.full(n, self.roster.device[p], dtype=np.int32),
        )

    def add(self, ins: Insider, ctx: Context, **columns: object) -> I64:
        """Add misconduct rows of ``ins`` (truth-stamped with its scenario)."""
        ts = columns.pop("ts")
        assert isinstance(ts, np.ndarray)
        return self.ev.add(
            ts=ts,
            actor=np.full(ts.size, ins.actor, dtype=np.int64),
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
            truth=SCENARIO[ins.scenario],
            **columns,  # type: ignore[arg-type]
        )
