"""Credential sharing: somebody else works under this person's login.

Two patterns from the field: a friend in another country working the account at the same
time (concurrent sessions, impossible travel, an unknown device), and a friend covering
another shift or a day off from their own home (same country, new device, odd hours).
The second user does the account owner's kind of work, so the activity mix stays normal.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from custodes.simulate import policy as pol
from custodes.simulate.access import PROFILE
from custodes.simulate.block import SCENARIO
from custodes.simulate.ids import account_ids
from custodes.simulate.network import COUNTRY
from custodes.simulate.office import HTTP_ATTRS, http_attrs
from custodes.simulate.org import LEAD, MOD, SITES
from custodes.simulate.roster import Context
from custodes.simulate.scenarios.plan import Insider, Planner, camouflage, intensity
from custodes.simulate.scenarios.stage import HOUR, MINUTE, Stage
from custodes.simulate.text import pick

# Far away from each region's sites.
_FAR: Final[dict[str, tuple[str, ...]]] = {
    "americas": ("PH", "IN", "NG", "VN", "ID", "PK"),
    "emea": ("BR", "PH", "IN", "MX", "CO", "ID"),
    "apac": ("BR", "CO", "US", "MX", "NG", "AR"),
}
_REGION: Final = {
    "US": "americas",
    "CO": "americas",
    "BR": "americas",
    "IE": "emea",
    "PT": "emea",
    "PH": "apac",
    "IN": "apac",
}


def setup_credential_sharing(pl: Planner) -> list[Insider]:
    p = pl.pick("credential_sharing")
    if p is None:
        return []
    rng, net = pl.rng, pl.w.net
    home = SITES[pl.w.org.site[p]].country
    variant = str(rng.choice(["remote", "shift_share"]))
    if variant == "remote":
        country = COUNTRY[str(rng.choice(_FAR[_REGION[home]]))]
        ip = int(net.country_ips[country][int(rng.integers(net.country_ips[country].size))])
    else:
        country = COUNTRY[home]
        ip = int(net.new_ips(country, 1)[0])
    first, last = pl.window(p, 30.0)
    s = intensity(rng)
    ins = Insider(p, "credential_sharing", first, last, s, camouflage(rng, s), variant)
    ins.country, ins.ip, ins.device = country, ip, net.personal_device()
    return [ins]


def duty_credential_sharing(ins: Insider, st: Stage) -> bool:
    """The borrowed login is used on days off too; that is part of the signal."""
    return ins.active(st.day) and st.rng.random() >= ins.camouflage


def act_credential_sharing(ins: Insider, st: Stage) -> None:
    rng, s, org, p = st.rng, ins.intensity, st.w.org, ins.actor
    origin = int(st.w.cal.origin[org.site[p], st.day])
    working = bool(st.roster.working[p])
    if ins.variant == "remote":
        # Overlaps the owner's own session when they work: two places at once.
        begin = (
            int(st.roster.start[p]) + int(rng.uniform(0.5, 4.0) * HOUR)
            if working
            else (origin + int(rng.uniform(8.0, 15.0) * HOUR))
        )
    else:
        # The next shift after the owner's, or a normal day shift on the owner's day off.
        begin = (
            int(st.roster.end[p]) + int(rng.uniform(0.2, 1.5) * HOUR)
            if working
            else (origin + int(rng.uniform(7.0, 14.0) * HOUR))
        )
    length = rng.uniform(1.5, 2.0 + 4.0 * s) * HOUR
    n = int(rng.poisson(8.0 + 35.0 * s))
    ts = ins.clip(
        np.sort(begin + (rng.random(n) * length).astype(np.int64)) // 1_000_000 * 1_000_000
    )
    session = ins.clip(np.array([begin - 2 * MINUTE, begin + int(length) + 5 * MINUTE]))

    def ctx(k: int) -> Context:
        return Context(
            np.full(k, ins.ip, dtype=np.int32),
            np.full(k, ins.country, dtype=np.int16),
            np.full(k, ins.device, dtype=np.int32),
        )

    if rng.random() < 0.3:
        st.add(
            ins,
            ctx(1),
            ts=ins.clip(session[:1] - 30_000_000),
            action="mfa_failed",
            source="vpn",
            outcome="failure",
        )
    st.add(ins, ctx(1), ts=session[:1], action="login", source="vpn")
    if n:
        if org.role[p] in (MOD, LEAD):
            policy = rng.choice(len(pol.POLICIES), size=n, p=pol.WEIGHT)
            owner = st.w.accounts.owners(rng, n)
            truth = st.moderation.true_labels(rng, policy, owner)
            sugg = st.moderation.suggestions(rng, policy, truth)
            outcome = np.where(rng.random(n) < 0.8, sugg, truth)
            dur = rng.lognormal(np.log(pol.SECONDS[policy] * 0.8), pol.SIGMA[policy]).clip(2, 900)
            st.moderation.decide(
                st.ev,
                rng,
                actor=np.full(n, p, dtype=np.int64),
                ts=ts,
                policy=policy,
                owner=owner,
                truth=truth,
                suggested=sugg,
                outcome=outcome,
                duration_s=dur,
                ctx=ctx(n),
                scenario=SCENARIO[ins.scenario],
            )
        else:
            looks = rng.random(n) < min(0.8, PROFILE[org.role[p]] / 20.0 + 0.2)
            k = int(looks.sum())
            st.add(
                ins,
                ctx(k),
                ts=ts[looks],
                action="view_profile",
                source="case_tool",
                target_type="account",
                target=account_ids(st.w.accounts.owners(rng, k)),
                records=1,
            )
            k = n - k
            st.add(
                ins,
                ctx(k),
                ts=ts[~looks],
                action="http_visit",
                source="proxy",
                target_type="url",
                nbytes=rng.lognormal(np.log(2e5), 1.0, k).astype(np.int64),
                attrs=pick(HTTP_ATTRS, http_attrs(rng, np.zeros(k, dtype=np.int64))),
            )
    st.add(ins, ctx(1), ts=session[1:], action="logout", source="vpn")
