"""Review decisions, QA of decisions, and user appeals, with a hidden truth behind each.

Every reviewed item has a true label; the classifier proposes a label that is usually
right; a moderator usually gets it right and, when unsure, leans on the classifier. QA then
samples decisions from the last two days and agrees when the decision was right, and users
appeal removals, wrong ones more often, so overturn rates come out of real mistakes. That
chain is what lets the misconduct scenarios show up as *consequences* (low QA agreement,
high overturn rates) rather than as a flag on the event.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, fields
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from custodes.simulate import policy as pol
from custodes.simulate.block import F64, HONEST, I8, I32, I64, OUTCOME, SCENARIO, B, DayEvents
from custodes.simulate.ids import account_ids, content_ids, event_ids, scatter
from custodes.simulate.org import LEAD, MOD, QA, SITES
from custodes.simulate.roster import US_PER_SECOND, Context, Roster, seconds
from custodes.simulate.text import close, fragment, join, pick
from custodes.simulate.world import World

APPROVE, REMOVE, RESTRICT, ESCALATE, SKIP = range(5)
_DECISION_RATE: Final = {MOD: 84.0, LEAD: 8.0}
_QA_RATE: Final = 60.0
_HOUR: Final = 3600 * US_PER_SECOND
_DAY: Final = 24 * _HOUR
_LABELS: Final = ("approve", "remove", "restrict")
_N_POL = len(pol.POLICIES)
_N_LANG = len(pol.QUEUE_LANGUAGES)


def _queue_fields(p: int, lang: int) -> dict[str, object]:
    return {"policy": pol.NAMES[p], "queue": f"{pol.NAMES[p]}-{pol.QUEUE_LANGUAGES[lang]}"}


# Pre-rendered JSON heads, indexed by (policy, language[, suggested label]).
_DECISION_HEAD: Final = [
    fragment({**_queue_fields(p, g), "suggested_label": _LABELS[s]}, "owner_account_id")
    for p in range(_N_POL)
    for g in range(_N_LANG)
    for s in range(3)
]
_QA_HEAD: Final = [
    fragment(_queue_fields(p, g), "reviewed_actor_id")
    for p in range(_N_POL)
    for g in range(_N_LANG)
]
_APPEAL_HEAD: Final = [
    fragment(_queue_fields(p, g), "original_decision_id")
    for p in range(_N_POL)
    for g in range(_N_LANG)
]


@dataclass
class Decided:
    """Decisions kept for QA sampling and appeals (the hidden truth travels with them)."""

    number: I64
    actor: I32
    ts: I64
    content: I64
    owner: I64
    policy: I8
    lang: I8
    correct: B  # the decision matches the true label (what QA checks)
    wrongful: B  # actioned although the content broke no rule (what appeals fix)

    def select(self, index: npt.NDArray[np.intp] | B) -> Decided:
        return Decided(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(items: list[Decided]) -> Decided:
        return Decided(
            **{f.name: np.concatenate([getattr(i, f.name) for i in items]) for f in fields(Decided)}
        )


@dataclass
class Pending:
    decided: Decided
    due: I64  # not before this time


class Moderation:
    def __init__(self, w: World) -> None:
        self.w = w
        self._history: deque[Decided] = deque(maxlen=3)
        self._today: list[Decided] = []
        self._pending: list[Pending] = []
        self._content = 0
        self._day = 0
        self.escalated_owners: I64 = np.zeros(0, dtype=np.int64)  # yesterday's, for cases
        self._escalated: list[I64] = []
        self._actors = pa.array(w.org.ids, type=pa.string())
        self._site_lang = np.array(
            [pol.QUEUE_LANGUAGES.index(s.language) for s in SITES], dtype=np.int8
        )

    def begin(self, day: int) -> None:
        self._day = day
        self._content = 0
        self._today = []
        self._escalated = []

    def end(self) -> None:
        if self._today:
            today = Decided.concat(self._today)
            self._history.append(today.select(np.argsort(today.ts, kind="stable")))
        self.escalated_owners = np.concatenate([np.zeros(0, dtype=np.int64), *self._escalated])

    # -- decisions -----------------------------------------------------------------------

    def lang_of(self, actor: I64) -> I8:
        return self._site_lang[self.w.org.site[actor]]

    def true_labels(self, rng: np.random.Generator, policy: I64, owner: I64) -> I64:
        v = pol.VIOLATING[policy]
        odds = v / (1.0 - v) * self.w.accounts.violation[owner]
        violating = rng.random(policy.size) < odds / (1.0 + odds)
        restrict = rng.random(policy.size) < pol.RESTRICT[policy]
        return np.where(violating, np.where(restrict, RESTRICT, REMOVE), APPROVE).astype(np.int64)

    def suggestions(self, rng: np.random.Generator, policy: I64, truth: I64) -> I64:
        right = rng.random(policy.size) < pol.CLASSIFIER[policy]
        return np.where(right, truth, (truth + rng.integers(1, 3, policy.size)) % 3)

    def decide(
        self,
        ev: DayEvents,
        rng: np.random.Generator,
        *,
        actor: I64,
        ts: I64,
        policy: I64,
        owner: I64,
        truth: I64,
        suggested: I64,
        outcome: I64,
        duration_s: F64,
        ctx: Context,
        scenario: npt.NDArray[np.int8] | int = HONEST,
        appeal: F64 | None = None,
    ) -> None:
        """Write review decisions and remember them for QA and appeals."""
        n = actor.size
        if n == 0:
            return
        lang = self.lang_of(actor)
        content = scatter(self._day, self._content + np.arange(n, dtype=np.int64), salt=1)
        self._content += n
        head = (policy * _N_LANG + lang) * 3 + suggested
        numbers = ev.add(
            ts=ts,
            actor=actor,
            action="review_decision",
            source="review_tool",
            target_type="content",
            target=content_ids(content),
            outcome=outcome,
            duration=(duration_s * 1000).astype(np.int64),
            attrs=join(pick(_DECISION_HEAD, head), account_ids(owner), close()),
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
            truth=scenario,
        )
        correct = (outcome == truth) | (outcome == ESCALATE) | (outcome == SKIP)
        removed = (outcome == REMOVE) | (outcome == RESTRICT)
        wrongful = removed & (truth == APPROVE)
        done = Decided(
            numbers,
            actor.astype(np.int32),
            ts,
            content,
            owner,
            policy.astype(np.int8),
            lang.astype(np.int8),
            correct,
            wrongful,
        )
        self._today.append(done)
        self._escalated.append(owner[outcome == ESCALATE])
        if appeal is None:
            appeal = np.where(wrongful, pol.APPEAL_IF_WRONG, pol.APPEAL_IF_RIGHT)
            appeal = appeal * np.where(self.w.accounts.followers[owner] > 100_000, 2.0, 1.0)
        appealed = removed & (rng.random(n) < appeal)
        if appealed.any():
            wait = rng.lognormal(np.log(2.5), 0.6, int(appealed.sum())).clip(0.5, 10.0)
            due = ts[appealed] + (wait * _DAY).astype(np.int64)
            self._pending.append(Pending(done.select(appealed), due))

    def honest_decisions(self, ev: DayEvents, roster: Roster, rng: np.random.Generator) -> None:
        org, adj = self.w.org, roster.adjust
        people = roster.workers((MOD, LEAD), org.role)
        base = np.where(org.role[people] == MOD, _DECISION_RATE[MOD], _DECISION_RATE[LEAD])
        counts = rng.poisson(base * roster.volume[people] * adj.volume[people])
        actor = np.repeat(people, counts)
        n = actor.size
        if n == 0:
            return
        first = np.repeat(np.cumsum(counts) - counts, counts)
        rank = np.arange(n) - first
        second = rank >= np.repeat((counts + 1) // 2, counts)

        team_pol = org.team_policy()[roster.team[actor]]
        primary = (team_pol >= 0) & (rng.random(n) < 0.7)
        policy = np.where(primary, team_pol, rng.choice(_N_POL, size=n, p=pol.WEIGHT))
        owner = self.w.accounts.owners(rng, n)
        truth = self.true_labels(rng, policy, owner)
        sugg = self.suggestions(rng, policy, truth)

        outcome = truth.copy()
        unsure_p = np.minimum(3.0 * pol.ERROR[policy] * org.error[actor] * adj.error[actor], 0.9)
        unsure = rng.random(n) < unsure_p
        follows = unsure & (rng.random(n) < org.follow[actor])
        outcome[follows] = sugg[follows]
        guess = unsure & ~follows
        outcome[guess] = rng.integers(0, 3, int(guess.sum()))
        outcome = np.where(rng.random(n) < adj.stamp[actor], sugg, outcome)
        single = rng.random(n) < adj.single_share[actor]
        outcome = np.where(single, adj.single_label[actor], outcome)
        special = (adj.stamp[actor] > 0) | (adj.single_share[actor] > 0)
        r = rng.random(n)
        outcome = np.where(~special & (r < pol.ESCALATE[policy]), ESCALATE, outcome)
        outcome = np.where(~special & (r > 0.996), SKIP, outcome)

        speed = org.speed[actor] * adj.speed[actor]
        dur = rng.lognormal(np.log(pol.SECONDS[policy] * speed), pol.SIGMA[policy])
        dur = dur.clip(1.5, 1800.0)
        gap = rng.lognormal(np.log(6.0), 0.7, n)
        regular = adj.regular[actor]
        metronome = regular > 0
        tick = regular * (1.0 + rng.normal(0.0, 0.012, n))
        dur = np.where(metronome, tick * 0.9, dur)
        step = np.where(metronome, tick, dur + gap)

        length = roster.end - roster.start
        b0 = roster.start + (rng.uniform(20, 50, roster.start.size) * 60 * US_PER_SECOND)
        b1 = roster.start + length // 2 + (rng.uniform(10, 40, roster.start.size) * 60e6)
        origin = np.where(second, b1.astype(np.int64)[actor], b0.astype(np.int64)[actor])
        new_group = (rank == 0) | (second & (rank == np.repeat((counts + 1) // 2, counts)))
        csum = np.cumsum(step)
        group = np.cumsum(new_group) - 1
        before = (csum - step)[new_group]
        elapsed = csum - before[group]
        ts = seconds(
            np.minimum(origin + (elapsed * US_PER_SECOND).astype(np.int64), roster.end[actor])
        )
        self.decide(
            ev,
            rng,
            actor=actor,
            ts=ts,
            policy=policy,
            owner=owner,
            truth=truth,
            suggested=sugg,
            outcome=outcome,
            duration_s=dur,
            ctx=Context.of(roster, actor),
            scenario=adj.decision_truth[actor],
        )

    # -- QA ------------------------------------------------------------------------------

    def qa(self, ev: DayEvents, roster: Roster, rng: np.random.Generator) -> None:
        if not self._history:
            return
        adj = roster.adjust
        pool = Decided.concat(list(self._history))
        pool = pool.select(np.argsort(pool.ts, kind="stable"))
        people = roster.workers((QA,), self.w.org.role)
        counts = rng.poisson(_QA_RATE * roster.volume[people] * adj.volume[people])
        actor, ts = roster.spread(rng, people, counts, lead_min=20.0)
        lo = np.searchsorted(pool.ts, ts - 2 * _DAY)
        hi = np.searchsorted(pool.ts, ts - _HOUR)
        pick_i = lo + (rng.random(actor.size) * (hi - lo)).astype(np.int64)
        partner = adj.qa_partner[actor]
        collude = (partner >= 0) & (rng.random(actor.size) < adj.qa_share[actor])
        for mod in np.unique(partner[collude]):
            own = np.flatnonzero(pool.actor == mod)
            rows = np.flatnonzero(collude & (partner == mod))
            p_lo = np.searchsorted(pool.ts[own], ts[rows] - 2 * _DAY)
            p_hi = np.searchsorted(pool.ts[own], ts[rows] - _HOUR)
            has = p_hi > p_lo
            chosen = p_lo + (rng.random(rows.size) * (p_hi - p_lo)).astype(np.int64)
            pick_i[rows[has]] = own[chosen[has]]
            collude[rows[~has]] = False
        keep = (hi > lo) | collude
        actor, ts, pick_i, collude = actor[keep], ts[keep], pick_i[keep], collude[keep]
        seen = pool.select(pick_i)
        agree_p = np.where(seen.correct, 0.96, 0.18)
        agree_p = np.where(collude, adj.qa_agree[actor], agree_p)
        agree = rng.random(actor.size) < agree_p
        ctx = Context.of(roster, actor)
        ev.add(
            ts=ts,
            actor=actor,
            action="qa_review",
            source="review_tool",
            target_type="decision",
            target=event_ids(seen.number),
            outcome=np.where(agree, OUTCOME["agree"], OUTCOME["disagree"]),
            duration=(rng.lognormal(np.log(80.0), 0.5, actor.size) * 1000).astype(np.int64),
            attrs=join(
                pick(_QA_HEAD, seen.policy.astype(np.int64) * _N_LANG + seen.lang),
                pick(self._actors, seen.actor),
                close(),
            ),
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
            truth=np.where(collude, SCENARIO["qa_collusion"], HONEST),
        )

    # -- appeals -------------------------------------------------------------------------

    def appeals(self, ev: DayEvents, roster: Roster, rng: np.random.Generator) -> None:
        if not self._pending:
            return
        org = self.w.org
        pending = Pending(
            Decided.concat([p.decided for p in self._pending]),
            np.concatenate([p.due for p in self._pending]),
        )
        due = pending.due < int(self.w.cal.origin[:, roster.day].min())
        handlers = np.flatnonzero(
            roster.working & (((org.role == MOD) & org.appeals) | (org.role == LEAD))
        )
        if not due.any() or handlers.size == 0:
            return
        idx = np.flatnonzero(due)
        d = pending.decided.select(idx)
        actor = handlers[rng.integers(0, handlers.size, idx.size)]
        overturn = rng.random(idx.size) < np.where(
            d.wrongful, pol.OVERTURN_IF_WRONG, pol.OVERTURN_IF_RIGHT
        )
        scenario = np.full(idx.size, HONEST, dtype=np.int8)
        for person, creators, prob in roster.adjust.claims:
            if not roster.working[person]:
                continue
            claim = np.isin(d.owner, creators) & (rng.random(idx.size) < prob)
            actor[claim] = person
            overturn[claim] = True
            scenario[claim] = SCENARIO["paid_reversal"]
        _, ts = roster.spread(rng, actor, np.ones(actor.size, dtype=np.int64), lead_min=20.0)
        ctx = Context.of(roster, actor)
        ev.add(
            ts=ts,
            actor=actor,
            action="appeal_decision",
            source="review_tool",
            target_type="content",
            target=content_ids(d.content),
            outcome=np.where(overturn, OUTCOME["overturn"], OUTCOME["uphold"]),
            duration=(rng.lognormal(np.log(95.0), 0.5, idx.size) * 1000).astype(np.int64),
            attrs=join(
                pick(_APPEAL_HEAD, d.policy.astype(np.int64) * _N_LANG + d.lang),
                event_ids(d.number),
                close("owner_account_id"),
                account_ids(d.owner),
                close(),
            ),
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
            truth=scenario,
        )
        left = ~due
        self._pending = [Pending(pending.decided.select(left), pending.due[left])]
