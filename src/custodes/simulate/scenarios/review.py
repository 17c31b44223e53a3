"""Misconduct inside the review workflow: bribes, vendettas, gaming and QA collusion.

None of these add odd-looking rows: a paid approval is an ordinary approve, a malicious
removal an ordinary remove. They show in aggregates: whose content one moderator keeps
approving, whose removals get overturned, how fast and how uniform someone's decisions
are, how often one QA analyst agrees with one moderator.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from custodes.simulate import policy as pol
from custodes.simulate.block import SCENARIO
from custodes.simulate.moderation import APPROVE, REMOVE, RESTRICT
from custodes.simulate.org import MOD
from custodes.simulate.scenarios.plan import Insider, Planner, camouflage, intensity
from custodes.simulate.scenarios.stage import Stage

# Policies whose violators are usually commercial (and can pay).
_PAID_POLICIES: Final = np.array([pol.CODE[p] for p in ("spam", "fraud", "adult", "ip")])


def _one(pl: Planner, scenario: str, variant: str, median_days: float) -> Insider | None:
    p = pl.pick(scenario)
    if p is None:
        return None
    first, last = pl.window(p, median_days)
    s = intensity(pl.rng)
    return Insider(p, scenario, first, last, s, camouflage(pl.rng, s), variant)


# -- paid_reversal ----------------------------------------------------------------------


def setup_paid_reversal(pl: Planner) -> list[Insider]:
    ins = _one(pl, "paid_reversal", "creator_ring", 30.0)
    if ins is None:
        return []
    pl.w.org.appeals[ins.actor] = True  # handles appeals all along, honestly at first
    acc = pl.w.accounts
    mid = np.flatnonzero(~acc.high_profile & (acc.followers > 1_000) & (acc.followers < 500_000))
    pool = mid if mid.size >= 5 else np.arange(acc.size)
    ins.targets = pl.rng.choice(pool, size=int(pl.rng.integers(2, 6)), replace=False)
    # Creators who pay for protection are prolific violators, visible to everyone's queue.
    acc.violation[ins.targets] *= 3.0
    acc.boost(ins.targets, 8.0 / acc.size)
    return [ins]


def adjust_paid_reversal(ins: Insider, st: Stage) -> None:
    st.roster.adjust.claims.append((ins.actor, ins.targets, 0.4 + 0.5 * ins.intensity))


def act_paid_reversal(ins: Insider, st: Stage) -> None:
    rng = st.rng
    n = int(rng.poisson(1.0 + 5.0 * ins.intensity))
    if n == 0:
        return
    owner = rng.choice(ins.targets, size=n)
    policy = _PAID_POLICIES[owner % _PAID_POLICIES.size]
    truth = np.where(rng.random(n) < 0.8, REMOVE, RESTRICT)
    _decide(ins, st, owner, policy, truth, np.full(n, APPROVE), appeal=0.0)


def _decide(
    ins: Insider,
    st: Stage,
    owner: np.ndarray,
    policy: np.ndarray,
    truth: np.ndarray,
    outcome: np.ndarray,
    appeal: float,
) -> None:
    rng, n = st.rng, owner.size
    org = st.w.org
    dur = rng.lognormal(np.log(pol.SECONDS[policy] * org.speed[ins.actor]), pol.SIGMA[policy])
    st.moderation.decide(
        st.ev,
        rng,
        actor=np.full(n, ins.actor, dtype=np.int64),
        ts=st.during_shift(ins, n),
        policy=policy.astype(np.int64),
        owner=owner.astype(np.int64),
        truth=truth.astype(np.int64),
        suggested=st.moderation.suggestions(rng, policy.astype(np.int64), truth.astype(np.int64)),
        outcome=outcome.astype(np.int64),
        duration_s=dur.clip(2.0, 1800.0),
        ctx=st.ctx(ins, n),
        scenario=SCENARIO[ins.scenario],
        appeal=np.full(n, appeal),
    )


# -- malicious_enforcement --------------------------------------------------------------


def setup_malicious_enforcement(pl: Planner) -> list[Insider]:
    ins = _one(pl, "malicious_enforcement", "rival_cluster", 25.0)
    if ins is None:
        return []
    acc, rng = pl.w.accounts, pl.rng
    country = int(rng.choice(acc.country))
    local = np.flatnonzero((acc.country == country) & ~acc.high_profile)
    pool = local if local.size >= 8 else np.flatnonzero(~acc.high_profile)
    targets = rng.choice(pool, size=int(rng.integers(3, 9)), replace=False)
    journalists = np.flatnonzero(acc.high_profile & (acc.country == country))
    if journalists.size and rng.random() < 0.3:
        targets = np.append(targets, rng.choice(journalists))
        ins.variant = "critic_cluster"
    ins.targets = targets.astype(np.int64)
    acc.violation[ins.targets] *= 0.3  # the targets rarely actually break the rules
    return [ins]


def act_malicious_enforcement(ins: Insider, st: Stage) -> None:
    rng = st.rng
    n = int(rng.poisson(0.8 + 4.0 * ins.intensity))
    if n == 0:
        return
    owner = rng.choice(ins.targets, size=n)
    policy = rng.choice(
        [pol.CODE["harassment"], pol.CODE["hate"], pol.CODE["misinformation"], pol.CODE["spam"]],
        size=n,
    )
    outcome = np.where(rng.random(n) < 0.65, REMOVE, RESTRICT)
    _decide(ins, st, owner, policy, np.full(n, APPROVE), outcome, appeal=0.5)
    looks = int(rng.integers(0, 3))
    if looks:
        from custodes.simulate.ids import account_ids

        st.add(
            ins,
            st.ctx(ins, looks),
            ts=st.during_shift(ins, looks),
            action="view_profile",
            source="case_tool",
            target_type="account",
            target=account_ids(rng.choice(ins.targets, size=looks)),
            records=1,
        )


# -- productivity_gaming ----------------------------------------------------------------


def setup_productivity_gaming(pl: Planner) -> list[Insider]:
    variant = str(pl.rng.choice(["rubber_stamp", "single_label", "metronome"]))
    ins = _one(pl, "productivity_gaming", variant, 30.0)
    return [] if ins is None else [ins]


def adjust_productivity_gaming(ins: Insider, st: Stage) -> None:
    a, p, s = st.roster.adjust, ins.actor, ins.intensity
    a.speed[p] = 0.6 - 0.4 * s
    a.volume[p] = 1.15 + 0.6 * s
    a.decision_truth[p] = SCENARIO[ins.scenario]
    blatant = s > 0.7
    if ins.variant == "rubber_stamp" or blatant:
        a.stamp[p] = 0.55 + 0.4 * s
    if ins.variant == "single_label":
        a.single_label[p] = APPROVE
        a.single_share[p] = 0.35 + 0.5 * s
    if ins.variant == "metronome" or (blatant and ins.variant == "single_label"):
        a.regular[p] = 4.0 + 8.0 * (1.0 - s)


# -- qa_collusion -----------------------------------------------------------------------


def setup_qa_collusion(pl: Planner) -> list[Insider]:
    q = pl.pick("qa_collusion")
    if q is None:
        return []
    org = pl.w.org
    same_site = {MOD: 1.0}
    m = pl.pick("qa_collusion", same_site, site=int(org.site[q]))
    if m is None:
        m = pl.pick("qa_collusion", same_site)
    if m is None:
        pl.taken.discard(q)
        return []
    first, last = pl.window_for((q, m), 30.0)
    s = intensity(pl.rng)
    cam = camouflage(pl.rng, s)
    variant = "reciprocal" if pl.rng.random() < 0.5 else "one_way"
    return [
        Insider(q, "qa_collusion", first, last, s, cam, variant, partner=m),
        Insider(
            m,
            "qa_collusion",
            first,
            last,
            s,
            cam,
            variant,
            partner=q,
            role_in_scheme="reviewed_moderator",
        ),
    ]


def adjust_qa_collusion(ins: Insider, st: Stage) -> None:
    a, s = st.roster.adjust, ins.intensity
    if ins.role_in_scheme == "perpetrator":
        a.qa_partner[ins.actor] = ins.partner
        a.qa_share[ins.actor] = 0.15 + 0.5 * s
        a.qa_agree[ins.actor] = 0.97 + 0.03 * s
    else:
        # Knowing the QA is friendly, the moderator gets careless (and, when reciprocal,
        # waves through the content the QA analyst cares about).
        a.error[ins.actor] = 1.5 + 2.5 * s
        a.decision_truth[ins.actor] = SCENARIO[ins.scenario]
        if ins.variant == "reciprocal":
            a.stamp[ins.actor] = 0.2 + 0.3 * s
