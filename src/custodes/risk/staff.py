"""One staff member, by pseudonym, as a caller may see them: their risk profile (over time,
against peers) and their raw activity.

The same rules as the case service, for the same reasons: the caller's permission is checked
here, not in a route; people appear as pseudonyms, and free text (alert reasons name
counterparts) is masked against the whole staff directory; the real id appears only beside
a pseudonym the caller has unmasked right now, and showing it is audited
(``staff.read_unmasked``). Raw activity is a person's every move, so reading it needs
``evidence.read`` as a case timeline does, and is audited (``staff.activity``) with the
window and families read.

A pseudonym is found by computing the pseudonym of everyone in the directory or with an
alert (keyed HMACs, a few hundred microseconds at demo scale): pseudonyms are one-way, and
the case store only maps back those of case subjects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final

from custodes import audit
from custodes.access.principal import Principal
from custodes.access.roles import Permission
from custodes.cases.events import EventFilter, alert_evidence_ids, fetch
from custodes.cases.views import FAMILIES, TimelineEvent, utc
from custodes.clock import utc_now
from custodes.config import Settings
from custodes.detect.results import known_actors, last_event_time
from custodes.errors import InputError, NotFoundError
from custodes.model.vocabulary import family_of
from custodes.privacy.pseudonyms import Pseudonyms, is_pseudonym
from custodes.privacy.unmasking import active_pseudonyms
from custodes.risk.profile import DayRisk, Peers, scored_parts, staff_profile
from custodes.risk.scoring import Level
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore

ACTIVITY_WINDOW: Final = timedelta(days=7)  # the activity shown unless asked otherwise
MAX_ACTIVITY_WINDOW: Final = timedelta(days=366)
MAX_ACTIVITY: Final = 2000


@dataclass(frozen=True)
class Part:
    """One alert's (or modifier's) share of the score now."""

    name: str  # the alert id, or the modifier's name
    kind: str  # "alert" or "modifier"
    category: str | None
    points: float
    detail: str  # masked


@dataclass(frozen=True)
class StaffView:
    pseudonym: str
    actor_id: str | None  # only while the caller has the pseudonym unmasked
    role: str | None
    site: str | None
    team: str | None
    as_of: datetime
    score: float | None  # None: no active alerts
    level: Level | None
    reasons: tuple[str, ...]  # masked
    parts: tuple[Part, ...]  # biggest first; they add up to ``score``
    by_family: tuple[tuple[str, float], ...]  # the same parts grouped, biggest first
    history: tuple[DayRisk, ...]
    peers: Peers


@dataclass(frozen=True)
class Activity:
    pseudonym: str
    start: datetime
    end: datetime
    families: tuple[str, ...]
    events: tuple[TimelineEvent, ...]
    truncated: bool  # more events matched than were read


class StaffService:
    """Staff views for one case store (grants, audit) over the event store the caller
    opens; cheap to create per request."""

    def __init__(self, store: CaseStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._pseudonyms: Pseudonyms | None = None

    @property
    def pseudonyms(self) -> Pseudonyms:
        if self._pseudonyms is None:
            self._pseudonyms = Pseudonyms.load(self.store, self.settings)
        return self._pseudonyms

    def profile(self, principal: Principal, events: EventStore | None, pseudonym: str) -> StaffView:
        """Risk now and over time, and peers; "not found" for a pseudonym of nobody."""
        principal.require(Permission.alert_read)
        actor, known = self._actor(events, pseudonym)
        assert events is not None
        mask = self.pseudonyms.masker(known)
        found = staff_profile(events, actor)
        shown = self._unmasked(principal, pseudonym)
        risk = found.risk
        parts = (
            tuple(
                Part(
                    name=c.name,
                    kind=c.kind,
                    category=c.category,
                    points=c.value,
                    detail=mask(c.detail),
                )
                for c in sorted(risk.contributions, key=lambda c: -c.value)
                if c.value > 0
            )
            if risk
            else ()
        )
        view = StaffView(
            pseudonym=pseudonym,
            actor_id=actor if shown else None,
            role=found.role,
            site=found.site,
            team=found.team,
            as_of=found.as_of,
            score=risk.risk_score if risk else None,
            level=risk.level if risk else None,
            reasons=tuple(mask(r) for r in risk.reasons) if risk else (),
            parts=parts,
            by_family=tuple(
                sorted(scored_parts(risk).items(), key=lambda p: (-p[1], p[0])) if risk else ()
            ),
            history=found.history,
            peers=found.peers,
        )
        if shown:
            self._audit(principal, "staff.read_unmasked", pseudonym, {"unmasked": [pseudonym]})
        return view

    def activity(
        self,
        principal: Principal,
        events: EventStore | None,
        pseudonym: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        families: Sequence[str] = (),
        limit: int = 250,
    ) -> Activity:
        """The person's events in ``[start, end)``, oldest first, each marked when one of
        their alerts cites it; by default the last ``ACTIVITY_WINDOW`` up to the day of the
        latest event. An audited read."""
        principal.require(Permission.alert_read)
        principal.require(Permission.evidence_read)
        chosen = tuple(sorted(set(families)))
        for family in chosen:
            if family not in FAMILIES:
                raise InputError(
                    f"unknown action family {family!r} (one of {', '.join(FAMILIES)})",
                    field="families",
                )
        if not 1 <= limit <= MAX_ACTIVITY:
            raise InputError(f"limit must be within 1..{MAX_ACTIVITY}", field="limit")
        actor, known = self._actor(events, pseudonym)
        assert events is not None
        latest = last_event_time(events) or utc_now()
        default_end = datetime.combine(latest.date() + timedelta(days=1), time.min)
        hi = utc(end or default_end)
        assert hi is not None
        lo = utc(start) or hi - ACTIVITY_WINDOW
        if hi <= lo:
            raise InputError("the end must be after the start", field="end")
        if hi - lo > MAX_ACTIVITY_WINDOW:
            raise InputError("look at a year at most at a time", field="start")
        rows = fetch(
            events,
            EventFilter(actors=[actor], start=lo, end=hi, families=chosen),
            limit=limit + 1,
        )
        alert_ids = [
            str(r[0])
            for r in events.fetch_all("SELECT alert_id FROM alerts WHERE actor_id = ?", [actor])
        ]
        cited = alert_evidence_ids(events, alert_ids)
        shown = self._unmasked(principal, pseudonym)
        items = tuple(
            TimelineEvent(
                event_id=str(r["event_id"]),
                ts=utc(r["ts"]) or r["ts"],
                subject=pseudonym,
                actor_id=actor if shown else None,
                action=str(r["action"]),
                family=family_of(str(r["action"])),
                target_type=r["target_type"],
                # A target may be a colleague (a role granted to them): never a real id.
                target_id=(
                    self.pseudonyms.of(str(r["target_id"]))
                    if r["target_id"] in known
                    else r["target_id"]
                ),
                outcome=r["outcome"],
                source=r["source"],
                country=r["country"],
                alert_evidence=str(r["event_id"]) in cited,
            )
            for r in rows[:limit]
        )
        self._audit(
            principal,
            "staff.activity",
            pseudonym,
            {
                "start": lo.isoformat(),
                "end": hi.isoformat(),
                "families": list(chosen),
                "events": len(items),
                **({"unmasked": [pseudonym]} if shown else {}),
            },
        )
        return Activity(pseudonym, lo, hi, chosen, items, len(rows) > limit)

    # --- helpers -------------------------------------------------------------------------

    def _actor(self, events: EventStore | None, pseudonym: str) -> tuple[str, frozenset[str]]:
        """The actor behind ``pseudonym``, and every known actor id (to mask text with)."""
        if events is None or not is_pseudonym(pseudonym):
            raise NotFoundError(f"no staff member {pseudonym}")
        known = known_actors(events)
        for actor in known:
            if self.pseudonyms.of(actor) == pseudonym:
                return actor, known
        raise NotFoundError(f"no staff member {pseudonym}")

    def _unmasked(self, principal: Principal, pseudonym: str) -> bool:
        with self.store.read() as session:
            return pseudonym in active_pseudonyms(session, principal)

    def _audit(
        self, principal: Principal, action: str, pseudonym: str, detail: dict[str, object]
    ) -> None:
        with self.store.write() as session:
            audit.append(
                session,
                actor=principal.username,
                action=action,
                target_type="subject",
                target_id=pseudonym,
                detail=detail,
            )
