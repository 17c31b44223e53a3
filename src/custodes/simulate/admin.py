"""Privileged work: admin tools, configuration, role grants and night-time on-call.

Admins grant roles every day (to new hires, on access requests) and revoke them when
people leave; on-call admins act in the small hours. Grants and night work are therefore
normal, and privilege abuse has to be told apart by *who* is granted what and by whom.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

import numpy as np

from custodes.simulate import policy
from custodes.simulate.block import I32, I64, DayEvents
from custodes.simulate.org import ADMIN, ENG, LEAD
from custodes.simulate.roster import US_PER_SECOND, Context, Roster, seconds
from custodes.simulate.text import close, dumps, fragment, join, pick
from custodes.simulate.world import World

_MIN: Final = 60 * US_PER_SECOND
ADMIN_TOOLS: Final[dict[int, tuple[str, ...]]] = {
    ADMIN: (
        "reset_mfa",
        "unlock_account",
        "user_lookup",
        "queue_assignment",
        "restart_service",
        "rotate_api_key",
        "review_access_logs",
    ),
    LEAD: ("queue_assignment", "schedule_edit", "coaching_note"),
    ENG: ("deploy_pipeline", "rerun_job", "clear_cache"),
}
# Tools that nobody outside IT administration uses legitimately.
RESTRICTED_TOOLS: Final = (
    "impersonate_user",
    "bulk_restore",
    "disable_mfa",
    "export_user_records",
    "bulk_ban",
    "override_enforcement",
)
TOOL_NAMES: Final = tuple(
    sorted({t for ts in ADMIN_TOOLS.values() for t in ts} | set(RESTRICTED_TOOLS))
)
TOOL_ATTRS: Final = [dumps({"tool": t}) for t in TOOL_NAMES]
TOOL: Final = {t: i for i, t in enumerate(TOOL_NAMES)}
SETTINGS: Final = (
    "routing_weight",
    "sla_minutes",
    "auto_action_threshold",
    "sample_rate",
    "max_queue_age",
    "classifier_version",
)
SETTING_ATTRS: Final = [dumps({"setting": s}) for s in SETTINGS]
QUEUES: Final = tuple(f"{p}-{g}" for p in policy.NAMES for g in policy.QUEUE_LANGUAGES)
GRANTABLE: Final = (
    "review_tool:moderator",
    "review_tool:appeals",
    "review_tool:qa",
    "case_tool:investigator",
    "case_tool:private_data",
    "data_portal:analyst",
    "data_portal:pii_export",
    "admin_console:operator",
    "admin_console:superuser",
    "iam:role_admin",
)
GRANTEE_HEAD: Final = fragment({}, "grantee_id")
# Per worked day by role: moderator, qa, lead, investigator, admin, engineer, other.
ADMIN_ACTION: Final = np.array([0.0, 0.0, 1.0, 0.0, 12.0, 0.5, 0.0])
CONFIG: Final = np.array([0.0, 0.0, 0.0, 0.0, 2.0, 1.5, 0.0])
GRANT: Final = np.array([0.0, 0.0, 0.0, 0.0, 0.6, 0.0, 0.0])
REVOKE: Final = np.array([0.0, 0.0, 0.0, 0.0, 0.3, 0.0, 0.0])


AUDIT_TARGETS: Final = ("audit:review_tool", "audit:case_tool", "audit:iam", "audit:data_portal")
# Honest audit changes include switching logging off for maintenance (and back on).
AUDIT_ATTRS: Final = [
    dumps({"setting": "retention_days", "value": 365}),
    dumps({"setting": "retention_days", "value": 180}),
    dumps({"setting": "sampling_rate", "value": 1.0}),
    dumps({"setting": "logging_enabled", "value": False}),
    dumps({"setting": "logging_enabled", "value": True}),
]
_RESTRICTED: Final = np.array([TOOL_NAMES.index(t) for t in RESTRICTED_TOOLS])


def tool_codes(rng: np.random.Generator, role: I64) -> I64:
    """Each role's usual tools; admins now and then legitimately use the sensitive ones."""
    out = np.zeros(role.size, dtype=np.int64)
    for r, tools in ADMIN_TOOLS.items():
        rows = role == r
        codes = np.array([TOOL[t] for t in tools])
        out[rows] = codes[rng.integers(0, codes.size, int(rows.sum()))]
    sensitive = (role == ADMIN) & (rng.random(role.size) < 0.03)
    out[sensitive] = _RESTRICTED[rng.integers(0, _RESTRICTED.size, int(sensitive.sum()))]
    return out


