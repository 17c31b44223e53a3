"""Honest lookups of account data: profiles, searches and private data under tickets.

Investigators read a lot of private data, nearly always under a ticket of theirs for that
account; moderators and leads read a little. A few honest lookups carry no ticket, borrow
a teammate's ticket, or touch a linked account, because real case work is like that: a
detector that flags every unticketed view drowns in these.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from custodes.simulate.block import I64, DayEvents
from custodes.simulate.ids import account_ids
from custodes.simulate.moderation import Moderation
from custodes.simulate.roster import US_PER_SECOND, Context, Roster
from custodes.simulate.text import dumps, pick
from custodes.simulate.tickets import ESCALATION, INVESTIGATION, Tickets, TicketSet
from custodes.simulate.world import World

# Per worked day, by role: moderator, qa, lead, investigator, admin, engineer, other.
PROFILE: Final = np.array([4.0, 3.0, 5.0, 18.0, 2.0, 0.5, 0.3])
SEARCH: Final = np.array([1.0, 0.5, 2.0, 10.0, 1.0, 0.3, 0.2])
PRIVATE: Final = np.array([0.25, 0.1, 0.8, 20.0, 0.3, 0.05, 0.0])
NEW_TICKETS: Final = np.array([0.12, 0.05, 0.3, 2.5, 0.2, 0.0, 0.0])
TICKETED_PROFILE: Final = np.array([0.1, 0.1, 0.3, 0.7, 0.3, 0.0, 0.0])

DATA_TYPES: Final = ("messages", "email", "phone", "location", "ip_history")
DATA_TYPE_P: Final = np.array([0.35, 0.2, 0.2, 0.15, 0.1])
DATA_TYPE_ATTRS: Final = [dumps({"data_type": t}) for t in DATA_TYPES]
QUERY_TYPES: Final = ("handle", "email", "phone", "name", "ip")
QUERY_ATTRS: Final = [dumps({"query_type": q}) for q in QUERY_TYPES]
_MIN: Final = 60 * US_PER_SECOND


def private_records(rng: np.random.Generator, data_type: I64) -> I64:
    """Messages come in threads; the other kinds are a handful of rows."""
    many = rng.lognormal(np.log(30.0), 1.0, data_type.size).astype(np.int64) + 1
    return np.where(data_type == 0, many, rng.integers(1, 6, data_type.size))


class Access:
    def __init__(self, w: World, tickets: Tickets, moderation: Moderation) -> None:
        self.w = w
        self.tickets = tickets
        self.moderation = moderation
        self.usable = TicketSet.empty()  # account tickets usable today, sorted by actor
        self._count = np.zeros(w.org.size, dtype=np.int64)
        self._offset = np.zeros(w.org.size, dtype=np.int64)

    def open_tickets(self, roster: Roster, rng: np.random.Generator) -> I64:
        """Open today's new tickets; returns today's private-view count per person."""
        org, acc = self.w.org, self.w.accounts
        self.tickets.expire(int(self.w.cal.origin[:, roster.day].min()))
        people = roster.workers(None, org.role)
        vol = roster.volume[people]
        private = np.zeros(org.size, dtype=np.int64)
        private[people] = rng.poisson(PRIVATE[org.role[people]] * vol)
        usable = self._usable(roster)
        have = np.bincount(usable.actor, minlength=org.size)[people]
        n_new = rng.poisson(NEW_TICKETS[org.role[people]] * vol)
        n_new = np.maximum(n_new, (private[people] > 0) & (have == 0))
        actor = np.repeat(people, n_new)
        k = actor.size
        target = acc.owners(rng, k)
        escalated = self.moderation.escalated_owners
        from_case = rng.random(k) < (0.4 if escalated.size else 0.0)
        if escalated.size:
            target = np.where(from_case, escalated[rng.integers(0, escalated.size, k)], target)
        hp = acc.high_profile_ids()
        vip = rng.random(k) < 0.06
        target = np.where(vip, hp[rng.integers(0, hp.size, k)], target)
        opened = roster.start[actor] + (rng.uniform(0, 25, k) * _MIN).astype(np.int64)
        days = rng.lognormal(np.log(3.0), 0.8, k).clip(10 / 24, 30)
        closed = opened + (days * 24 * 60 * _MIN).astype(np.int64)
        kind = np.where(from_case, ESCALATION, INVESTIGATION)
        self.tickets.add(actor, target, kind, opened, closed)
        self.usable = self._usable(roster)
        self._count = np.bincount(self.usable.actor, minlength=org.size)
        self._offset = np.cumsum(self._count) - self._count
        return private

    def _usable(self, roster: Roster) -> TicketSet:
        t = self.tickets.open
        a = t.actor
        ok = (
            roster.working[a]
            & (t.target >= 0)
            & (t.opened <= roster.start[a] + 30 * _MIN)
            & (t.closed >= roster.end[a])
        )
        t = t.select(ok)
        return t.select(np.argsort(t.actor, kind="stable"))

    def assign(self, rng: np.random.Generator, actor: I64) -> I64:
        """For each lookup, one of its actor's usable tickets (index into ``usable``, -1)."""
        cnt = self._count[actor]
        idx = self._offset[actor] + (rng.random(actor.size) * cnt).astype(np.int64)
        return np.where(cnt > 0, idx, -1)

    def ticket_of(self, t: I64) -> I64:
        """Ticket numbers for ``assign`` results (-1 where there is none)."""
        if len(self.usable) == 0:
            return np.full(t.size, -1, dtype=np.int64)
        return np.where(t >= 0, self.usable.number[np.maximum(t, 0)], -1)

    def target_of(self, t: I64, fallback: I64) -> I64:
        if len(self.usable) == 0:
            return fallback
        return np.where(t >= 0, self.usable.target[np.maximum(t, 0)], fallback)

    def day(self, ev: DayEvents, roster: Roster, rng: np.random.Generator) -> None:
        org, acc = self.w.org, self.w.accounts
        private = self.open_tickets(roster, rng)
        people = roster.workers(None, org.role)
        actor, ts = roster.spread(rng, people, private[people], lead_min=30.0)
        t = self.assign(rng, actor)
        ticket = self.ticket_of(t)
        target = self.target_of(t, acc.owners(rng, actor.size))
        r = rng.random(actor.size)
        ticket = np.where(r < 0.02, -1, ticket)  # forgot to reference the case
        n_use = len(self.usable)
        if n_use:
            mate = rng.integers(0, n_use, actor.size)  # working a teammate's case
            u = self.usable
            open_now = (u.opened[mate] <= ts) & (u.closed[mate] >= ts)
            borrow = (r >= 0.02) & (r < 0.035) & open_now
            ticket = np.where(borrow, self.usable.number[mate], ticket)
            target = np.where(borrow, self.usable.target[mate], target)
        linked = (r >= 0.035) & (r < 0.045)  # a linked account of the case's subject
        target = np.where(linked, acc.owners(rng, actor.size), target)
        dtype = rng.choice(len(DATA_TYPES), size=actor.size, p=DATA_TYPE_P)
        ctx = Context.of(roster, actor)
        ev.add(
            ts=ts,
            actor=actor,
            action="view_private_data",
            source="case_tool",
            target_type="account",
            target=account_ids(target),
            ticket=ticket,
            records=private_records(rng, dtype),
            attrs=pick(DATA_TYPE_ATTRS, dtype),
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
        )

        counts = rng.poisson(PROFILE[org.role[people]] * roster.volume[people])
        actor, ts = roster.spread(rng, people, counts, lead_min=30.0)
        t = self.assign(rng, actor)
        t = np.where(rng.random(actor.size) < TICKETED_PROFILE[org.role[actor]], t, -1)
        ticket = self.ticket_of(t)
        target = self.target_of(t, acc.owners(rng, actor.size))
        ctx = Context.of(roster, actor)
        ev.add(
            ts=ts,
            actor=actor,
            action="view_profile",
            source="case_tool",
            target_type="account",
            target=account_ids(target),
            ticket=ticket,
            records=1,
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
        )

        counts = rng.poisson(SEARCH[org.role[people]] * roster.volume[people])
        actor, ts = roster.spread(rng, people, counts, lead_min=30.0)
        t = self.assign(rng, actor)
        t = np.where(rng.random(actor.size) < 0.5, t, -1)
        ctx = Context.of(roster, actor)
        ev.add(
            ts=ts,
            actor=actor,
            action="search_accounts",
            source="case_tool",
            ticket=self.ticket_of(t),
            records=rng.poisson(6.0, actor.size) + 1,
            attrs=pick(QUERY_ATTRS, rng.integers(0, len(QUERY_TYPES), actor.size)),
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
        )
