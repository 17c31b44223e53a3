"""The eight misconduct families: planning them, and playing them out day by day.

Each family has a ``setup`` (choose insiders, windows, targets), and optionally an
``adjust`` (bend the insider's ordinary work before it is generated) and an ``act`` (add
misconduct rows after it). ``duty`` decides whether today is a misconduct day.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from custodes.simulate.scenarios.exfiltration import act_data_exfiltration, setup_data_exfiltration
from custodes.simulate.scenarios.lookup import act_unjustified_access, setup_unjustified_access
from custodes.simulate.scenarios.plan import FAMILY_WEIGHT, Insider, Planner, labels_table
from custodes.simulate.scenarios.privilege import (
    act_privilege_abuse,
    duty_privilege_abuse,
    setup_privilege_abuse,
)
from custodes.simulate.scenarios.review import (
    act_malicious_enforcement,
    act_paid_reversal,
    adjust_paid_reversal,
    adjust_productivity_gaming,
    adjust_qa_collusion,
    setup_malicious_enforcement,
    setup_paid_reversal,
    setup_productivity_gaming,
    setup_qa_collusion,
)
from custodes.simulate.scenarios.sharing import (
    act_credential_sharing,
    duty_credential_sharing,
    setup_credential_sharing,
)
from custodes.simulate.scenarios.stage import Stage
from custodes.simulate.world import World

Hook = Callable[[Insider, Stage], None]

SETUP: dict[str, Callable[[Planner], list[Insider]]] = {
    "unjustified_access": setup_unjustified_access,
    "paid_reversal": setup_paid_reversal,
    "malicious_enforcement": setup_malicious_enforcement,
    "productivity_gaming": setup_productivity_gaming,
    "qa_collusion": setup_qa_collusion,
    "data_exfiltration": setup_data_exfiltration,
    "privilege_abuse": setup_privilege_abuse,
    "credential_sharing": setup_credential_sharing,
}
ADJUST: dict[str, Hook] = {
    "paid_reversal": adjust_paid_reversal,
    "productivity_gaming": adjust_productivity_gaming,
    "qa_collusion": adjust_qa_collusion,
}
ACT: dict[str, Hook] = {
    "unjustified_access": act_unjustified_access,
    "paid_reversal": act_paid_reversal,
    "malicious_enforcement": act_malicious_enforcement,
    "data_exfiltration": act_data_exfiltration,
    "privilege_abuse": act_privilege_abuse,
    "credential_sharing": act_credential_sharing,
}
DUTY: dict[str, Callable[[Insider, Stage], bool]] = {
    "privilege_abuse": duty_privilege_abuse,
    "credential_sharing": duty_credential_sharing,
}


def plan_insiders(w: World, rng: np.random.Generator) -> list[Insider]:
    """At least one insider per family once the organisation has 100 staff."""
    cfg = w.cfg
    families = [s for s in FAMILY_WEIGHT if s in cfg.scenarios]
    if not families:
        return []
    total = round(cfg.insider_fraction * cfg.staff)
    chosen: list[str] = []
    if cfg.staff >= 100 and cfg.insider_fraction > 0:
        chosen = list(families)
    weights = np.array([FAMILY_WEIGHT[s] for s in families])
    extra = rng.choice(len(families), size=max(0, total - len(chosen)), p=weights / weights.sum())
    chosen += [families[int(i)] for i in extra]
    planner = Planner(w, rng)
    insiders: list[Insider] = []
    for scenario in chosen:
        insiders += [planner.finish(i) for i in SETUP[scenario](planner)]
    return insiders


class Scenarios:
    """Plays the plan: which insiders misbehave today, and how."""

    def __init__(self, insiders: list[Insider]) -> None:
        self.insiders = insiders

    def today(self, st: Stage) -> list[Insider]:
        on = []
        for ins in self.insiders:
            if not ins.active(st.day):
                continue
            duty = DUTY.get(ins.scenario)
            if duty(ins, st) if duty is not None else st.on_duty(ins):
                on.append(ins)
        return on

    @staticmethod
    def adjust(on: list[Insider], st: Stage) -> None:
        for ins in on:
            if ins.scenario in ADJUST:
                ADJUST[ins.scenario](ins, st)

    @staticmethod
    def act(on: list[Insider], st: Stage) -> None:
        for ins in on:
            if ins.scenario in ACT:
                ACT[ins.scenario](ins, st)


__all__ = ["Insider", "Scenarios", "Stage", "labels_table", "plan_insiders"]
