"""Who works on a given day, when, from where, and how hard.

The honest irregularities a naive detector trips over are made here on purpose: extra
shifts and swapped shifts, overtime, team-wide incident surges, travel, new hires ramping
up, and people on call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from custodes.simulate.block import F64, I8, I32, I64, B
from custodes.simulate.calendar import US_PER_MINUTE
from custodes.simulate.org import ADMIN, LEAD, MOD, QA, SHIFT_LENGTH, SHIFT_START, SITE_COUNTRY
from custodes.simulate.world import World

US_PER_SECOND = 1_000_000


@dataclass
class Adjust:
    """How scenarios bend a person's ordinary work on one day (neutral by default)."""

    n: int
    speed: F64 = field(init=False)  # multiplier on decision time
    stamp: F64 = field(init=False)  # share of decisions that copy the classifier
    single_label: I8 = field(init=False)  # label used for everything (-1 none)
    single_share: F64 = field(init=False)
    regular: F64 = field(init=False)  # seconds between decisions, metronome-like (0 = off)
    error: F64 = field(init=False)  # multiplier on honest error rate
    volume: F64 = field(init=False)
    decision_truth: I8 = field(init=False)  # scenario code stamped on decisions (-1 none)
    qa_partner: I64 = field(init=False)  # a QA analyst's protected moderator (-1 none)
    qa_share: F64 = field(init=False)
    qa_agree: F64 = field(init=False)
    claims: list[tuple[int, I64, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = self.n
        self.speed = np.ones(n)
        self.stamp = np.zeros(n)
        self.single_label = np.full(n, -1, dtype=np.int8)
        self.single_share = np.zeros(n)
        self.regular = np.zeros(n)
        self.error = np.ones(n)
        self.volume = np.ones(n)
        self.decision_truth = np.full(n, -1, dtype=np.int8)
        self.qa_partner = np.full(n, -1, dtype=np.int64)
        self.qa_share = np.zeros(n)
        self.qa_agree = np.zeros(n)


@dataclass
class Roster:
    """Arrays over all staff; only rows where ``working`` is set mean anything."""

    day: int
    working: B
    start: I64  # UTC microseconds
    end: I64
    volume: F64
    ip: I32
    country: npt.NDArray[np.int16]
    device: I32
    team: I32
    travelling: B
    oncall: B
    adjust: Adjust

    def workers(self, roles: tuple[int, ...] | None, role: npt.NDArray[np.int8]) -> I64:
        mask = self.working if roles is None else self.working & np.isin(role, roles)
        return np.flatnonzero(mask).astype(np.int64)

    def spread(
        self,
        rng: np.random.Generator,
        people: I64,
        counts: npt.NDArray[np.integer],
        lead_min: float = 15.0,
        tail_min: float = 5.0,
    ) -> tuple[I64, I64]:
        """``counts[i]`` times for ``people[i]``, uniform inside their shift, in seconds."""
        actor = np.repeat(people, counts)
        lo = self.start[actor] + int(lead_min * US_PER_MINUTE)
        hi = np.maximum(self.end[actor] - int(tail_min * US_PER_MINUTE), lo + US_PER_SECOND)
        ts = lo + (rng.random(actor.size) * (hi - lo)).astype(np.int64)
        return actor, seconds(ts)


def seconds(ts: I64) -> I64:
    """Logs record whole seconds."""
    return (ts // US_PER_SECOND) * US_PER_SECOND


def build_roster(w: World, day: int, rng: np.random.Generator) -> Roster:
    org, cal = w.org, w.cal
    n = org.size
    active = (org.hire_day <= day) & (day <= org.end_day)
    works = org.pattern[:, cal.weekday[day]].copy()
    works &= ~(cal.holiday[org.site, day] & ~org.works_holidays)
    absent = np.zeros(n, dtype=np.bool_)
    if org.absences.size:
        on = (org.absences[:, 1] <= day) & (day <= org.absences[:, 2])
        absent[org.absences[on, 0]] = True
    works &= ~absent
    shift_staff = np.isin(org.role, (MOD, QA, LEAD))
    extra = ~works & ~absent & shift_staff & (rng.random(n) < 0.03)
    works = (works | extra | (org.hire_day == day)) & active

    shift = org.shift_on(day)
    swap = works & shift_staff & ((rng.random(n) < 0.02) | (extra & (rng.random(n) < 0.5)))
    shift = np.where(swap, (shift + rng.integers(1, 4, size=n)) % 4, shift)
    team = org.team_on(day)
    incident_team = rng.random(len(org.teams)) < 0.012
    incident = incident_team[team]
    overtime = (rng.random(n) < 0.04) | incident
    length = SHIFT_LENGTH[shift] + np.where(overtime, rng.integers(60, 181, size=n), 0)
    start_min = np.maximum(SHIFT_START[shift] + rng.normal(0.0, 7.0, size=n), 0.0)
    start = cal.origin[org.site, day] + (start_min * US_PER_MINUTE).astype(np.int64)
    end = start + length * US_PER_MINUTE + rng.integers(-5, 15, size=n) * US_PER_MINUTE

    tenure = day - org.hire_day
    ramp = np.where(tenure < 15, 0.3 + 0.7 * np.clip(tenure, 0, 15) / 15.0, 1.0)
    volume = (
        cal.volume[day]
        * org.productivity
        * ramp
        * np.where(incident, 2.0, 1.0)
        * rng.lognormal(0.0, 0.15, size=n)
        * w.cfg.volume
    )

    country = SITE_COUNTRY[org.site].astype(np.int16)
    wfh = rng.random(n) < org.wfh
    ip = np.where(wfh, org.home_ip, org.office_ip).astype(np.int32)
    travelling = np.zeros(n, dtype=np.bool_)
    if org.trips.size:
        on = (org.trips[:, 1] <= day) & (day <= org.trips[:, 2])
        for p, first, _, dest in org.trips[on]:
            travelling[p] = True
            country[p] = dest
            pool = w.net.country_ips[int(dest)]
            ip[p] = pool[(int(p) * 7 + int(first)) % pool.size]
    volume = np.where(travelling, volume * 0.7, volume)
    device = np.where(org.swap_day <= day, org.new_laptop, org.laptop)
    device = np.where(wfh & (rng.random(n) < 0.06), org.personal_device, device).astype(np.int32)
    oncall = (org.role == ADMIN) & active & ((cal.week(day) % 4) == org.oncall_phase)
    return Roster(
        day=day,
        working=works,
        start=start,
        end=end,
        volume=volume,
        ip=ip,
        country=country,
        device=device,
        team=team,
        travelling=travelling,
        oncall=oncall,
        adjust=Adjust(n),
    )


@dataclass
class Context:
    """Where a batch of events comes from (per row)."""

    ip: I32
    country: npt.NDArray[np.int16]
    device: I32

    @staticmethod
    def of(roster: Roster, actor: I64) -> Context:
        return Context(roster.ip[actor], roster.country[actor], roster.device[actor])
