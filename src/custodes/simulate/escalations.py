"""Risk-triage intake: escalations from police, regulators, partners, press and users.

The reporter's category is a hint that is often wrong (users especially), the language
field is often missing, and reach, deadlines and repeat subjects change the real priority.
The simulator's own judgement of each escalation (true category, severity, priority,
campaign) is kept in ``attrs`` under ``true_*`` keys, for evaluating triage.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Final

import numpy as np
import pyarrow as pa

from custodes.model.arrow import arrow_schema
from custodes.model.vocabulary import ESCALATION_SOURCES
from custodes.simulate import phrases as ph
from custodes.simulate.accounts import Accounts
from custodes.simulate.config import SimulationConfig
from custodes.simulate.ids import account_id, content_id, scatter
from custodes.simulate.text import dumps

SOURCE_P: Final = {
    "law_enforcement": 0.10,
    "regulator": 0.05,
    "trusted_flagger": 0.15,
    "ngo": 0.07,
    "press": 0.05,
    "creator_partner": 0.08,
    "internal_moderation": 0.20,
    "internal_staff": 0.05,
    "user_report": 0.25,
}
_MIX: Final[dict[str, dict[str, float]]] = {
    "law_enforcement": {
        "child_safety": 0.25,
        "violent_threat": 0.2,
        "terrorism": 0.15,
        "sextortion": 0.1,
        "fraud": 0.15,
        "doxxing": 0.05,
        "privacy": 0.05,
        "self_harm": 0.05,
    },
    "regulator": {
        "misinformation": 0.3,
        "hate": 0.2,
        "fraud": 0.2,
        "privacy": 0.15,
        "terrorism": 0.1,
        "child_safety": 0.05,
    },
    "trusted_flagger": {
        "hate": 0.2,
        "terrorism": 0.15,
        "child_safety": 0.15,
        "misinformation": 0.15,
        "harassment": 0.15,
        "fraud": 0.1,
        "self_harm": 0.1,
    },
    "ngo": {
        "child_safety": 0.3,
        "self_harm": 0.2,
        "sextortion": 0.15,
        "hate": 0.15,
        "harassment": 0.2,
    },
    "press": {
        "misinformation": 0.3,
        "hate": 0.2,
        "fraud": 0.15,
        "harassment": 0.15,
        "privacy": 0.1,
        "child_safety": 0.1,
    },
    "creator_partner": {"ip": 0.45, "harassment": 0.3, "doxxing": 0.1, "fraud": 0.15},
    "internal_moderation": {
        "child_safety": 0.15,
        "violent_threat": 0.15,
        "self_harm": 0.15,
        "terrorism": 0.1,
        "hate": 0.1,
        "harassment": 0.1,
        "sextortion": 0.1,
        "doxxing": 0.05,
        "fraud": 0.05,
        "misinformation": 0.05,
    },
    "internal_staff": {
        "privacy": 0.3,
        "doxxing": 0.2,
        "harassment": 0.2,
        "misinformation": 0.15,
        "fraud": 0.15,
    },
    "user_report": {
        "harassment": 0.25,
        "hate": 0.15,
        "fraud": 0.15,
        "privacy": 0.1,
        "sextortion": 0.05,
        "self_harm": 0.08,
        "doxxing": 0.07,
        "ip": 0.05,
        "misinformation": 0.07,
        "violent_threat": 0.03,
    },
}
# How often the reporter's own category is the true one.
HINT_ACCURACY: Final = {
    "law_enforcement": 0.9,
    "regulator": 0.9,
    "trusted_flagger": 0.85,
    "ngo": 0.8,
    "press": 0.7,
    "creator_partner": 0.6,
    "internal_moderation": 0.9,
    "internal_staff": 0.75,
    "user_report": 0.5,
}
SEVERITY: Final = {
    "child_safety": 0.9,
    "violent_threat": 0.8,
    "terrorism": 0.8,
    "self_harm": 0.85,
    "sextortion": 0.75,
    "doxxing": 0.6,
    "privacy": 0.6,
    "fraud": 0.45,
    "hate": 0.45,
    "harassment": 0.45,
    "misinformation": 0.35,
    "ip": 0.15,
}
LIFE_AND_LIMB: Final = ("child_safety", "violent_threat", "terrorism", "self_harm", "sextortion")
_SYLLABLES: Final = ("ka", "lo", "mi", "ra", "tu", "ve", "zo", "ni", "be", "sa", "do", "li")


@dataclass
class _Campaign:
    cluster: str
    category: str
    language: str
    subjects: list[int]
    remaining: int
    last_day: int


@lru_cache(maxsize=256)
def _cumulative(weights: tuple[float, ...]) -> tuple[list[float], float]:
    cdf = list(accumulate(weights))
    return cdf, cdf[-1]


def draw(rng: np.random.Generator, items: tuple[str, ...], weights: tuple[float, ...] = ()) -> str:
    """One item, by weight; much cheaper than ``Generator.choice`` for a single draw."""
    if not weights:
        return items[int(rng.integers(len(items)))]
    cdf, total = _cumulative(weights)
    return items[min(bisect_right(cdf, rng.random() * total), len(items) - 1)]


def handle(account: int) -> str:
    k = len(_SYLLABLES)
    return f"@{_SYLLABLES[account % k]}{_SYLLABLES[(account // k) % k]}_{account % 997}"


def _grouped(n: float, lang: str) -> str:
    text = f"{int(n):,}"
    return text if lang == "en" else text.replace(",", ".")


class Escalations:
    def __init__(self, cfg: SimulationConfig, accounts: Accounts) -> None:
        self.cfg = cfg
        self.accounts = accounts
        self.rows: list[dict[str, object]] = []
        self._subjects: deque[int] = deque(maxlen=300)
        self._campaigns: list[_Campaign] = []
        self._clusters = 0

    def day(self, day: int, rng: np.random.Generator) -> None:
        weekend = (self.cfg.start + timedelta(days=day)).weekday() >= 5
        n = int(rng.poisson(self.cfg.escalation_rate * (0.7 if weekend else 1.08)))
        if rng.random() < 0.06:
            self._clusters += 1
            self._campaigns.append(
                _Campaign(
                    cluster=f"CL-{self._clusters:04d}",
                    category=draw(rng, ("harassment", "misinformation", "hate", "fraud")),
                    language=draw(rng, ph.LANGUAGES, self.cfg.language_shares),
                    subjects=[int(a) for a in self.accounts.owners(rng, int(rng.integers(2, 5)))],
                    remaining=int(rng.integers(5, 16)),
                    last_day=day + int(rng.integers(0, 3)),
                )
            )
        for _ in range(n):
            self.rows.append(self._one(day, rng, None))
        for camp in self._campaigns:
            share = max(1, camp.remaining // max(1, camp.last_day - day + 1))
            for _ in range(min(share, camp.remaining)):
                self.rows.append(self._one(day, rng, camp))
            camp.remaining -= share
        self._campaigns = [c for c in self._campaigns if c.remaining > 0 and c.last_day > day]
        recent = [r for r in self.rows[-200:] if not r["attrs"]["is_update"]]  # type: ignore[index]
        if recent and rng.random() < min(0.9, 0.02 * n):
            self.rows.append(self._update(recent[int(rng.integers(len(recent)))], day, rng))

    def _one(self, day: int, rng: np.random.Generator, camp: _Campaign | None) -> dict[str, object]:
        acc = self.accounts
        if camp is not None:
            source = draw(
                rng, ("user_report", "trusted_flagger", "ngo", "press"), (0.7, 0.15, 0.1, 0.05)
            )
            category, lang = camp.category, camp.language
            subject = camp.subjects[int(rng.integers(len(camp.subjects)))]
        else:
            source = draw(rng, tuple(SOURCE_P), tuple(SOURCE_P.values()))
            mix = _MIX[source]
            category = draw(rng, tuple(mix), tuple(mix.values()))
            lang = draw(rng, ph.LANGUAGES, self.cfg.language_shares)
            repeat = self._subjects and rng.random() < 0.06
            subject = (
                self._subjects[int(rng.integers(len(self._subjects)))]
                if repeat
                else int(acc.owners(rng, 1)[0])
            )
        self._subjects.append(subject)
        jurisdiction = draw(rng, ph.JURISDICTIONS[lang])
        seen = np.array([int(rng.integers(0, 50_000))], dtype=np.int64)
        content = int(scatter(max(day - 1, 0), seen, salt=1)[0])
        subject_ids = [account_id(subject)] + ([content_id(content)] if rng.random() < 0.6 else [])
        reach = int(acc.followers[subject])
        midnight = datetime.combine(self.cfg.start + timedelta(days=day), datetime.min.time(), UTC)
        hour = (
            rng.uniform(0, 24)
            if ph.VOICE[source] in ("user", "internal")
            else rng.normal(14, 4) % 24
        )
        received = midnight + timedelta(seconds=int(hour * 3600))
        deadline = None
        p_deadline = {"formal": 0.65, "press": 0.4, "partner": 0.1}.get(ph.VOICE[source], 0.0)
        if rng.random() < p_deadline:
            if ph.VOICE[source] != "formal":
                hours = int(rng.integers(6, 49))
            elif category in ("terrorism", "child_safety") and rng.random() < 0.5:
                hours = 1  # removal orders for terrorist content give one hour
            else:
                hours = int(draw(rng, ("24", "48", "72")))
            deadline = received + timedelta(hours=hours)
        score = SEVERITY[category] + 0.15 * (np.log10(reach + 1) - 3) / 4 + rng.normal(0, 0.08)
        score += 0.05 if deadline is not None else 0.0
        severity = (
            "critical"
            if score >= 0.85
            else "high"
            if score >= 0.65
            else "medium"
            if score >= 0.4
            else "low"
        )
        priority = (
            "P0"
            if severity == "critical" and category in LIFE_AND_LIMB
            else "P1"
            if severity in ("critical", "high")
            else "P2"
            if severity == "medium"
            else "P4"
            if category == "ip"
            else "P3"
        )
        hint: str | None = category
        if rng.random() > HINT_ACCURACY[source]:
            hint = (
                None if source == "user_report" and rng.random() < 0.5 else draw(rng, ph.CATEGORIES)
            )
        requester = self._requester(source, jurisdiction, rng)
        title, body = self._text(
            lang,
            source,
            category,
            subject,
            content,
            requester,
            reach,
            deadline,
            severity,
            jurisdiction,
            rng,
        )
        attrs: dict[str, object] = {
            "true_category": category,
            "true_severity": severity,
            "true_priority": priority,
            "true_language": lang,
            "is_update": False,
        }
        if camp is not None:
            attrs["cluster_id"] = camp.cluster
        return {
            "escalation_id": len(self.rows),  # a serial until ids are given in time order
            "received_at": received.replace(tzinfo=None),
            "source": source,
            "title": title if rng.random() < 0.9 else None,
            "body": body,
            "language": lang if rng.random() < 0.6 else None,
            "reported_category": hint,
            "subject_ids": subject_ids,
            "reach": reach if rng.random() < 0.8 else None,
            "jurisdiction": jurisdiction if rng.random() < 0.9 else None,
            "requester": requester,
            "deadline": deadline.replace(tzinfo=None) if deadline else None,
            "attrs": attrs,
        }

    @staticmethod
    def _requester(source: str, jurisdiction: str, rng: np.random.Generator) -> str | None:
        if source in ph.REQUESTERS:
            names = ph.REQUESTERS[source][jurisdiction]
            return names[int(rng.integers(len(names)))]
        if source == "user_report":
            return None
        names = ph.PARTNERS[source]
        return names[int(rng.integers(len(names)))]

    def _text(
        self,
        lang: str,
        source: str,
        category: str,
        subject: int,
        content: int,
        org: str | None,
        reach: int,
        deadline: datetime | None,
        severity: str,
        jurisdiction: str,
        rng: np.random.Generator,
    ) -> tuple[str, str]:
        voice = ph.VOICE[source]

        def one(options: tuple[str, ...]) -> str:
            return options[int(rng.integers(len(options)))]

        amounts = {"en": "$1,500", "es": "USD 1.200", "pt": "R$ 3.000"}
        when = ""
        if deadline is not None:
            when = (
                deadline.strftime("%Y-%m-%d %H:%M UTC")
                if lang == "en"
                else deadline.strftime("%d/%m/%Y %H:%M UTC")
            )
        slots = {
            "what": ph.WHAT[lang][category],
            "handle": handle(subject),
            "url": f"https://social.example.com/p/{content_id(content)}",
            "case": f"{jurisdiction}-{self.cfg.start.year}-{int(rng.integers(1000, 99999)):05d}",
            "city": one(ph.CITIES[jurisdiction]),
            "count": str(int(rng.integers(5, 400))),
            "amount": amounts[lang],
            "brand": one(ph.BRANDS),
            "org": org or "",
            "reach": _grouped(reach, lang),
            "deadline": when,
        }
        parts = [one(ph.OPENER[lang][voice]), one(ph.DETAIL[lang][category])]
        if reach > 10_000 and rng.random() < 0.6:
            parts.append(ph.REACH[lang])
        if severity in ("critical", "high") and rng.random() < 0.7:
            parts.append(one(ph.URGENT[lang]))
        if deadline is not None:
            parts.append(ph.DEADLINE[lang][1 if voice == "press" else 0])
        closer = ph.CLOSER[lang][voice]
        if closer:
            parts.append(closer)
        body = " ".join(p.format(**slots) for p in parts)
        title = one(ph.TITLE[lang]).format(**slots)
        if voice == "user" and rng.random() < 0.5:
            body = body.lower()
        return title[0].upper() + title[1:], body

    def _update(
        self, row: dict[str, object], day: int, rng: np.random.Generator
    ) -> dict[str, object]:
        attrs = dict(row["attrs"])  # type: ignore[call-overload]
        attrs["is_update"] = True
        lang = str(attrs["true_language"])
        midnight = datetime.combine(self.cfg.start + timedelta(days=day), datetime.min.time())
        received = max(
            midnight + timedelta(seconds=int(rng.uniform(0, 86_400))),
            row["received_at"] + timedelta(minutes=30),  # type: ignore[operator]
        )
        deadline = row["deadline"]
        if deadline is not None and deadline <= received:  # type: ignore[operator]
            deadline = None
        return {
            **row,
            "deadline": deadline,
            "received_at": received,
            "body": ph.UPDATE[lang] + str(row["body"]),
            "attrs": attrs,
        }

    def table(self) -> pa.Table:
        """Rows with ``attrs`` as JSON text, as ``arrow_schema('escalations')`` says."""

        ordered = sorted(self.rows, key=lambda r: r["received_at"])  # type: ignore[arg-type,return-value]
        ids: dict[object, str] = {}
        rows = []
        for r in ordered:
            # Updates carry their original's serial, so they get the original's id.
            ident = ids.setdefault(r["escalation_id"], f"ESC-{len(ids) + 1:07d}")
            attrs = dumps(r["attrs"])
            rows.append({**r, "escalation_id": ident, "attrs": attrs})
        return pa.Table.from_pylist(rows, schema=arrow_schema("escalations"))


__all__ = ["ESCALATION_SOURCES", "Escalations"]
