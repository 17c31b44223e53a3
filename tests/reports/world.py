"""A small real world for report tests, built through the domain services only.

Time is the one thing faked: the services read "now" from ``custodes.clock``, so a
:class:`Clock` patched into the modules that act lets a test say "acknowledged four days
later" without waiting. Everything else — ratings, clocks, breaches, revisions, audit rows,
verdicts — is what the services really store.

The week reported is ISO week 2026-W10 (Monday 2 March to Sunday 8 March 2026); week 9
before it is the period the changes compare with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from custodes.access.principal import Principal
from custodes.cases import CaseService
from custodes.cases.views import CaseCreate, EvidenceCreate
from custodes.config import Settings
from custodes.detect.feedback import Verdict, record_verdict
from custodes.reports.period import Period, PeriodKind
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from custodes.triage import lifecycle
from custodes.triage.intake import EscalationService
from custodes.triage.views import EscalationDetail
from tests.web.world import ACTORS, add_alert, add_events, add_people

WEEK = Period.containing(PeriodKind.week, date(2026, 3, 2))
BEFORE = WEEK.previous()
TODAY = date(2026, 3, 10)  # the week is complete


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    """Day ``day`` of March 2026 (0 = 1 March), UTC; negative days reach into February."""
    return datetime(2026, 3, 1, hour, minute, tzinfo=UTC) + timedelta(days=day)


class Clock:
    """The "now" the services see; ``set`` moves it."""

    def __init__(self) -> None:
        self.now = at(1)

    def set(self, when: datetime) -> Clock:
        self.now = when
        return self

    def aware(self) -> datetime:
        return self.now

    def naive(self) -> datetime:
        return self.now.replace(tzinfo=None)


def patch_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    for module in (
        "custodes.triage.intake",
        "custodes.triage.lifecycle",
        "custodes.cases.service",
        "custodes.cases.evidence",
    ):
        monkeypatch.setattr(f"{module}.utc_now_aware", clock.aware)
    monkeypatch.setattr("custodes.detect.feedback.utc_now", clock.naive)
    return clock


# --- escalations --------------------------------------------------------------------------

BODIES = {
    "threat": "He posted that he will kill the mayor tomorrow at the rally, with a photo of a gun.",
    "hate": "This account keeps posting slurs against immigrants and calls for them to be beaten.",
    "scam": "A fake giveaway page is taking card numbers from hundreds of people.",
    "doxxing": "Coordinated accounts are posting the home address of a journalist.",
    "spam": "The same link to a shop is posted in every comment thread, hundreds of times.",
}


@dataclass
class EscalationWorld:
    service: EscalationService
    tom: Principal
    clock: Clock
    made: dict[str, EscalationDetail]

    def submit(
        self,
        name: str,
        received: datetime,
        source: str,
        subject: str,
        body: str = "hate",
        **extra: Any,
    ) -> EscalationDetail:
        self.clock.set(received + timedelta(minutes=1))
        detail, _ = self.service.submit(
            self.tom,
            {
                "escalation_id": name,
                "received_at": received.isoformat(),
                "source": source,
                "title": f"report {name}",
                "body": BODIES[body],
                "subject_ids": [subject],
                **extra,
            },
        )
        self.made[name] = detail
        return detail

    def current(self, name: str) -> EscalationDetail:
        return self.service.get(self.tom, self.made[name].id)

    def ack(self, name: str, when: datetime) -> None:
        self.clock.set(when)
        e = self.current(name)
        lifecycle.acknowledge(self.service, self.tom, e.id, e.version)

    def act(self, name: str, when: datetime) -> None:
        self.clock.set(when)
        e = self.current(name)
        lifecycle.action(self.service, self.tom, e.id, e.version, "asked the host")

    def resolve(self, name: str, when: datetime, resolution: str) -> None:
        self.clock.set(when)
        e = self.current(name)
        lifecycle.resolve(self.service, self.tom, e.id, e.version, resolution, "done")

    def override(self, name: str, when: datetime, band: str) -> None:
        self.clock.set(when)
        e = self.current(name)
        self.service.override(self.tom, e.id, e.version, band, "analyst knows better")


def escalation_world(cases: CaseStore, tom: Principal, clock: Clock) -> EscalationWorld:
    """Nine escalations in week 10 and two in week 9: acknowledged on time and late,
    acted on, resolved several ways, one harm that recurred, overrides, one left open."""
    w = EscalationWorld(EscalationService(cases), tom, clock, {})
    # Week 9: the period before.
    w.submit("w9-a", at(-5), "ngo", "acct:90", "spam")
    w.submit("w9-b", at(-4), "user_report", "acct:91", "spam")
    w.ack("w9-b", at(-4, 9, 20))
    w.resolve("w9-b", at(-4, 12), "no_action")
    # Week 10.
    w.submit("le-1", at(1, 9), "law_enforcement", "acct:1", "threat")
    w.ack("le-1", at(1, 9, 5))
    w.act("le-1", at(1, 9, 30))
    w.resolve("le-1", at(1, 12), "content_removed")
    w.submit("tf-1", at(1, 10), "trusted_flagger", "acct:2", "hate")
    w.ack("tf-1", at(1, 10, 10))
    w.resolve("tf-1", at(2, 9), "content_restricted")
    w.submit("ngo-1", at(1, 11), "ngo", "acct:6", "scam")
    w.ack("ngo-1", at(1, 11, 5))
    w.resolve("ngo-1", at(2, 10), "content_removed")
    w.submit("ngo-2", at(2, 8), "ngo", "acct:3", "doxxing")
    w.override("ngo-2", at(2, 8, 30), "P4" if w.made["ngo-2"].band == "P0" else "P0")
    w.submit("le-2", at(3, 10), "law_enforcement", "https://example.com/post/1", "threat")
    # The same harm again: acct:1 resolved on Monday, reported again on Wednesday.
    w.submit("le-3", at(3, 11), "law_enforcement", "acct:1", "threat")
    w.ack("le-3", at(7, 10))  # four days late, whatever the band
    w.resolve("le-3", at(7, 11), "content_removed")
    w.submit("ur-1", at(4, 8), "user_report", "acct:4", "spam")  # never touched
    w.submit("pr-1", at(5, 9), "press", "acct:5", "hate")
    w.ack("pr-1", at(5, 9, 5))
    w.act("pr-1", at(5, 9, 45))
    w.resolve("pr-1", at(6, 9), "information_provided")
    w.override("pr-1", at(5, 9, 50), "P0" if w.made["pr-1"].band != "P0" else "P1")
    w.submit("le-4", at(6, 10), "law_enforcement", "acct:7", "scam")
    w.ack("le-4", at(6, 10, 2))
    # After the week: must not count.
    w.submit("w11-a", at(9, 9), "law_enforcement", "acct:1", "threat")
    return w


# --- integrity ------------------------------------------------------------------------------


@dataclass
class IntegrityWorld:
    data_dir: Path
    service: CaseService
    alerts: dict[str, list[str]]  # actor -> alert ids
    closed_case: int
    open_case: int


def integrity_world(
    cases: CaseStore,
    settings: Settings,
    people: dict[str, Principal],
    clock: Clock,
) -> IntegrityWorld:
    """Staff ACTORS with events and alerts in week 10 (and one in week 9), verdicts, a case
    opened from alerts and closed substantiated, and a case opened by hand left open."""
    data_dir = settings.data_dir
    add_people(data_dir)
    mallory, trudy, walter = ACTORS
    alerts: dict[str, list[str]] = {a: [] for a in ACTORS}
    for actor, days in ((mallory, (1, 2, 3)), (trudy, (2, 4)), (walter, (-6,))):
        for day in days:
            add_events(data_dir, actor, day)
            alerts[actor].append(
                add_alert(data_dir, actor, day, other=trudy if actor == mallory else None).alert_id
            )
    _add_alert(data_dir, walter, 5, "data_exfiltration", 0.9)
    with EventStore.open(data_dir) as events:
        clock.set(at(3, 15))
        record_verdict(events, alerts[trudy][0], Verdict.false_positive, "normal work", "ana")
        clock.set(at(4, 15))
        record_verdict(events, alerts[trudy][1], Verdict.true_positive, "confirmed", "ana")
        clock.set(at(5, 16))
        service = CaseService(cases, settings)
        ana = people["ana"]
        made = service.create_from_alerts(ana, alerts[mallory][:2], events)
        clock.set(at(5, 17))
        service.add_note(ana, made.id, f"Interviewed the team lead; {mallory} admitted it.")
        service.add_evidence(
            ana,
            made.id,
            EvidenceCreate(
                kind="events",
                title="profile views",
                event_ids=[f"ev-{mallory[-4:]}-1-0", f"ev-{mallory[-4:]}-1-1"],
            ),
            events,
        )
    clock.set(at(6, 10))
    closed = service.transition(
        ana, made.id, service.version(ana, made.id), "closed", outcome="substantiated"
    )
    clock.set(at(6, 11))
    manual = service.create(
        people["lead"], CaseCreate(title="Shared device", subjects=[walter], category=None)
    )
    return IntegrityWorld(data_dir, service, alerts, closed.id, manual.id)


def _add_alert(data_dir: Path, actor: str, day: int, category: str, score: float) -> str:
    from custodes.detect.alert import Alert, Severity

    start = datetime(2026, 3, 1) + timedelta(days=day)
    alert = Alert(
        actor_id=actor,
        detector="rules",
        category=category,
        severity=Severity.critical,
        score=score,
        window_start=start,
        window_end=start + timedelta(days=1),
        reasons=(f"{actor} copied 4 GB to a USB stick",),
    )
    with EventStore.open(data_dir) as store:
        store.execute(
            "INSERT INTO alerts (alert_id, actor_id, detector, category, severity, score, "
            "window_start, window_end, reasons, evidence_event_ids, pattern, detect_run) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            [
                alert.alert_id,
                actor,
                alert.detector,
                category,
                str(alert.severity),
                score,
                alert.window_start,
                alert.window_end,
                list(alert.reasons),
                [],
                alert.pattern,
            ],
        )
    return alert.alert_id
