"""Runs a simulation day by day and streams it to a sink.

Each local day is generated whole, then merged with the events still pending from earlier
days (night shifts and the Americas run past UTC midnight) and everything that can no
longer be preceded by a later day's event is written. Memory therefore holds about one
day of events, however long the period.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pyarrow as pa

from custodes.model.vocabulary import SCENARIOS
from custodes.simulate.access import Access
from custodes.simulate.accounts import accounts_table, build_accounts
from custodes.simulate.admin import Admin
from custodes.simulate.block import ACTIONS, DayEvents, Events, Lookups, to_batch
from custodes.simulate.calendar import Calendar
from custodes.simulate.config import SimulationConfig
from custodes.simulate.escalations import Escalations
from custodes.simulate.moderation import Moderation
from custodes.simulate.network import Network
from custodes.simulate.office import Office
from custodes.simulate.org import SITE_COUNTRY, build_org, people_table
from custodes.simulate.roster import build_roster
from custodes.simulate.scenarios import Scenarios, Stage, labels_table, plan_insiders
from custodes.simulate.sink import Sink
from custodes.simulate.tickets import Tickets
from custodes.simulate.transfers import Transfers
from custodes.simulate.world import World
from custodes.simulate.writer import BackgroundWriter

# Independent random streams, so that changing one generator leaves the others' draws alone.
NETWORK, ORG, ACCOUNTS, CALENDAR, PLAN, ROSTER, OFFICE, ACCESS, TRANSFERS = range(9)
MODERATION, QA, APPEALS, ADMIN, SCENARIO, ESCALATIONS = range(9, 15)
TRUTH_SCHEMA: Final = pa.schema(
    [
        ("event_id", pa.string()),
        ("ts", pa.timestamp("us")),
        ("actor_id", pa.string()),
        ("scenario", pa.string()),
    ]
)
Truth = Callable[[pa.RecordBatch], None]


@dataclass
class SimulationSummary:
    events: int = 0
    people: int = 0
    accounts: int = 0
    tickets: int = 0
    labels: int = 0
    escalations: int = 0
    insiders: dict[str, int] = field(default_factory=dict)
    actions: dict[str, int] = field(default_factory=dict)


def simulate(
    config: SimulationConfig,
    sink: Sink,
    on_progress: Callable[[int, int], None] | None = None,
) -> SimulationSummary:
    """Generate ``config.days`` days of an organisation and write them to ``sink``."""
    return run(config, sink, on_progress)


def run(
    config: SimulationConfig,
    sink: Sink,
    on_progress: Callable[[int, int], None] | None = None,
    truth: Truth | None = None,
) -> SimulationSummary:
    """``simulate`` plus an optional ``truth`` callback receiving, per written batch, the
    misconduct events in it (``TRUTH_SCHEMA``): the event-level ground truth behind labels.
    """
    cfg = config

    def rng(*key: int) -> np.random.Generator:
        return np.random.default_rng([cfg.seed, *key])

    net = Network(rng(NETWORK))
    org = build_org(cfg, rng(ORG), net)
    accounts = build_accounts(cfg, rng(ACCOUNTS), SITE_COUNTRY[org.site.astype(np.int64)])
    w = World(cfg, org, accounts, Calendar(cfg, rng(CALENDAR)), net)
    insiders = plan_insiders(w, rng(PLAN))
    lookups = w.lookups()
    summary = SimulationSummary(
        people=org.size,
        accounts=accounts.size,
        labels=len(insiders),
        insiders=dict.fromkeys(SCENARIOS, 0) | dict(Counter(i.scenario for i in insiders)),
    )
    sink.write_table("people", people_table(org, cfg))
    sink.write_table("accounts", accounts_table(accounts, org.ids))
    sink.write_table("labels", labels_table(insiders, w))

    moderation = Moderation(w)
    tickets = Tickets()
    access = Access(w, tickets, moderation)
    transfers = Transfers(w, access, tickets)
    office, admin = Office(w), Admin(w)
    scenarios = Scenarios(insiders)
    escalations = Escalations(cfg, accounts)

    def _day(day: int) -> Events:
        roster = build_roster(w, day, rng(ROSTER, day))
        ev = DayEvents(day)
        moderation.begin(day)
        stage = Stage(w, ev, roster, rng(SCENARIO, day), moderation, access, admin)
        on = scenarios.today(stage)
        scenarios.adjust(on, stage)
        office.day(ev, roster, rng(OFFICE, day))
        access.day(ev, roster, rng(ACCESS, day))
        transfers.day(ev, roster, rng(TRANSFERS, day))
        moderation.honest_decisions(ev, roster, rng(MODERATION, day))
        moderation.qa(ev, roster, rng(QA, day))
        moderation.appeals(ev, roster, rng(APPEALS, day))
        admin.day(ev, roster, rng(ADMIN, day))
        scenarios.act(on, stage)
        moderation.end()
        escalations.day(day, rng(ESCALATIONS, day))
        return ev.finish()

    actions: Counter[int] = Counter()
    pending = Events.empty()

    def write(item: object) -> None:
        assert isinstance(item, Events)
        batch = to_batch(item, lookups)
        sink.write_events(batch)
        if truth is not None:
            _report_truth(item, batch, truth)

    def emit(events: Events) -> None:
        if len(events):
            summary.events += len(events)
            codes, counts = np.unique(events.action, return_counts=True)
            actions.update(dict(zip(codes.tolist(), counts.tolist(), strict=True)))
            writer.put(events)

    writer = BackgroundWriter(write)
    try:
        for day in range(cfg.days):
            new = _day(day)
            floor = int(w.cal.origin[:, day].min())
            if len(new) and int(new.ts.min()) < floor:
                raise RuntimeError(f"day {day}: an event precedes the day's first local midnight")
            merged = Events.concat([pending, new])
            merged = merged.take(np.argsort(merged.ts, kind="stable"))
            cut = int(np.searchsorted(merged.ts, w.cal.cutoff(day), side="left"))
            emit(merged.slice(0, cut))
            pending = merged.slice(cut, len(merged))
            if on_progress is not None:
                on_progress(day + 1, cfg.days)
        emit(pending)
    except BaseException:
        writer.close(quiet=True)
        raise
    writer.close()

    tickets_out = tickets.table(org.ids, int(w.cal.origin[:, cfg.days].max()))
    sink.write_table("tickets", tickets_out)
    esc = escalations.table()
    sink.write_table("escalations", esc)
    summary.tickets = tickets_out.num_rows
    summary.escalations = esc.num_rows
    summary.actions = {ACTIONS[int(k)]: int(v) for k, v in sorted(actions.items())}
    return summary


def _report_truth(events: Events, batch: pa.RecordBatch, truth: Truth) -> None:
    bad = np.flatnonzero(events.truth >= 0)
    if not bad.size:
        return
    index = pa.array(bad)
    truth(
        pa.RecordBatch.from_arrays(
            [
                batch.column("event_id").take(index),
                batch.column("ts").take(index),
                batch.column("actor_id").take(index),
                pa.array(SCENARIOS).take(pa.array(events.truth[bad].astype(np.int64))),
            ],
            schema=TRUTH_SCHEMA,
        )
    )


__all__ = ["Lookups", "SimulationSummary", "simulate"]
