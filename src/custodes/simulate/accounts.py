"""Platform accounts whose content is reviewed and whose data staff can look up.

Reach is heavy-tailed (a few accounts have millions of followers) and so is activity: most
reviewed content comes from a minority of accounts, and a small set of repeat offenders is
over-represented in enforcement queues, as on real platforms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from custodes.model.arrow import arrow_schema
from custodes.simulate.config import SimulationConfig
from custodes.simulate.ids import account_ids
from custodes.simulate.network import COUNTRIES, COUNTRY
from custodes.simulate.text import dumps

HIGH_PROFILE_KINDS: Final = ("celebrity", "politician", "journalist", "vip_partner")
_COUNTRY_WEIGHT: Final = {
    "US": 0.20, "BR": 0.15, "IN": 0.12, "PH": 0.08, "MX": 0.08, "CO": 0.06, "GB": 0.05,
    "ES": 0.04, "AR": 0.04, "PT": 0.03, "IE": 0.01, "DE": 0.03, "FR": 0.03, "NG": 0.03,
    "ID": 0.03, "CL": 0.01, "PE": 0.01,
}  # fmt: skip


@dataclass
class Accounts:
    high_profile: npt.NDArray[np.bool_]
    kind: list[str | None]
    followers: npt.NDArray[np.int64]
    country: npt.NDArray[np.int16]
    violation: npt.NDArray[np.float64]  # multiplier on the odds that content violates
    cdf: npt.NDArray[np.float64]  # of being the owner of a piece of reviewed content
    conflicts: dict[int, list[int]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(self.followers.size)

    def owners(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.int64]:
        """Owners of ``n`` pieces of content, weighted by how much each account posts."""
        idx = np.searchsorted(self.cdf, rng.random(n), side="right")
        return np.minimum(idx, self.size - 1).astype(np.int64)

    def declare_conflict(self, account: int, person: int) -> None:
        self.conflicts.setdefault(account, [])
        if person not in self.conflicts[account]:
            self.conflicts[account].append(person)

    def boost(self, accounts: npt.NDArray[np.int64], share: float) -> None:
        """Make each of ``accounts`` own about ``share`` of reviewed content."""
        weight = np.diff(self.cdf, prepend=0.0)
        accounts = np.unique(accounts)
        others = weight.sum() - weight[accounts].sum()
        weight[accounts] = share * others / max(1e-9, 1.0 - share * accounts.size)
        cdf = np.cumsum(weight)
        self.cdf = cdf / cdf[-1]

    def high_profile_ids(self) -> npt.NDArray[np.int64]:
        return np.flatnonzero(self.high_profile).astype(np.int64)


def build_accounts(
    cfg: SimulationConfig, rng: np.random.Generator, staff_country: npt.NDArray[np.int16]
) -> Accounts:
    n = cfg.accounts
    names = list(_COUNTRY_WEIGHT)
    w = np.array([_COUNTRY_WEIGHT[c] for c in names])
    country = np.array([COUNTRY[c] for c in names], dtype=np.int16)[
        rng.choice(len(names), size=n, p=w / w.sum())
    ]
    hp = rng.random(n) < cfg.high_profile_fraction
    if not hp.any():
        hp[int(rng.integers(n))] = True
    followers = np.where(
        hp, rng.lognormal(np.log(2e6), 1.2, size=n), rng.lognormal(np.log(250), 2.0, size=n)
    ).astype(np.int64)
    kind = [str(rng.choice(HIGH_PROFILE_KINDS)) if h else None for h in hp]
    offender = rng.random(n) < 0.02
    violation = rng.lognormal(0.0, 0.5, size=n) * np.where(offender, 2.5, 1.0)
    weight = (followers + 10.0) ** 0.2 * rng.lognormal(0.0, 1.0, size=n)
    weight *= np.where(offender, 3.0, 1.0)
    cdf = np.cumsum(weight)
    cdf /= cdf[-1]
    accounts = Accounts(hp, kind, followers, country, violation, cdf)
    # Declared conflicts of interest: a relative's or a friend's account, usually local.
    n_staff = staff_country.size
    for person in rng.choice(n_staff, size=max(1, n_staff // 25), replace=False):
        local = np.flatnonzero(country == staff_country[person])
        pool = local if local.size else np.arange(n)
        for acc in rng.choice(pool, size=int(rng.integers(1, 3))):
            accounts.declare_conflict(int(acc), int(person))
    return accounts


def accounts_table(acc: Accounts, actor_ids: list[str]) -> pa.Table:
    n = acc.size
    conflicts: list[list[str] | None] = [None] * n
    for a, people in acc.conflicts.items():
        conflicts[a] = [actor_ids[p] for p in sorted(people)]
    attrs: list[str | None] = [None] * n
    for a in range(n):
        extra: dict[str, object] = {}
        if acc.kind[a]:
            extra["kind"] = acc.kind[a]
            extra["verified"] = True
        elif acc.followers[a] >= 100_000:
            extra["kind"] = "creator"
        if extra:
            attrs[a] = dumps(extra)
    return pa.Table.from_arrays(
        [
            account_ids(np.arange(n, dtype=np.int64)),
            pa.array(acc.high_profile),
            pa.array(acc.followers),
            pa.array(COUNTRIES).take(pa.array(acc.country)),
            pa.array(conflicts, type=pa.list_(pa.string())),
            pa.array(attrs, type=pa.string()),
        ],
        schema=arrow_schema("accounts"),
    )
