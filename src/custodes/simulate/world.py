"""The fixed parts of a run (people, accounts, calendar, network), shared by every day."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from custodes.simulate.accounts import Accounts
from custodes.simulate.block import Lookups
from custodes.simulate.calendar import Calendar
from custodes.simulate.config import SimulationConfig
from custodes.simulate.network import COUNTRIES, Network
from custodes.simulate.org import Organisation


@dataclass
class World:
    cfg: SimulationConfig
    org: Organisation
    accounts: Accounts
    cal: Calendar
    net: Network

    def lookups(self) -> Lookups:
        """String tables for writing; call once the network stops growing."""
        return Lookups(
            actors=pa.array(self.org.ids, type=pa.string()),
            ips=pa.array(self.net.ips, type=pa.string()),
            devices=pa.array(self.net.devices, type=pa.string()),
            countries=pa.array(COUNTRIES, type=pa.string()),
        )