class Admin:
    def __init__(self, w: World) -> None:
        self.w = w

    def grants(
        self,
        ev: DayEvents,
        *,
        action: str,
        actor: I64,
        ts: I64,
        grantee: I64,
        role: I64,
        ctx: Context,
        truth: int = -1,
    ) -> None:
        ev.add(
            ts=ts,
            actor=actor,
            action=action,
            source="iam",
            target_type="role",
            target=pick(GRANTABLE, role),
            attrs=join(GRANTEE_HEAD, pick(self.w.org.ids, grantee), close()),
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
            truth=truth,
        )

    def day(self, ev: DayEvents, roster: Roster, rng: np.random.Generator) -> None:
        org = self.w.org
        people = roster.workers(None, org.role)
        role = org.role[people].astype(np.int64)
        vol = roster.volume[people]

        actor, ts = roster.spread(rng, people, rng.poisson(ADMIN_ACTION[role] * vol))
        self._actions(ev, roster, rng, actor, ts)
        actor, ts = roster.spread(rng, people, rng.poisson(CONFIG[role] * vol))
        self._configs(ev, roster, rng, actor, ts)

        admins = people[role == ADMIN]
        if admins.size == 0:
            return
        active = np.flatnonzero((org.hire_day <= roster.day) & (roster.day <= org.end_day))
        for action, rate in (("role_grant", GRANT[ADMIN]), ("role_revoke", REVOKE[ADMIN])):
            actor, ts = roster.spread(rng, admins, rng.poisson(rate, admins.size))
            grantee = active[rng.integers(0, active.size, actor.size)]
            self.grants(
                ev,
                action=action,
                actor=actor,
                ts=ts,
                grantee=grantee,
                role=rng.integers(0, 6, actor.size),
                ctx=Context.of(roster, actor),
            )

        # New hires get their roles on day one; leavers lose them on their last day.
        for action, who in (
            ("role_grant", np.flatnonzero(org.hire_day == roster.day)),
            ("role_revoke", np.flatnonzero(org.end_day == roster.day)),
        ):
            who = who[roster.working[who]] if action == "role_grant" else who
            if who.size == 0:
                continue
            n_roles = rng.integers(1, 4, who.size)
            grantee = np.repeat(who, n_roles)
            actor = admins[rng.integers(0, admins.size, grantee.size)]
            _, ts = roster.spread(rng, actor, np.ones(actor.size, dtype=np.int64))
            self.grants(
                ev,
                action=action,
                actor=actor,
                ts=ts,
                grantee=grantee,
                role=rng.integers(0, 3, grantee.size),
                ctx=Context.of(roster, actor),
            )

        rare = admins[rng.random(admins.size) < 0.02]
        _, ts = roster.spread(rng, rare, np.ones(rare.size, dtype=np.int64))
        ctx = Context.of(roster, rare)
        ev.add(
            ts=ts,
            actor=rare,
            action="audit_setting_change",
            source="admin_console",
            target=pick(AUDIT_TARGETS, rng.integers(0, len(AUDIT_TARGETS), rare.size)),
            attrs=pick(AUDIT_ATTRS, rng.integers(0, len(AUDIT_ATTRS), rare.size)),
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
        )
        self._delegated(ev, roster, rng)
        self._oncall(ev, roster, rng)

    def _delegated(self, ev: DayEvents, roster: Roster, rng: np.random.Generator) -> None:
        """Team leads hold delegated rights to give their own people review-tool roles."""
        org = self.w.org
        leads = roster.workers((LEAD,), org.role)
        actor, ts = roster.spread(rng, leads, rng.poisson(0.04, leads.size))
        if actor.size == 0:
            return
        grantee = np.empty(actor.size, dtype=np.int64)
        for i, lead in enumerate(actor):
            team = np.flatnonzero(
                (roster.team == roster.team[lead]) & (np.arange(org.size) != lead)
            )
            grantee[i] = int(rng.choice(team)) if team.size else int(lead)
        self.grants(
            ev,
            action="role_grant",
            actor=actor,
            ts=ts,
            grantee=grantee,
            role=rng.integers(0, 3, actor.size),
            ctx=Context.of(roster, actor),
        )

    def _actions(
        self, ev: DayEvents, roster: Roster, rng: np.random.Generator, actor: I64, ts: I64
    ) -> None:
        ctx = Context.of(roster, actor)
        ev.add(
            ts=ts,
            actor=actor,
            action="admin_action",
            source="admin_console",
            attrs=pick(TOOL_ATTRS, tool_codes(rng, self.w.org.role[actor].astype(np.int64))),
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
        )

    def _configs(
        self, ev: DayEvents, roster: Roster, rng: np.random.Generator, actor: I64, ts: I64
    ) -> None:
        ctx = Context.of(roster, actor)
        ev.add(
            ts=ts,
            actor=actor,
            action="config_change",
            source="admin_console",
            target_type="queue",
            target=pick(QUEUES, rng.integers(0, len(QUEUES), actor.size)),
            attrs=pick(SETTING_ATTRS, rng.integers(0, len(SETTINGS), actor.size)),
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
        )

    def _oncall(self, ev: DayEvents, roster: Roster, rng: np.random.Generator) -> None:
        """Paged at night: a short burst of admin work from home before anyone is in."""
        org = self.w.org
        paged = np.flatnonzero(roster.oncall & (rng.random(org.size) < 0.3))
        if paged.size == 0:
            return
        counts = rng.integers(3, 13, paged.size)
        actor = np.repeat(paged, counts)
        origin = self.w.cal.origin[org.site[paged], roster.day]
        begin = origin + (rng.uniform(30, 240, paged.size) * _MIN).astype(np.int64)
        offset = rng.uniform(0, 45, actor.size) * _MIN
        ts = seconds(np.repeat(begin, counts) + offset.astype(np.int64))
        login_ctx = Context(org.home_ip[paged], roster.country[paged], roster.device[paged])
        # Break-glass: a paged admin grants themself superuser for the night, then drops it.
        glass = paged[rng.random(paged.size) < 0.15]
        if glass.size:
            at = seconds(origin[np.isin(paged, glass)] + 40 * _MIN)
            ctx = Context(org.home_ip[glass], roster.country[glass], roster.device[glass])
            superuser = np.full(glass.size, GRANTABLE.index("admin_console:superuser"))
            for action, when in (
                ("role_grant", at),
                ("role_revoke", at + 5 * 3600 * US_PER_SECOND),
            ):
                self.grants(
                    ev, action=action, actor=glass, ts=when, grantee=glass, role=superuser, ctx=ctx
                )
        ev.add(
            ts=seconds(begin - 2 * _MIN),
            actor=paged,
            action="login",
            source="vpn",
            ip=login_ctx.ip,
            country=login_ctx.country,
            device=login_ctx.device,
        )
        config = rng.random(actor.size) < 0.3
        self._actions(ev, _at_home(roster, org.home_ip), rng, actor[~config], ts[~config])
        self._configs(ev, _at_home(roster, org.home_ip), rng, actor[config], ts[config])
        ev.add(
            ts=seconds(begin + 50 * _MIN),
            actor=paged,
            action="logout",
            source="vpn",
            ip=login_ctx.ip,
            country=login_ctx.country,
            device=login_ctx.device,
        )


def _at_home(roster: Roster, home_ip: I32) -> Roster:
    """The same roster seen from home (on-call work happens over VPN)."""
    return replace(roster, ip=home_ip)
