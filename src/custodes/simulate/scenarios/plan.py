"""Who misbehaves, how, when and how hard: the ground truth, decided before day one.

Intensity is drawn from a skewed Beta, so most insiders are subtle and a few are blatant;
windows run from a few days to months. Planning may change the directory itself (a leaver
who exfiltrates needs a notice date, a conflict-of-interest snoop needs a declared
conflict), which is why it runs before any table is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pyarrow as pa

from custodes.model.arrow import arrow_schema
from custodes.simulate.block import I64
from custodes.simulate.ids import account_id
from custodes.simulate.org import ADMIN, ENG, INV, LEAD, MOD, OTHER, QA, SITES
from custodes.simulate.text import dumps
from custodes.simulate.world import World

_HOUR: Final = 3_600_000_000
FAMILY_WEIGHT: Final = {
    "unjustified_access": 0.20,
    "productivity_gaming": 0.17,
    "data_exfiltration": 0.15,
    "credential_sharing": 0.12,
    "paid_reversal": 0.10,
    "malicious_enforcement": 0.10,
    "privilege_abuse": 0.09,
    "qa_collusion": 0.07,
}
_ROLE_WEIGHT: Final[dict[str, dict[int, float]]] = {
    "unjustified_access": {MOD: 1.0, QA: 0.5, LEAD: 1.0, INV: 3.0, ADMIN: 1.0},
    "paid_reversal": {MOD: 1.0},
    "malicious_enforcement": {MOD: 1.0},
    "productivity_gaming": {MOD: 1.0},
    "qa_collusion": {QA: 1.0},
    "data_exfiltration": {MOD: 0.5, QA: 0.5, LEAD: 1.0, INV: 2.5, ADMIN: 1.5, ENG: 3.0, OTHER: 1.0},
    "privilege_abuse": {LEAD: 1.0, ADMIN: 2.0, ENG: 1.5},
    "credential_sharing": {MOD: 2.0, QA: 1.0, LEAD: 0.5, INV: 0.5, ENG: 0.5, OTHER: 0.5},
}


@dataclass
class Insider:
    actor: int
    scenario: str
    first_day: int
    last_day: int
    intensity: float
    camouflage: float  # chance of a quiet day inside the window
    variant: str
    partner: int = -1
    targets: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    device: int = -1
    country: int = -1
    ip: int = -1
    label_start: int = 0
    label_end: int = 0
    role_in_scheme: str = "perpetrator"
    detail: dict[str, object] = field(default_factory=dict)  # extra label attrs

    def active(self, day: int) -> bool:
        return self.first_day <= day <= self.last_day

    def clip(self, ts: I64) -> I64:
        """Misconduct happens only inside the labelled interval."""
        return np.clip(ts, self.label_start, self.label_end - 1_000_000)


def intensity(rng: np.random.Generator) -> float:
    """Mostly subtle, sometimes blatant: Beta(1.3, 2.2) stretched to [0.05, 1]."""
    return round(0.05 + 0.95 * float(rng.beta(1.3, 2.2)), 3)


def camouflage(rng: np.random.Generator, s: float) -> float:
    """Share of quiet days in the window: subtle insiders keep many, blatant ones few."""
    return float(np.clip(0.55 - 0.45 * s + rng.normal(0.0, 0.08), 0.05, 0.85))


class Planner:
    def __init__(self, w: World, rng: np.random.Generator) -> None:
        self.w = w
        self.rng = rng
        self.taken: set[int] = set()

    def pick(
        self, scenario: str, roles: dict[int, float] | None = None, site: int | None = None
    ) -> int | None:
        org = self.w.org
        weights = roles or _ROLE_WEIGHT[scenario]
        w = np.array([weights.get(int(r), 0.0) for r in org.role])
        if site is not None:
            w[org.site != site] = 0.0
        # Someone employed for most of the period, not already an insider.
        days = self.w.cfg.days
        employed = np.minimum(org.end_day, days - 1) - np.maximum(org.hire_day, 0)
        w[employed < min(days - 1, 3)] = 0.0
        w[list(self.taken)] = 0.0
        if w.sum() == 0:
            return None
        p = int(self.rng.choice(org.size, p=w / w.sum()))
        self.taken.add(p)
        return p

    def window(self, person: int, median_days: float = 21.0) -> tuple[int, int]:
        return self.window_for((person,), median_days)

    def window_for(self, people: tuple[int, ...], median_days: float) -> tuple[int, int]:
        """A window inside everybody's employment, of a lognormal length around the median."""
        org, days = self.w.org, self.w.cfg.days
        lo = max(0, *(int(org.hire_day[p]) for p in people))
        hi = min(days - 1, *(int(org.end_day[p]) for p in people))
        if hi < lo:
            hi = lo
        length = int(np.clip(round(self.rng.lognormal(np.log(median_days), 0.8)), 3, days))
        length = max(1, min(length, hi - lo + 1))
        first = int(self.rng.integers(lo, hi - length + 2))
        return first, first + length - 1

    def finish(self, ins: Insider) -> Insider:
        cal, site = self.w.cal, int(self.w.org.site[ins.actor])
        ins.label_start = int(cal.origin[site, ins.first_day])
        # Night shifts run past local midnight: the last day ends the next morning.
        ins.label_end = int(cal.origin[site, ins.last_day + 1]) + 14 * _HOUR
        return ins


def labels_table(insiders: list[Insider], w: World) -> pa.Table:
    org = w.org
    rows: dict[str, list[object]] = {k: [] for k in arrow_schema("labels").names}
    for ins in sorted(insiders, key=lambda i: (i.label_start, i.actor, i.scenario)):
        attrs: dict[str, object] = {
            "intensity": ins.intensity,
            "camouflage": round(ins.camouflage, 3),
            "variant": ins.variant,
            "role_in_scheme": ins.role_in_scheme,
            "site": SITES[org.site[ins.actor]].key,
        }
        if ins.partner >= 0:
            attrs["partner_id"] = org.ids[ins.partner]
        attrs.update(ins.detail)
        if ins.targets.size:
            attrs["target_account_ids"] = [account_id(int(a)) for a in ins.targets]
        rows["actor_id"].append(org.ids[ins.actor])
        rows["scenario"].append(ins.scenario)
        rows["start"].append(np.datetime64(ins.label_start, "us"))
        rows["end"].append(np.datetime64(ins.label_end, "us"))
        rows["attrs"].append(dumps(attrs))
    return pa.Table.from_pydict(rows, schema=arrow_schema("labels"))
