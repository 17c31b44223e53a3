"""The organisation: sites, teams, shifts and the people in them.

A person is a row across parallel numpy arrays, so that a day's behaviour can be drawn for
everyone at once. Personal traits (speed, accuracy, habits) are fixed at hire: a detector
comparing a person with their own history must find a stable baseline, and one comparing
them with peers must find real spread between honest people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from custodes.model.arrow import arrow_schema
from custodes.model.vocabulary import ROLES
from custodes.simulate import policy
from custodes.simulate.config import SimulationConfig
from custodes.simulate.ids import actor_ids
from custodes.simulate.names import person_name
from custodes.simulate.network import COUNTRY, TRAVEL_DESTINATIONS, Network
from custodes.simulate.text import dumps

I32 = npt.NDArray[np.int32]
NEVER: Final = 1 << 30


@dataclass(frozen=True)
class Site:
    key: str
    city: str
    country: str
    timezone: str
    subdiv: str | None
    weight: float
    language: str  # queue language (policy.QUEUE_LANGUAGES)
    locale: str  # for names


SITES: Final[tuple[Site, ...]] = (
    Site("austin", "Austin", "US", "America/Chicago", "TX", 0.14, "en", "en_us"),
    Site("bogota", "Bogotá", "CO", "America/Bogota", None, 0.14, "es", "es_co"),
    Site("sao-paulo", "São Paulo", "BR", "America/Sao_Paulo", "SP", 0.15, "pt", "pt_br"),
    Site("dublin", "Dublin", "IE", "Europe/Dublin", None, 0.13, "en", "en_ie"),
    Site("lisbon", "Lisbon", "PT", "Europe/Lisbon", None, 0.11, "pt", "pt_pt"),
    Site("manila", "Manila", "PH", "Asia/Manila", None, 0.18, "en", "fil_ph"),
    Site("hyderabad", "Hyderabad", "IN", "Asia/Kolkata", "TG", 0.15, "en", "en_in"),
)
SITE_COUNTRY: Final = np.array([COUNTRY[s.country] for s in SITES], dtype=np.int16)


@dataclass(frozen=True)
class Shift:
    name: str
    start: int  # local minutes after midnight
    length: int  # minutes


SHIFTS: Final[tuple[Shift, ...]] = (
    Shift("morning", 6 * 60, 8 * 60),
    Shift("day", 9 * 60, 8 * 60 + 30),
    Shift("evening", 14 * 60, 8 * 60),
    Shift("night", 22 * 60, 8 * 60),
)
SHIFT_START: Final = np.array([s.start for s in SHIFTS], dtype=np.int64)
SHIFT_LENGTH: Final = np.array([s.length for s in SHIFTS], dtype=np.int64)
MORNING, DAY, EVENING, NIGHT = range(4)

ROLE: Final = {r: i for i, r in enumerate(ROLES)}
MOD, QA, LEAD, INV, ADMIN, ENG, OTHER = (ROLE[r] for r in ROLES)
ROLE_SHARE: Final = (0.74, 0.10, 0.07, 0.03, 0.02, 0.03, 0.01)
# Specialist teams sit in a few hubs; moderation runs everywhere.
ROLE_SITES: Final[dict[int, tuple[int, ...]]] = {
    INV: (0, 3, 5, 6),
    ADMIN: (0, 3, 5, 6),
    ENG: (0, 3, 4, 6),
}
VENDORS: Final = ("in-house", "Northwind BPO", "Atlas Review Services", "Meridian CX")


@dataclass(frozen=True)
class Team:
    name: str
    site: int
    shift: int
    policy: int  # primary queue's policy, -1 for teams that do not review
    lead: int  # person index, -1 when the team has no lead


@dataclass
class Organisation:
    """Everybody in the directory over the whole period, including leavers and new hires."""

    ids: list[str]
    names: list[str]
    role: npt.NDArray[np.int8]
    site: npt.NDArray[np.int8]
    team: I32
    manager: I32
    hire_day: I32  # day index relative to the start; negative = before the period
    notice_day: I32  # NEVER when no notice
    end_day: I32  # last working day, NEVER when staying
    departure: list[str | None]
    privileged: npt.NDArray[np.bool_]
    pattern: npt.NDArray[np.bool_]  # (n, 7) weekday work pattern, Monday first
    works_holidays: npt.NDArray[np.bool_]
    productivity: npt.NDArray[np.float64]
    error: npt.NDArray[np.float64]  # multiplier on a policy's honest error rate
    follow: npt.NDArray[np.float64]  # how often unsure decisions follow the classifier
    speed: npt.NDArray[np.float64]  # multiplier on decision time
    wfh: npt.NDArray[np.float64]
    appeals: npt.NDArray[np.bool_]
    home_ip: I32
    laptop: I32
    personal_device: I32  # a phone or own laptop used on some days from home
    new_laptop: I32  # replacement laptop from ``swap_day`` on
    swap_day: I32
    lingers: npt.NDArray[np.bool_]  # a leaver who still signs in (benignly) after leaving
    move_day: I32  # the day a person moves to ``move_team`` (NEVER if never)
    move_team: I32
    oncall_phase: npt.NDArray[np.int8]  # admins: on call in weeks where week % 4 == phase
    trips: I32  # (k, 4): person, first day, last day, country
    absences: I32  # (k, 3): person, first day, last day
    shift: npt.NDArray[np.int8]
    teams: list[Team]
    office_ip: I32  # the office egress address a person's traffic leaves through

    @property
    def size(self) -> int:
        return len(self.ids)

    def team_on(self, day: int) -> I32:
        return np.where(self.move_day <= day, self.move_team, self.team).astype(np.int32)

    def shift_on(self, day: int) -> npt.NDArray[np.int64]:
        """A team move brings the new team's shift with it."""
        team_shift = np.array([t.shift for t in self.teams], dtype=np.int64)
        moved = self.move_day <= day
        return np.where(moved, team_shift[self.move_team], self.shift).astype(np.int64)

    def team_policy(self) -> npt.NDArray[np.int64]:
        return np.array([t.policy for t in self.teams], dtype=np.int64)


