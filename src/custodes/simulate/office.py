"""Everyday office activity: sign-ins, e-mail, web browsing and plugged-in devices.

This is the background every misconduct signal has to stand out from. It includes the
honest habits that look like exfiltration at a glance: a personal e-mail now and then,
job-site visits that rise after someone gives notice, a USB stick on an engineer's desk.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa

from custodes.simulate.block import I64, SOURCE, DayEvents
from custodes.simulate.ids import fixed_width
from custodes.simulate.network import COUNTRY
from custodes.simulate.org import SITE_COUNTRY, SITES
from custodes.simulate.roster import US_PER_SECOND, Context, Roster, seconds
from custodes.simulate.text import dumps, pick
from custodes.simulate.world import World

_MIN: Final = 60 * US_PER_SECOND
# Per worked day by role: moderator, qa, lead, investigator, admin, engineer, other.
EMAIL: Final = np.array([2.0, 4.0, 12.0, 8.0, 6.0, 6.0, 15.0])
HTTP: Final = np.array([6.0, 8.0, 12.0, 12.0, 10.0, 15.0, 15.0])
DEVICE: Final = np.array([0.15, 0.15, 0.2, 0.2, 0.3, 0.4, 0.2])

INTERNAL_DOMAIN: Final = "custodes-corp.com"
PARTNER_DOMAINS: Final = (
    "northwind-bpo.com",
    "atlas-review.com",
    "meridian-cx.com",
    "trustedflagger.org",
    "lawfirm-llp.com",
    "policy-institute.org",
    "safetynet-ngo.org",
)
PERSONAL_DOMAINS: Final = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "proton.me")
_DOMAINS: Final = (INTERNAL_DOMAIN, *PARTNER_DOMAINS, *PERSONAL_DOMAINS)
EMAIL_ATTRS: Final = [
    dumps({"attachments": a, "external": d != INTERNAL_DOMAIN, "recipient_domain": d})
    for d in _DOMAINS
    for a in (0, 1)
]

SITES_BY_CATEGORY: Final[dict[str, tuple[str, ...]]] = {
    "work": ("wiki.custodes-corp.com", "jira.custodes-corp.com", "policy.custodes-corp.com"),
    "search": ("google.com", "bing.com", "duckduckgo.com"),
    "news": (
        "bbc.com",
        "elpais.com",
        "folha.uol.com.br",
        "rappler.com",
        "thehindu.com",
        "irishtimes.com",
        "publico.pt",
        "eltiempo.com",
    ),
    "social": ("x.com", "facebook.com", "instagram.com", "reddit.com", "tiktok.com"),
    "webmail": ("mail.google.com", "outlook.live.com"),
    "cloud_storage": ("drive.google.com", "dropbox.com"),
    "shopping": ("amazon.com", "mercadolivre.com.br", "lazada.com.ph", "flipkart.com"),
    "streaming": ("youtube.com", "spotify.com", "netflix.com"),
    "job_search": ("linkedin.com", "indeed.com", "glassdoor.com"),
}
CATEGORY_P: Final = np.array([0.50, 0.12, 0.10, 0.08, 0.03, 0.02, 0.05, 0.09, 0.01])
_URLS: Final = [(c, d) for c, ds in SITES_BY_CATEGORY.items() for d in ds]
HTTP_ATTRS: Final = [dumps({"category": c, "url_domain": d}) for c, d in _URLS]
_CAT_FIRST: Final = np.cumsum([0] + [len(v) for v in SITES_BY_CATEGORY.values()])[:-1]
_CAT_SIZE: Final = np.array([len(v) for v in SITES_BY_CATEGORY.values()])
JOB_SEARCH: Final = list(SITES_BY_CATEGORY).index("job_search")

DEVICE_CLASSES: Final = ("hid", "headset", "usb_storage", "phone")
DEVICE_ATTRS: Final = [dumps({"device_class": c}) for c in DEVICE_CLASSES]
USB_STORAGE: Final = 2


def usb_serials(person: I64, cls: I64) -> pa.Array:
    """A person's own peripherals keep their serial numbers from day to day.

    Serials are scrambled so that nothing in the number tells whose device it is or how
    new it is; class codes above 3 stand for devices a person acquires later.
    """
    mixed = person.astype(np.int64) * 2_654_435_761 + cls.astype(np.int64) * 40_503 + 12_345
    return fixed_width("USB-", mixed % 10_000_000, 7)


def http_attrs(rng: np.random.Generator, category: I64) -> I64:
    """Index into HTTP_ATTRS for a domain of each category."""
    offset = (rng.random(category.size) * _CAT_SIZE[category]).astype(np.int64)
    return np.asarray(_CAT_FIRST[category] + offset, dtype=np.int64)


# Where a home-country VPN exits when the local concentrator is busy.
VPN_HUB: Final = {
    "US": "CA",
    "CO": "US",
    "BR": "US",
    "IE": "NL",
    "PT": "IE",
    "PH": "SG",
    "IN": "SG",
}
_HUB: Final = np.array([COUNTRY[VPN_HUB[s.country]] for s in SITES], dtype=np.int16)
_HOUR: Final = 60 * _MIN


class Office:
    def __init__(self, w: World) -> None:
        self.w = w

    def day(self, ev: DayEvents, roster: Roster, rng: np.random.Generator) -> None:
        self.sessions(ev, roster, rng)
        self.side_sessions(ev, roster, rng)
        self.email(ev, roster, rng)
        self.http(ev, roster, rng)
        self.devices(ev, roster, rng)

    def sessions(self, ev: DayEvents, roster: Roster, rng: np.random.Generator) -> None:
        org = self.w.org
        people = roster.workers(None, org.role)
        k = people.size
        floor = self.w.cal.origin[org.site[people], roster.day]
        login = np.maximum(
            roster.start[people] - (rng.uniform(0, 10, k) * _MIN).astype(np.int64), floor
        )
        logout = roster.end[people] + (rng.uniform(0, 10, k) * _MIN).astype(np.int64)
        remote = roster.ip[people] != org.office_ip[people]
        source = np.where(remote, SOURCE["vpn"], SOURCE["iam"])
        mid = roster.start[people] + (roster.end[people] - roster.start[people]) // 2
        relog = rng.random(k) < 0.25
        back = mid + (rng.uniform(30, 60, k) * _MIN).astype(np.int64)
        fail = rng.random(k) < 0.04
        mfa = rng.random(k) < 0.015
        blocks = [
            ("login", people, login, source),
            ("logout", people, logout, source),
            ("logout", people[relog], mid[relog], source[relog]),
            ("login", people[relog], back[relog], source[relog]),
            (
                "login_failed",
                people[fail],
                np.maximum(login[fail] - 40 * US_PER_SECOND, floor[fail]),
                source[fail],
            ),
            (
                "mfa_failed",
                people[mfa],
                np.maximum(login[mfa] - 20 * US_PER_SECOND, floor[mfa]),
                source[mfa],
            ),
        ]
        for action, who, ts, src in blocks:
            ctx = Context.of(roster, who)
            ev.add(
                ts=seconds(ts),
                actor=who,
                action=action,
                source=src,
                outcome="failure" if action.endswith("_failed") else "success",
                ip=ctx.ip,
                country=ctx.country,
                device=ctx.device,
            )

    def side_sessions(self, ev: DayEvents, roster: Roster, rng: np.random.Generator) -> None:
        """Short sessions from a second place: the honest look-alikes of shared credentials
        and of activity after leaving (a traveller's last check-in at home before the
        flight, a VPN exiting abroad, a leaver signing in for a payslip)."""
        org, day = self.w.org, roster.day
        n = org.size
        home_country = SITE_COUNTRY[org.site].astype(np.int16)
        origin = self.w.cal.origin[org.site, day]
        who: list[I64] = []
        where: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        if org.trips.size:
            leaving = org.trips[org.trips[:, 1] == day, 0].astype(np.int64)
            leaving = leaving[roster.working[leaving]]
            before = np.maximum(
                roster.start[leaving] - (rng.uniform(1, 3, leaving.size) * _HOUR).astype(np.int64),
                origin[leaving],
            )
            who.append(leaving)
            where.append(
                (org.home_ip[leaving], home_country[leaving], roster.device[leaving], before)
            )
        wfh = np.flatnonzero(roster.working & (roster.ip == org.home_ip) & (rng.random(n) < 0.02))
        hub = _HUB[org.site[wfh]]
        hub_ip = np.array([self.w.net.country_ips[int(c)][0] for c in hub], dtype=np.int32)
        span = np.maximum(roster.end[wfh] - roster.start[wfh], _HOUR)
        during = roster.start[wfh] + (rng.random(wfh.size) * (span - _HOUR)).astype(np.int64)
        who.append(wfh)
        where.append((hub_ip, hub, roster.device[wfh], during))
        gone = (org.end_day < day) & (day <= org.end_day + 5) & org.lingers
        late = np.flatnonzero(gone & (rng.random(n) < 0.3))
        evening = origin[late] + (rng.uniform(9, 20, late.size) * _HOUR).astype(np.int64)
        who.append(late)
        where.append((org.home_ip[late], home_country[late], org.laptop[late], evening))

        person = np.concatenate(who)
        ip, country, device, begin = (np.concatenate([w[i] for w in where]) for i in range(4))
        if person.size == 0:
            return
        begin = seconds(begin)
        ctx = Context(ip.astype(np.int32), country.astype(np.int16), device.astype(np.int32))
        for action, ts in (("login", begin), ("logout", begin + 35 * _MIN)):
            ev.add(
                ts=ts,
                actor=person,
                action=action,
                source="vpn",
                ip=ctx.ip,
                country=ctx.country,
                device=ctx.device,
            )
        visits = rng.integers(1, 4, person.size)
        row = np.repeat(np.arange(person.size), visits)
        ts = seconds(begin[row] + (rng.uniform(1, 30, row.size) * _MIN).astype(np.int64))
        category = rng.choice([0, 4], size=row.size, p=[0.6, 0.4])  # work tools or webmail
        ev.add(
            ts=ts,
            actor=person[row],
            action="http_visit",
            source="proxy",
            target_type="url",
            attrs=pick(HTTP_ATTRS, http_attrs(rng, category)),
            nbytes=rng.lognormal(np.log(2e5), 1.0, row.size).astype(np.int64),
            ip=ctx.ip[row],
            country=ctx.country[row],
            device=ctx.device[row],
        )

    def email(self, ev: DayEvents, roster: Roster, rng: np.random.Generator) -> None:
        org = self.w.org
        people = roster.workers(None, org.role)
        counts = rng.poisson(EMAIL[org.role[people]] * roster.volume[people])
        actor, ts = roster.spread(rng, people, counts, lead_min=5.0)
        n = actor.size
        leaving = org.notice_day[actor] <= roster.day
        personal_p = np.where(leaving, 0.06, 0.03)
        r = rng.random(n)
        domain = np.where(
            r < personal_p,
            1 + len(PARTNER_DOMAINS) + rng.integers(0, len(PERSONAL_DOMAINS), n),
            np.where(r < personal_p + 0.17, 1 + rng.integers(0, len(PARTNER_DOMAINS), n), 0),
        )
        attach = rng.random(n) < 0.15
        size = np.where(
            attach, rng.lognormal(np.log(8e5), 1.2, n), rng.lognormal(np.log(4e4), 1.0, n)
        ).astype(np.int64)
        ctx = Context.of(roster, actor)
        ev.add(
            ts=ts,
            actor=actor,
            action="email_send",
            source="mail_gateway",
            target_type="email",
            nbytes=size,
            attrs=pick(EMAIL_ATTRS, domain * 2 + attach),
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
        )

    def http(self, ev: DayEvents, roster: Roster, rng: np.random.Generator) -> None:
        org = self.w.org
        people = roster.workers(None, org.role)
        counts = rng.poisson(HTTP[org.role[people]] * roster.volume[people])
        actor, ts = roster.spread(rng, people, counts, lead_min=2.0, tail_min=0.0)
        n = actor.size
        category = rng.choice(CATEGORY_P.size, size=n, p=CATEGORY_P)
        leaving = org.notice_day[actor] <= roster.day
        category = np.where(leaving & (rng.random(n) < 0.05), JOB_SEARCH, category)
        ctx = Context.of(roster, actor)
        ev.add(
            ts=ts,
            actor=actor,
            action="http_visit",
            source="proxy",
            target_type="url",
            attrs=pick(HTTP_ATTRS, http_attrs(rng, category)),
            nbytes=rng.lognormal(np.log(2e5), 1.0, n).astype(np.int64),
            ip=ctx.ip,
            country=ctx.country,
            device=ctx.device,
        )

    def devices(self, ev: DayEvents, roster: Roster, rng: np.random.Generator) -> None:
        org = self.w.org
        people = roster.workers(None, org.role)
        counts = rng.poisson(DEVICE[org.role[people]])
        actor, ts = roster.spread(rng, people, counts)
        n = actor.size
        storage_p = np.where(org.role[actor] == 5, 0.3, 0.08)
        cls = np.where(
            rng.random(n) < storage_p,
            USB_STORAGE,
            rng.choice([0, 1, 3], size=n, p=[0.65, 0.3, 0.05]),
        )
        serial = usb_serials(actor, cls)
        out = seconds(
            np.minimum(
                ts + rng.lognormal(np.log(3600e6), 1.0, n).astype(np.int64), roster.end[actor]
            )
        )
        for action, when in (("device_connect", ts), ("device_disconnect", out)):
            ctx = Context.of(roster, actor)
            ev.add(
                ts=when,
                actor=actor,
                action=action,
                source="endpoint",
                target_type="device",
                target=serial,
                attrs=pick(DEVICE_ATTRS, cls),
                ip=ctx.ip,
                country=ctx.country,
                device=ctx.device,
            )
