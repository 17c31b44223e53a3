"""Privilege abuse: granting oneself or friends power, using tools outside one's role,
tampering with audit settings, or carrying on after one's last day.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from custodes.simulate.access import DATA_TYPE_ATTRS, private_records
from custodes.simulate.admin import AUDIT_TARGETS, GRANTABLE, RESTRICTED_TOOLS
from custodes.simulate.block import OUTCOME, SCENARIO
from custodes.simulate.ids import account_ids
from custodes.simulate.org import ADMIN, NEVER
from custodes.simulate.roster import Context
from custodes.simulate.scenarios.plan import Insider, Planner, camouflage, intensity
from custodes.simulate.scenarios.stage import Stage
from custodes.simulate.text import dumps, objects, pick

_ELEVATED: Final = np.array(
    [
        GRANTABLE.index(r)
        for r in (
            "admin_console:superuser",
            "data_portal:pii_export",
            "case_tool:private_data",
            "iam:role_admin",
        )
    ]
)
_TOOL_ATTRS: Final = [dumps({"tool": t}) for t in RESTRICTED_TOOLS]

_ALL_ROLES: Final = dict.fromkeys(range(7), 1.0)


def setup_privilege_abuse(pl: Planner) -> list[Insider]:
    rng, org, days = pl.rng, pl.w.org, pl.w.cfg.days
    if rng.random() < 0.25 and days >= 10:
        p = pl.pick("privilege_abuse", _ALL_ROLES)
        lo = max(2, int(org.hire_day[p]) + 2) if p is not None else days
        if p is not None and org.end_day[p] >= NEVER and lo < days - 3:
            end = int(rng.integers(lo, days - 3))
            org.end_day[p] = end
            org.notice_day[p] = end if rng.random() < 0.5 else max(0, end - 14)
            org.departure[p] = "termination" if org.notice_day[p] == end else "resignation"
            s = intensity(rng)
            last = min(days - 1, end + int(rng.integers(2, 11)))
            return [
                Insider(p, "privilege_abuse", end + 1, last, s, camouflage(rng, s), "after_end")
            ]
        if p is not None:
            pl.taken.discard(p)
    p = pl.pick("privilege_abuse")
    if p is None:
        return []
    variants = ["self_grant", "friend_grant", "tool_misuse", "audit_tamper"]
    variant = str(rng.choice(variants, p=[0.3, 0.25, 0.3, 0.15]))
    first, last = pl.window(p, 20.0)
    s = intensity(rng)
    ins = Insider(p, "privilege_abuse", first, last, s, camouflage(rng, s), variant)
    if variant == "friend_grant":
        mates = np.flatnonzero((org.team == org.team[p]) | (org.site == org.site[p]))
        mates = mates[mates != p]
        if mates.size:
            ins.partner = int(rng.choice(mates))
        else:
            ins.variant = "self_grant"
    return [ins]


def duty_privilege_abuse(ins: Insider, st: Stage) -> bool:
    if ins.variant != "after_end":
        return st.on_duty(ins)
    return ins.active(st.day) and st.rng.random() >= ins.camouflage


def act_privilege_abuse(ins: Insider, st: Stage) -> None:
    rng, s, org = st.rng, ins.intensity, st.w.org
    if ins.variant == "after_end":
        _after_end(ins, st)
        return
    if ins.variant in ("self_grant", "friend_grant") and rng.random() < 0.3 + 0.3 * s:
        grantee = ins.actor if ins.variant == "self_grant" else ins.partner
        k = 1 + int(rng.random() < s)
        ts = st.during_shift(ins, k)
        st.admin.grants(
            st.ev,
            action="role_grant",
            actor=np.full(k, ins.actor, dtype=np.int64),
            ts=ts,
            grantee=np.full(k, grantee, dtype=np.int64),
            role=rng.choice(_ELEVATED, size=k),
            ctx=st.ctx(ins, k),
            truth=SCENARIO[ins.scenario],
        )
    if ins.variant == "audit_tamper" and rng.random() < 0.4:
        st.add(
            ins,
            st.ctx(ins, 1),
            ts=st.during_shift(ins, 1),
            action="audit_setting_change",
            source="admin_console",
            target=AUDIT_TARGETS[int(rng.integers(len(AUDIT_TARGETS)))],
            attrs=objects([{"setting": "logging_enabled", "value": False}]),
        )
    n = int(rng.poisson(1.0 + 3.0 * s))
    if n:
        off_hours = rng.random() < 0.4 * s
        ts = st.after_hours(ins, n) if off_hours else st.during_shift(ins, n)
        denied = (org.role[ins.actor] != ADMIN) & (rng.random(n) < 0.25)
        st.add(
            ins,
            st.ctx(ins, n, at_home=off_hours),
            ts=ts,
            action="admin_action",
            source="admin_console",
            outcome=np.where(denied, OUTCOME["failure"], OUTCOME["success"]),
            attrs=pick(_TOOL_ATTRS, rng.integers(0, len(RESTRICTED_TOOLS), n)),
        )
    if ins.variant in ("tool_misuse", "audit_tamper") and rng.random() < 0.3 + 0.4 * s:
        ts = st.after_hours(ins, 1)
        st.add(
            ins,
            st.ctx(ins, 1, at_home=True),
            ts=ts,
            action="config_change",
            source="admin_console",
            target_type="queue",
            target="child_safety-en",
            attrs=objects([{"setting": "auto_action_threshold"}]),
        )


def _after_end(ins: Insider, st: Stage) -> None:
    """The account was never disabled: the leaver logs in from home and looks around."""
    rng, s, org = st.rng, ins.intensity, st.w.org
    n = 2 + int(rng.poisson(1.0 + 5.0 * s))
    ts = st.local_hours(ins, n + 1, 8.0, 23.0)
    p = ins.actor
    ctx = Context(
        np.full(n + 1, org.home_ip[p], dtype=np.int32),
        np.full(n + 1, st.roster.country[p], dtype=np.int16),
        np.full(n + 1, org.laptop[p], dtype=np.int32),
    )
    st.add(ins, _slice(ctx, 0, 1), ts=ts[:1], action="login", source="vpn")
    rest = _slice(ctx, 1, n + 1)
    account = st.w.accounts.owners(rng, n)
    kind = rng.random(n)
    action = np.where(
        kind < 0.5, "view_profile", np.where(kind < 0.8, "view_private_data", "export_data")
    )
    for name in ("view_profile", "view_private_data", "export_data"):
        rows = np.flatnonzero(action == name)
        if rows.size == 0:
            continue
        sub = _slice(rest, rows)
        if name == "export_data":
            records = rng.lognormal(np.log(5e3 * (1 + 5 * s)), 1.0, rows.size).astype(np.int64)
            st.add(
                ins,
                sub,
                ts=ts[1:][rows],
                action=name,
                source="data_portal",
                target_type="file",
                target="ds:account_signals",
                records=records,
                nbytes=records * 300,
                attrs=dumps({"dataset": "ds:account_signals", "format": "csv"}),
            )
            continue
        dtype = rng.integers(0, len(DATA_TYPE_ATTRS), rows.size)
        st.add(
            ins,
            sub,
            ts=ts[1:][rows],
            action=name,
            source="case_tool",
            target_type="account",
            target=account_ids(account[rows]),
            records=private_records(rng, dtype) if name == "view_private_data" else 1,
            attrs=pick(DATA_TYPE_ATTRS, dtype) if name == "view_private_data" else None,
        )


def _slice(ctx: Context, start: int | np.ndarray, stop: int | None = None) -> Context:
    index = slice(start, stop) if isinstance(start, int) else start
    return Context(ctx.ip[index], ctx.country[index], ctx.device[index])