def _quotas(n: int, shares: tuple[float, ...]) -> list[int]:
    raw = np.array(shares) * n
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    # Every role exists once the organisation is big enough to have specialists at all.
    if n >= 14:
        for i in range(len(counts)):
            while counts[i] == 0:
                counts[int(np.argmax(counts))] -= 1
                counts[i] += 1
    return [int(c) for c in counts]


def build_org(cfg: SimulationConfig, rng: np.random.Generator, net: Network) -> Organisation:
    n, days = cfg.staff, cfg.days
    role = np.repeat(np.arange(len(ROLES), dtype=np.int8), _quotas(n, ROLE_SHARE))
    rng.shuffle(role)
    site_w = np.array([s.weight for s in SITES])
    site = rng.choice(len(SITES), size=n, p=site_w / site_w.sum()).astype(np.int8)
    for r, allowed in ROLE_SITES.items():
        mask = role == r
        site[mask] = rng.choice(allowed, size=int(mask.sum()))

    teams: list[Team] = []
    team = np.full(n, -1, dtype=np.int32)
    manager = np.full(n, -1, dtype=np.int32)
    shift = np.full(n, DAY, dtype=np.int8)
    for s, st in enumerate(SITES):
        here = site == s
        mods = np.flatnonzero(here & (role == MOD))
        leads = np.flatnonzero(here & (role == LEAD))
        ops = np.flatnonzero(here & (role == OTHER))
        n_mod_teams = max(1, len(leads)) if len(mods) else 0
        mod_teams = []
        for t in range(n_mod_teams):
            lead = int(leads[t]) if t < len(leads) else -1
            sh = (MORNING, EVENING, NIGHT, DAY)[t % 4]
            pol = int(rng.choice(len(policy.POLICIES), p=policy.WEIGHT))
            teams.append(Team(f"{st.key}-{policy.NAMES[pol]}-{t + 1}", s, sh, pol, lead))
            mod_teams.append(len(teams) - 1)
            if lead >= 0:
                team[lead], shift[lead] = len(teams) - 1, sh
                manager[lead] = int(ops[0]) if len(ops) else -1
        for i, p in enumerate(rng.permutation(mods)):
            t = mod_teams[i % len(mod_teams)]
            team[p], shift[p], manager[p] = t, teams[t].shift, teams[t].lead
        for t_i, lead in enumerate(leads[n_mod_teams:]):
            # Leads without a moderation team run QA or operations at the site.
            teams.append(Team(f"{st.key}-ops-{t_i + 1}", s, DAY, -1, int(lead)))
            team[lead] = len(teams) - 1
        for r, label in (
            (QA, "qa"),
            (INV, "investigations"),
            (ADMIN, "it-admin"),
            (ENG, "data-eng"),
            (OTHER, "operations"),
        ):
            members = np.flatnonzero(here & (role == r))
            if not len(members):
                continue
            head = int(leads[0]) if (r == QA and len(leads)) else -1
            teams.append(Team(f"{st.key}-{label}", s, DAY, -1, head))
            team[members] = len(teams) - 1
            manager[members] = head if head >= 0 else int(members[0])
            if head < 0:
                manager[members[0]] = -1
            if r == QA:
                shift[members] = np.where(rng.random(len(members)) < 0.3, MORNING, DAY)

    hire_day = -rng.integers(30, 2500, size=n).astype(np.int32)
    hireable = np.flatnonzero(np.isin(role, (MOD, QA, OTHER, ENG)))
    n_hires = min(len(hireable), round(cfg.hire_fraction * n)) if days > 1 else 0
    hires = rng.choice(hireable, size=n_hires, replace=False)
    hire_day[hires] = rng.integers(1, max(2, days), size=n_hires)

    notice_day = np.full(n, NEVER, dtype=np.int32)
    end_day = np.full(n, NEVER, dtype=np.int32)
    departure: list[str | None] = [None] * n
    stayers = np.setdiff1d(np.arange(n), hires)
    n_leave = min(len(stayers), round(cfg.leaver_fraction * n))
    for p in rng.choice(stayers, size=n_leave, replace=False):
        day = int(rng.integers(0, days))
        if rng.random() < 0.8:
            notice_day[p], end_day[p] = day, day + int(rng.integers(14, 31))
            departure[p] = "resignation"
        else:
            notice_day[p], end_day[p] = day, day
            departure[p] = "termination"

    pattern = np.zeros((n, 7), dtype=np.bool_)
    pattern[:, :5] = True
    rotating = np.isin(role, (MOD, QA, LEAD)) & (rng.random(n) < 0.3)
    for p in np.flatnonzero(rotating):
        first = int(rng.integers(1, 7))
        pattern[p] = False
        pattern[p, [(first + k) % 7 for k in range(5)]] = True
    hol_p = np.array([0.4, 0.2, 0.2, 0.05, 0.1, 0.05, 0.05])[role]

    wfh_mean = np.array([0.3, 0.4, 0.3, 0.4, 0.3, 0.6, 0.4])[role]
    appeals = (role == MOD) & (rng.random(n) < 0.2)
    movers = (role == MOD) & (rng.random(n) < 0.05) & (days > 2)
    move_day = np.where(movers, rng.integers(1, max(2, days), size=n), NEVER).astype(np.int32)
    move_team = team.copy()
    for p in np.flatnonzero(movers):
        options = [
            i for i, t in enumerate(teams) if t.site == site[p] and t.policy >= 0 and i != team[p]
        ]
        if options:
            move_team[p] = int(rng.choice(options))
        else:
            move_day[p] = NEVER

    home_ip = np.array([int(net.new_ips(int(SITE_COUNTRY[s]), 1)[0]) for s in site], dtype=np.int32)
    laptop = np.array(
        [net.new_device(f"LT-{SITES[s].key[:3].upper()}-{i + 1:05d}") for i, s in enumerate(site)],
        dtype=np.int32,
    )
    oncall = np.where(role == ADMIN, np.arange(n) % 4, -1).astype(np.int8)

    trips = []
    travel_p = np.array([0.04, 0.04, 0.12, 0.15, 0.08, 0.1, 0.15])[role]
    for p in np.flatnonzero(rng.random(n) < travel_p * max(1.0, days / 90)):
        home = SITES[site[p]].country
        dest = str(rng.choice([c for c in TRAVEL_DESTINATIONS if c != home]))
        first = int(rng.integers(0, days))
        trips.append((int(p), first, first + int(rng.integers(3, 11)) - 1, COUNTRY[dest]))
    absences = []
    for p in range(n):
        for _ in range(rng.poisson(days / 365 * 2.0)):
            first = int(rng.integers(0, days))
            absences.append((p, first, first + int(rng.integers(3, 11)) - 1))
        for _ in range(rng.poisson(days * 0.008)):
            first = int(rng.integers(0, days))
            absences.append((p, first, first + int(rng.integers(0, 3))))

    lingers = rng.random(n) < 0.25
    names = [person_name(SITES[s].locale, rng) for s in site]
    office = np.stack([net.new_ips(int(SITE_COUNTRY[s]), 3) for s in range(len(SITES))])
    return Organisation(
        ids=actor_ids(n),
        names=names,
        role=role,
        site=site,
        team=team,
        manager=manager,
        hire_day=hire_day,
        notice_day=notice_day,
        end_day=end_day,
        departure=departure,
        privileged=(role == ADMIN) | ((role == ENG) & (rng.random(n) < 0.4)),
        pattern=pattern,
        works_holidays=rng.random(n) < hol_p,
        productivity=rng.lognormal(0.0, 0.18, size=n),
        error=rng.lognormal(0.0, 0.35, size=n),
        follow=rng.beta(6.0, 2.0, size=n),
        speed=rng.lognormal(0.0, 0.25, size=n),
        wfh=rng.beta(2.0, 2.0, size=n) * wfh_mean * 2,
        appeals=appeals,
        home_ip=home_ip,
        laptop=laptop,
        lingers=lingers,
        personal_device=np.array([net.personal_device() for _ in range(n)], dtype=np.int32),
        new_laptop=np.array(
            [
                net.new_device(f"LT-{SITES[s].key[:3].upper()}-{n + i + 1:05d}")
                for i, s in enumerate(site)
            ],
            dtype=np.int32,
        ),
        swap_day=np.where(
            rng.random(n) < 0.04 * max(1.0, days / 180), rng.integers(1, max(2, days), n), NEVER
        ).astype(np.int32),
        move_day=move_day,
        move_team=move_team,
        oncall_phase=oncall,
        trips=np.array(trips, dtype=np.int32).reshape(-1, 4),
        absences=np.array(absences, dtype=np.int32).reshape(-1, 3),
        shift=shift,
        teams=teams,
        office_ip=office[site.astype(np.int64), np.arange(n) % 3],
    )


