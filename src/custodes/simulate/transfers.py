"""Honest data movement: exports, downloads, prints, removable media and sanctioned uploads.

Data engineers legitimately export hundreds of thousands of records under a data-request
ticket, and investigators export case files; a detector keyed on volume alone flags them.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa

from custodes.simulate.access import Access
from custodes.simulate.block import DayEvents
from custodes.simulate.office import USB_STORAGE, usb_serials
from custodes.simulate.org import ENG, INV
from custodes.simulate.roster import US_PER_SECOND, Context, Roster
from custodes.simulate.text import dumps, join, pick
from custodes.simulate.tickets import DATA_REQUEST, DATASETS, Tickets
from custodes.simulate.world import World

_HOUR: Final = 3600 * US_PER_SECOND
# Per worked day by role: moderator, qa, lead, investigator, admin, engineer, other.
EXPORT: Final = np.array([0.0, 0.02, 0.2, 0.4, 0.1, 1.2, 0.05])
DOWNLOAD: Final = np.array([0.2, 0.5, 1.5, 2.0, 1.0, 3.0, 1.0])
PRINT: Final = np.array([0.0, 0.0, 0.2, 0.3, 0.0, 0.05, 0.5])
REMOVABLE: Final = np.array([0.001, 0.001, 0.003, 0.005, 0.01, 0.02, 0.005])
UPLOAD: Final = np.array([0.0, 0.01, 0.2, 0.05, 0.05, 0.3, 0.2])

FORMATS: Final = ("csv", "parquet", "xlsx")
EXPORT_ATTRS: Final = [dumps({"dataset": d, "format": f}) for d in DATASETS for f in FORMATS]
REPORTS: Final = (
    "reports/weekly_quality_",
    "reports/queue_health_",
    "exports/case_bundle_",
    "shared/policy_guidelines_v",
    "shared/training_deck_",
    "reports/sla_summary_",
    "exports/appeals_sample_",
    "shared/shift_roster_",
)
EXTENSIONS: Final = (".pdf", ".xlsx", ".csv", ".docx", ".zip")
SANCTIONED: Final = ("custodes.box.com", "custodes-my.sharepoint.com")
# Honest people occasionally use personal or unsanctioned services too.
UPLOAD_DOMAINS: Final = (
    *SANCTIONED,
    "wetransfer.com",
    "dropbox.com",
    "drive.google.com",
    "mega.nz",
)
UPLOAD_P: Final = np.array([0.47, 0.46, 0.04, 0.015, 0.01, 0.005])
UPLOAD_ATTRS: Final = [dumps({"url_domain": d}) for d in UPLOAD_DOMAINS]
COPY_ATTRS: Final = dumps({"device_class": "usb_storage"})


def file_names(rng: np.random.Generator, n: int) -> pa.Array:
    stem = pick(REPORTS, rng.integers(0, len(REPORTS), n))
    number = pick([f"{i:03d}" for i in range(1000)], rng.integers(0, 1000, n))
    ext = pick(EXTENSIONS, rng.integers(0, len(EXTENSIONS), n))
    return join(stem, number, ext)


class Transfers:
    def __init__(self, w: World, access: Access, tickets: Tickets) -> None:
        self.w = w
        self.access = access
        self.tickets = tickets

    def day(self, ev: DayEvents, roster: Roster, rng: np.random.Generator) -> None:
        org = self.w.org
        people = roster.workers(None, org.role)
        role = org.role[people]
        vol = roster.volume[people]

        actor, ts = roster.spread(rng, people, rng.poisson(EXPORT[role] * vol), lead_min=30.0)
        n = actor.size
        r = org.role[actor]
        records = (
            np.where(
                r == ENG,
                rng.lognormal(np.log(5e4), 1.5, n),
                np.where(
                    r == INV,
                    rng.lognormal(np.log(500.0), 1.0, n),
                    rng.lognormal(np.log(2e3), 1.0, n),
                ),
            ).astype(np.int64)
            + 1
        )
        dataset = rng.integers(0, len(DATASETS), n)
        ticket = np.full(n, -1, dtype=np.int64)
        # Engineers work from data requests opened days before, closed days after.
        req = (r == ENG) & (rng.random(n) < 0.85)
        k = int(req.sum())
        if k:
            opened = ts[req] - (rng.uniform(1, 72, k) * _HOUR).astype(np.int64)
            closed = ts[req] + (rng.uniform(1, 120, k) * _HOUR).astype(np.int64)
            ticket[req] = self.tickets.add(
                actor[req], -dataset[req] - 1, DATA_REQUEST, opened, closed
            )
        t = self.access.assign(rng, actor)
        case = (r == INV) & (t >= 0) & (rng.random(n) < 0.9)
        ticket = np.where(case, self.access.ticket_of(t), ticket)
        ctx = Context.of(roster, actor)
        ev.add(
            ts=ts,
            actor=actor,
            action="export_data",
            source="data_portal",
            target_type="file",
            target=pick(DATASETS, dataset),
            ticket=ticket,
            records=records,
            nbytes=records * rng.integers(150, 400, n),
            attrs=pick(EXPORT_ATTRS, dataset * len(FORMATS) + rng.integers(0, len(FORMATS), n)),
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
        )

        actor, ts = roster.spread(rng, people, rng.poisson(DOWNLOAD[role] * vol))
        ctx = Context.of(roster, actor)
        ev.add(
            ts=ts,
            actor=actor,
            action="download_file",
            source="data_portal",
            target_type="file",
            target=file_names(rng, actor.size),
            nbytes=rng.lognormal(np.log(2e6), 1.3, actor.size).astype(np.int64),
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
        )

        actor, ts = roster.spread(rng, people, rng.poisson(PRINT[role] * vol))
        ctx = Context.of(roster, actor)
        ev.add(
            ts=ts,
            actor=actor,
            action="print",
            source="endpoint",
            target_type="file",
            target=file_names(rng, actor.size),
            records=rng.integers(1, 31, actor.size),
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
        )

        actor, ts = roster.spread(rng, people, rng.poisson(REMOVABLE[role]))
        ctx = Context.of(roster, actor)
        ev.add(
            ts=ts,
            actor=actor,
            action="copy_to_removable",
            source="dlp",
            target_type="device",
            target=usb_serials(actor, np.full(actor.size, USB_STORAGE, dtype=np.int64)),
            nbytes=rng.lognormal(np.log(5e7), 1.2, actor.size).astype(np.int64),
            attrs=COPY_ATTRS,
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
        )

        actor, ts = roster.spread(rng, people, rng.poisson(UPLOAD[role] * vol))
        n = actor.size
        domain = rng.choice(len(UPLOAD_DOMAINS), size=n, p=UPLOAD_P)
        ctx = Context.of(roster, actor)
        ev.add(
            ts=ts,
            actor=actor,
            action="upload_external",
            source="dlp",
            target_type="url",
            nbytes=rng.lognormal(np.log(5e6), 1.2, n).astype(np.int64),
            attrs=pick(UPLOAD_ATTRS, domain),
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
        )
