"""Unjustified access: looking up private data of people one has no case about.

The snoop searches for the person, opens the profile, then the private data, with no
ticket or with an unrelated ticket of theirs pasted in. Targets are celebrities, accounts
the snoop declared a conflict with, or people near them; subtle snoops do it rarely and
during their shift, blatant ones often and from home in the evening.
"""

from __future__ import annotations

import numpy as np

from custodes.simulate.access import DATA_TYPE_ATTRS, private_records
from custodes.simulate.ids import account_ids
from custodes.simulate.network import COUNTRY
from custodes.simulate.org import SITES
from custodes.simulate.scenarios.plan import Insider, Planner, camouflage, intensity
from custodes.simulate.scenarios.stage import Stage
from custodes.simulate.text import dumps, pick


def setup_unjustified_access(pl: Planner) -> list[Insider]:
    p = pl.pick("unjustified_access")
    if p is None:
        return []
    rng, acc = pl.rng, pl.w.accounts
    variant = str(rng.choice(["celebrity", "conflict", "curiosity"], p=[0.4, 0.35, 0.25]))
    home = COUNTRY[SITES[pl.w.org.site[p]].country]
    local = np.flatnonzero((acc.country == home) & ~acc.high_profile)
    if local.size < 12:
        local = np.flatnonzero(~acc.high_profile)
    hp = acc.high_profile_ids()
    if variant == "celebrity" and hp.size:
        targets = rng.choice(hp, size=min(hp.size, int(rng.integers(3, 9))), replace=False)
    elif variant == "conflict":
        declared = rng.choice(local, size=int(rng.integers(1, 3)), replace=False)
        for a in declared:
            acc.declare_conflict(int(a), p)
        undeclared = rng.choice(local, size=int(rng.integers(1, 4)), replace=False)
        targets = np.concatenate([declared, undeclared])
    else:
        variant = "curiosity"
        targets = rng.choice(local, size=int(rng.integers(4, 11)), replace=False)
    first, last = pl.window(p, 25.0)
    s = intensity(rng)
    ins = Insider(p, "unjustified_access", first, last, s, camouflage(rng, s), variant)
    ins.targets = np.unique(targets).astype(np.int64)
    return [ins]


def act_unjustified_access(ins: Insider, st: Stage) -> None:
    rng, s = st.rng, ins.intensity
    k = 1 + int(rng.poisson(3.0 * s))
    home = rng.random() < 0.35 * s
    ts = st.after_hours(ins, k) if home else st.during_shift(ins, k, lead_min=40.0)
    ctx = st.ctx(ins, k, at_home=home)
    target = rng.choice(ins.targets, size=k)
    # Mostly no ticket; sometimes an unrelated ticket of theirs, to look justified.
    t = st.access.assign(rng, np.full(k, ins.actor, dtype=np.int64))
    disguise = (t >= 0) & (rng.random(k) >= 0.65 + 0.35 * s)
    ticket = st.access.ticket_of(np.where(disguise, t, -1))
    dtype = rng.choice(5, size=k, p=[0.35, 0.1, 0.2, 0.3, 0.05])
    st.add(
        ins,
        ctx,
        ts=ts,
        action="view_private_data",
        source="case_tool",
        target_type="account",
        target=account_ids(target),
        ticket=ticket,
        records=private_records(rng, dtype),
        attrs=pick(DATA_TYPE_ATTRS, dtype),
    )
    before = rng.random(k) < 0.7
    if before.any():
        n = int(before.sum())
        lead = rng.integers(5, 60, n) * 1_000_000
        st.add(
            ins,
            st.ctx(ins, n, at_home=home),
            ts=ins.clip(ts[before] - lead),
            action="view_profile",
            source="case_tool",
            target_type="account",
            target=account_ids(target[before]),
            records=1,
        )
    search = rng.random(k) < 0.4
    if search.any():
        n = int(search.sum())
        lead = rng.integers(60, 180, n) * 1_000_000
        st.add(
            ins,
            st.ctx(ins, n, at_home=home),
            ts=ins.clip(ts[search] - lead),
            action="search_accounts",
            source="case_tool",
            records=rng.integers(1, 6, n),
            attrs=dumps({"query_type": "name"}),
        )