def _hhmm(minutes: int) -> str:
    minutes %= 24 * 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def people_table(org: Organisation, cfg: SimulationConfig) -> pa.Table:
    """The staff directory as of the end of the period (latest team and shift)."""
    final_team = org.team_on(cfg.days)
    final_shift = org.shift_on(cfg.days)

    def day(d: int) -> object:
        return None if d >= NEVER else cfg.start + timedelta(days=int(d))

    rows: dict[str, list[object]] = {name: [] for name in arrow_schema("people").names}
    for p in range(org.size):
        st = SITES[org.site[p]]
        sh = SHIFTS[int(final_shift[p])]
        mgr = int(org.manager[p])
        attrs: dict[str, object] = {"city": st.city}
        if org.role[p] == MOD:
            attrs["employer"] = VENDORS[p % len(VENDORS)]
        if org.departure[p]:
            attrs["departure"] = org.departure[p]
        values: dict[str, object] = {
            "actor_id": org.ids[p],
            "name": org.names[p],
            "role": ROLES[org.role[p]],
            "team": org.teams[final_team[p]].name,
            "site": st.key,
            "country": st.country,
            "manager_id": org.ids[mgr] if mgr >= 0 else None,
            "hire_date": day(int(org.hire_day[p])),
            "notice_date": day(int(org.notice_day[p])),
            "end_date": day(int(org.end_day[p])),
            "shift_start": _hhmm(sh.start),
            "shift_end": _hhmm(sh.start + sh.length),
            "timezone": st.timezone,
            "privileged": bool(org.privileged[p]),
            "attrs": dumps(attrs),
        }
        for k, v in values.items():
            rows[k].append(v)
    return pa.Table.from_pydict(rows, schema=arrow_schema("people"))
