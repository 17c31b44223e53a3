"""Data exfiltration: moving data out, most often between giving notice and leaving.

Each exfiltrator favours one to three channels (bulk exports, downloads, USB sticks,
personal cloud, personal e-mail), as real ones do; leavers start around their notice date,
"low and slow" ones trickle for weeks, "smash and grab" ones take a lot in a few days.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from custodes.simulate.office import EMAIL_ATTRS, PARTNER_DOMAINS, PERSONAL_DOMAINS, usb_serials
from custodes.simulate.org import NEVER
from custodes.simulate.scenarios.plan import Insider, Planner, camouflage, intensity
from custodes.simulate.scenarios.stage import HOUR, Stage
from custodes.simulate.text import dumps, objects, pick
from custodes.simulate.tickets import DATASETS
from custodes.simulate.transfers import COPY_ATTRS, file_names

CHANNELS: Final = ("bulk_export", "download", "removable", "cloud_upload", "personal_email")
_CHANNEL_P: Final = np.array([0.25, 0.25, 0.15, 0.15, 0.2])
PERSONAL_CLOUD: Final = ("dropbox.com", "mega.nz", "drive.google.com", "wetransfer.com")
# Datasets worth stealing: user signals and reports carry personal data.
_SENSITIVE: Final = np.array([2, 6, 0, 1])


def setup_data_exfiltration(pl: Planner) -> list[Insider]:
    p = pl.pick("data_exfiltration")
    if p is None:
        return []
    rng, org, days = pl.rng, pl.w.org, pl.w.cfg.days
    variant = str(rng.choice(["leaver", "low_and_slow", "smash_and_grab"], p=[0.55, 0.3, 0.15]))
    s = intensity(rng)
    if variant == "leaver" and org.notice_day[p] >= NEVER and days >= 6:
        notice = int(rng.integers(max(1, int(org.hire_day[p]) + 1), max(2, days - 3)))
        org.notice_day[p] = notice
        org.end_day[p] = notice + int(rng.integers(14, 31))
        org.departure[p] = "resignation"
    if variant == "leaver" and org.notice_day[p] < days:
        first = max(0, int(org.notice_day[p]) - int(rng.integers(0, 6)), int(org.hire_day[p]))
        last = min(days - 1, int(org.end_day[p]))
    elif variant == "smash_and_grab":
        s = max(s, 0.6)
        first, last = pl.window(p, 3.0)
    else:
        variant = "low_and_slow" if variant == "leaver" else variant
        first, last = pl.window(p, 45.0)
    n_channels = 1 + int(rng.random() < 0.4 + 0.4 * s) + int(rng.random() < 0.3 * s)
    chosen = rng.choice(len(CHANNELS), size=n_channels, replace=False, p=_CHANNEL_P)
    ins = Insider(p, "data_exfiltration", first, last, s, camouflage(rng, s), variant)
    ins.detail["channels"] = [CHANNELS[int(c)] for c in np.sort(chosen)]
    return [ins]


def act_data_exfiltration(ins: Insider, st: Stage) -> None:
    rng, s = st.rng, ins.intensity
    home = rng.random() < 0.4 * s

    def when(n: int) -> np.ndarray:
        if home:
            return st.after_hours(ins, n)
        # Late in the shift, when fewer people are looking.
        end = int(st.roster.end[ins.actor])
        ts = end - (rng.uniform(0.1, 2.5, n) * HOUR).astype(np.int64)
        return ins.clip((np.sort(ts) // 1_000_000) * 1_000_000)

    channels = ins.detail["channels"]
    assert isinstance(channels, list)
    for channel in channels:
        if channel == "bulk_export":
            n = int(rng.poisson(0.5 + 1.5 * s))
            if n == 0:
                continue
            records = rng.lognormal(np.log(2e4 * (1 + 20 * s)), 1.0, n).astype(np.int64)
            dataset = _SENSITIVE[rng.integers(0, _SENSITIVE.size, n)]
            st.add(
                ins,
                st.ctx(ins, n, at_home=home),
                ts=when(n),
                action="export_data",
                source="data_portal",
                target_type="file",
                target=pick(DATASETS, dataset),
                records=records,
                nbytes=records * rng.integers(200, 400, n),
                attrs=objects([{"dataset": DATASETS[d], "format": "csv"} for d in dataset]),
            )
        elif channel == "download":
            n = int(rng.poisson(2.0 + 10.0 * s))
            if n == 0:
                continue
            st.add(
                ins,
                st.ctx(ins, n, at_home=home),
                ts=when(n),
                action="download_file",
                source="data_portal",
                target_type="file",
                target=file_names(rng, n),
                nbytes=rng.lognormal(np.log(2e7 * (1 + 4 * s)), 1.0, n).astype(np.int64),
            )
        elif channel == "removable":
            n = int(rng.poisson(1.0 + 3.0 * s))
            if n == 0:
                continue
            ts = when(n + 1)
            serial = usb_serials(np.full(1, ins.actor), np.full(1, 7))[0].as_py()
            st.add(
                ins,
                st.ctx(ins, 1, at_home=home),
                ts=ts[:1],
                action="device_connect",
                source="endpoint",
                target_type="device",
                target=serial,
                attrs=COPY_ATTRS,
            )
            st.add(
                ins,
                st.ctx(ins, n, at_home=home),
                ts=ts[1:],
                action="copy_to_removable",
                source="dlp",
                target_type="device",
                target=serial,
                nbytes=rng.lognormal(np.log(3e8 * (0.3 + s)), 0.8, n).astype(np.int64),
                attrs=COPY_ATTRS,
            )
            st.add(
                ins,
                st.ctx(ins, 1, at_home=home),
                ts=ins.clip(ts[-1:] + 60_000_000),
                action="device_disconnect",
                source="endpoint",
                target_type="device",
                target=serial,
                attrs=COPY_ATTRS,
            )
        elif channel == "cloud_upload":
            n = int(rng.poisson(1.0 + 4.0 * s))
            if n == 0:
                continue
            domain = rng.integers(0, len(PERSONAL_CLOUD), n)
            st.add(
                ins,
                st.ctx(ins, n, at_home=home),
                ts=when(n),
                action="upload_external",
                source="dlp",
                target_type="url",
                nbytes=rng.lognormal(np.log(1e8 * (0.2 + s)), 1.0, n).astype(np.int64),
                attrs=pick([dumps({"url_domain": d}) for d in PERSONAL_CLOUD], domain),
            )
        else:
            n = int(rng.poisson(1.0 + 4.0 * s))
            if n == 0:
                continue
            first_personal = 1 + len(PARTNER_DOMAINS)
            domain = first_personal + rng.integers(0, len(PERSONAL_DOMAINS), n)
            st.add(
                ins,
                st.ctx(ins, n, at_home=home),
                ts=when(n),
                action="email_send",
                source="mail_gateway",
                target_type="email",
                nbytes=rng.lognormal(np.log(5e6 * (0.3 + s)), 0.8, n).astype(np.int64),
                attrs=pick(EMAIL_ATTRS, domain * 2 + 1),
            )
