"""Graphs on hand-built organisations where the right answer is known: a paid moderator,
a vendetta, a colluding QA analyst, a borrowed login; and their honest look-alikes (a
specialised queue QA agrees with, a strict moderator, a QA analyst assigned to one
moderator, an office network, a traveller, a phone next to the laptop)."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta

import pyarrow as pa

from custodes.detect.alert import Alert, Severity
from custodes.detect.detector import DetectContext, Findings, registered
from custodes.detect.detectors.graphs import Graphs
from custodes.store.events import EventStore

START = datetime(2026, 2, 2)  # a Monday
DAYS = 20
AS_OF = START + timedelta(days=DAYS, hours=-1)
_TYPES = {
    "ts": pa.timestamp("us"),
    "duration_ms": pa.int64(),
    "records": pa.int64(),
    "bytes": pa.int64(),
}
_COLUMNS = (
    "event_id", "ts", "actor_id", "action", "target_type", "target_id", "outcome", "source",
    "ip", "country", "device_id", "ticket_id", "duration_ms", "records", "bytes", "attrs",
)  # fmt: skip


class Log:
    """Hand-built events with sequential ids, written in one insert."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(self, ts: datetime, actor: str, action: str, **cols: object) -> str:
        event_id = f"e{len(self.rows):06d}"
        self.rows.append(
            {"event_id": event_id, "ts": ts, "actor_id": actor, "action": action, **cols}
        )
        return event_id

    def decide(
        self, ts: datetime, actor: str, creator: str, outcome: str, action: str = "review_decision"
    ) -> str:
        content = f"c-{len(self.rows)}"
        return self.add(
            ts, actor, action, target_type="content", target_id=content, outcome=outcome,
            attrs={"owner_account_id": creator},
        )  # fmt: skip

    def store(self, store: EventStore, people: dict[str, str], site: str = "dublin") -> None:
        columns = {}
        for name in _COLUMNS:
            values = [r.get(name) for r in self.rows]
            if name == "attrs":
                values = [None if v is None else json.dumps(v) for v in values]
            columns[name] = pa.array(values, _TYPES.get(name, pa.string()))
        store.register("log", pa.table(columns))
        names = ", ".join(_COLUMNS)
        store.execute(
            f"INSERT INTO events ({names}) SELECT * REPLACE (CAST(attrs AS JSON) AS attrs) FROM log"
        )
        store.unregister("log")
        for actor, role in people.items():
            store.execute(
                "INSERT INTO people (actor_id, role, site, timezone) VALUES (?, ?, ?, 'UTC')",
                [actor, role, site],
            )


def _run(store: EventStore, since: date | None = None) -> Findings:
    return Graphs().run(DetectContext(store, AS_OF, since))


def _by(findings: Findings, category: str) -> dict[str, Alert]:
    return {a.actor_id: a for a in findings.alerts if a.category == category}


def _scores(findings: Findings) -> dict[tuple[str, date], float]:
    return {(r["actor_id"], r["day"]): r["score"] for r in findings.scores.to_pylist()}


def _at(day: int, minute: int) -> datetime:
    return START + timedelta(days=day, hours=9, minutes=minute)


# -- benefit concentration ---------------------------------------------------------------


def _favour_world(log: Log) -> dict[str, str]:
    """Ten honest moderators over 100 ordinary creators (approved half the time) and two
    prolific violators r0, r1 (approved 10%); ``pay`` approves r0/r1 two dozen times; ``spec``
    works a specialised queue of three big creators nobody else sees, approving 90%, and QA
    agrees with them."""
    rng = random.Random(7)
    people = {f"m{i:02d}": "moderator" for i in range(10)}
    for day in range(DAYS):
        for m in [*people, "pay"]:
            for k in range(10):
                creator = f"c{rng.randrange(100):03d}"
                event = log.decide(_at(day, k), m, creator, rng.choice(["approve", "remove"]))
                if rng.random() < 0.1:
                    log.add(_at(day, 200 + k), "qa", "qa_review", target_id=event,
                            outcome="agree", attrs={"reviewed_actor_id": m})  # fmt: skip
            if m != "pay":
                for k, ring in enumerate(("r0", "r1")):
                    outcome = "approve" if rng.random() < 0.1 else "remove"
                    log.decide(_at(day, 20 + k), m, ring, outcome)
        if day % 2 == 0 or day % 5 == 0:
            for k, ring in enumerate(("r0", "r1")):
                event = log.decide(_at(day, 30 + k), "pay", ring, "approve")
                if day % 4 == 0:
                    log.add(_at(day, 300 + k), "qa", "qa_review", target_id=event,
                            outcome="disagree", attrs={"reviewed_actor_id": "pay"})  # fmt: skip
        for k in range(10):
            big = f"big{k % 3}"
            event = log.decide(_at(day, 40 + k), "spec", big, "approve" if k else "remove")
            if k % 3 == 1:
                log.add(_at(day, 400 + k), "qa", "qa_review", target_id=event,
                        outcome="agree", attrs={"reviewed_actor_id": "spec"})  # fmt: skip
    return people | {"pay": "moderator", "spec": "moderator", "qa": "qa_analyst"}


def test_favours_concentrated_on_two_creators_are_paid_reversal(store: EventStore) -> None:
    log = Log()
    people = _favour_world(log)
    log.store(store, people)
    findings = _run(store)
    alerts = _by(findings, "paid_reversal")
    assert set(alerts) == {"pay"}
    alert = alerts["pay"]
    assert alert.detector == "graphs" and alert.pattern == "graphs:benefit_concentration"
    assert "r0" in alert.reasons[0] and "r1" in alert.reasons[0]
    assert alert.reasons[1] == (
        "approved 12 of 12 decisions on r0's content (peers 13% of 200, their own rate "
        "elsewhere 52%)"
    )
    assert any(r.startswith("QA disagreed with") for r in alert.reasons)
    assert alert.window_start < alert.window_end
    # The evidence is the favourable decisions on r0 and r1 themselves.
    ring = store.fetch_all(
        "SELECT event_id FROM events WHERE actor_id = 'pay' AND outcome = 'approve' "
        "AND json_extract_string(attrs, '$.owner_account_id') IN ('r0', 'r1') ORDER BY 1"
    )
    assert alert.evidence_event_ids == tuple(r[0] for r in ring)
    # The days it happened rank at the top; pay's other days do not.
    scores = _scores(findings)
    paid = {(START + timedelta(days=d)).date() for d in range(DAYS) if d % 2 == 0 or d % 5 == 0}
    assert min(scores[("pay", day)] for day in paid) > 0.9
    assert max((v for (a, d), v in scores.items() if a == "pay" and d not in paid), default=0) < 0.5
    # The specialised queue and the honest moderators rank well below.
    others = [v for (a, _), v in scores.items() if a != "pay"]
    assert max(others, default=0.0) < 0.3


def test_incremental_run_judges_days_since_with_edges_from_before(store: EventStore) -> None:
    log = Log()
    people = _favour_world(log)
    log.store(store, people)
    since = (START + timedelta(days=15)).date()
    findings = _run(store, since)
    assert {d for _, d in _scores(findings)} and min(d for _, d in _scores(findings)) >= since
    # Only five days after `since`, yet the alert stands on the 28 days behind them.
    assert set(_by(findings, "paid_reversal")) == {"pay"}


def test_findings_are_deterministic(store: EventStore) -> None:
    log = Log()
    log.store(store, _favour_world(log))
    first, second = _run(store), _run(store)
    assert first.alerts == second.alerts
    assert first.scores.equals(second.scores)


# -- enforcement concentration -----------------------------------------------------------


def _enforcement_world(log: Log) -> dict[str, str]:
    """Peers remove 40% of ordinary content and 10% of four Brazilian creators' content;
    ``rival`` removes the four again and again and appeals overturn most of it; ``strict``
    removes more of everything; everybody removes the genuine violator v0."""
    rng = random.Random(11)
    people = {f"m{i:02d}": "moderator" for i in range(8)}
    habits = dict.fromkeys(people, 0.4) | {"rival": 0.4, "strict": 0.6}
    for day in range(DAYS):
        for m, rate in habits.items():
            for k in range(10):
                creator = f"c{rng.randrange(60):03d}"
                outcome = "remove" if rng.random() < rate else "approve"
                log.decide(_at(day, k), m, creator, outcome)
            target = f"t{day % 4}"
            outcome = "remove" if rng.random() < (0.2 if m == "strict" else 0.1) else "approve"
            event = log.decide(_at(day, 20), m, target, outcome)
            if outcome == "remove" and day < DAYS - 3:
                log.decide(_at(day + 2, 30), "appeals", target, "uphold", "appeal_decision")
                log.rows[-1]["target_id"] = log.rows[int(event[1:])]["target_id"]
            log.decide(_at(day, 25), m, "v0", "remove" if rng.random() < 0.9 else "approve")
        for k in range(2):
            target = f"t{(day + k) % 4}"
            event = log.decide(_at(day, 40 + k), "rival", target, "remove")
            if day < DAYS - 3:
                verdict = "overturn" if (day + k) % 4 else "uphold"
                log.decide(_at(day + 2, 50 + k), "appeals", target, verdict, "appeal_decision")
                log.rows[-1]["target_id"] = log.rows[int(event[1:])]["target_id"]
    return people | {"rival": "moderator", "strict": "moderator", "appeals": "moderator"}


def test_removals_concentrated_on_a_cluster_and_overturned_are_malicious(
    store: EventStore,
) -> None:
    log = Log()
    people = _enforcement_world(log)
    log.store(store, people)
    for account in ("t0", "t1", "t2", "t3"):
        store.execute("INSERT INTO accounts (account_id, country) VALUES (?, 'BR')", [account])
    findings = _run(store)
    alerts = _by(findings, "malicious_enforcement")
    assert set(alerts) == {"rival"}
    reasons = alerts["rival"].reasons
    assert "target cluster of" in reasons[1] and "in BR" in reasons[1]
    assert any("appeals overturned" in r for r in reasons)
    assert not _by(findings, "paid_reversal")


# -- QA reciprocity ----------------------------------------------------------------------


def _qa_world(log: Log, *, reciprocal: bool = False) -> dict[str, str]:
    """Five QA analysts disagree with 10% of decisions (``sloppy``: 35%); ``friend`` passes
    everything of sloppy's; ``focused`` reviews mostly m03, fairly."""
    rng = random.Random(3)
    mods = [f"m{i:02d}" for i in range(6)] + ["sloppy"]
    qas = [f"q{i}" for i in range(5)]
    made: dict[str, list[str]] = {m: [] for m in mods}
    for day in range(DAYS):
        for m in mods:
            made[m] += [log.decide(_at(day, k), m, f"c{k}", "approve") for k in range(10)]
        for q in [*qas, "friend", "focused"]:
            for k in range(8):
                if q == "friend" and k < 4:
                    m, disagree = "sloppy", False
                elif q == "focused" and k < 6:
                    m, disagree = "m03", rng.random() < 0.1
                else:
                    m = rng.choice(mods)
                    disagree = rng.random() < (0.35 if m == "sloppy" else 0.1)
                log.add(_at(day, 100 + k), q, "qa_review", target_id=made[m][-1 - k],
                        outcome="disagree" if disagree else "agree",
                        attrs={"reviewed_actor_id": m})  # fmt: skip
        if reciprocal:  # sloppy reviews their friend's own decisions, just as kindly
            own = log.decide(_at(day, 150), "friend", "c1", "approve")
            log.add(_at(day, 160), "sloppy", "qa_review", target_id=own, outcome="agree",
                    attrs={"reviewed_actor_id": "friend"})  # fmt: skip
            log.add(_at(day, 161), "sloppy", "qa_review", target_id=own, outcome="agree",
                    attrs={"reviewed_actor_id": "friend"})  # fmt: skip
            for q in qas[:3]:
                verdict = "disagree" if (day + len(q)) % 3 == 0 else "agree"
                log.add(_at(day, 170), q, "qa_review", target_id=own, outcome=verdict,
                        attrs={"reviewed_actor_id": "friend"})  # fmt: skip
    roles = dict.fromkeys(mods, "moderator") | dict.fromkeys(qas, "qa_analyst")
    return roles | {"friend": "qa_analyst", "focused": "qa_analyst"}


def test_qa_analyst_passing_one_moderator_is_collusion(store: EventStore) -> None:
    log = Log()
    log.store(store, _qa_world(log))
    findings = _run(store)
    alerts = _by(findings, "qa_collusion")
    assert "friend" in alerts and "focused" not in alerts
    assert not {f"q{i}" for i in range(5)} & set(alerts)
    friend = alerts["friend"]
    assert friend.pattern == "graphs:qa_leniency"
    assert "sloppy" in friend.reasons[0]
    assert friend.reasons[1].startswith("friend disagreed with 5 of 92 of sloppy's decisions")
    assert not any(r.startswith("reciprocal") for r in friend.reasons)
    # The sheltered moderator is scored too, but below the analyst.
    scores = _scores(findings)
    sloppy = max(v for (a, _), v in scores.items() if a == "sloppy")
    assert 0.1 < sloppy < friend.score


def test_reciprocal_pairs_are_named(store: EventStore) -> None:
    log = Log()
    log.store(store, _qa_world(log, reciprocal=True))
    alerts = _by(_run(store), "qa_collusion")
    assert {"friend", "sloppy"} <= set(alerts)
    friend, sloppy = alerts["friend"], alerts["sloppy"]
    assert friend.pattern == sloppy.pattern == "graphs:qa_reciprocity"
    assert friend.reasons[2].startswith("reciprocal: sloppy disagreed with 0 of 40")
    assert sloppy.score == friend.score  # both sides of the deal, both aware


# -- shared credentials ------------------------------------------------------------------


def _office(log: Log, actors: list[str], days: range) -> None:
    """A working day at the office every 20 minutes, each on their own laptop."""
    for day in days:
        for a in actors:
            for k in range(0, 8 * 60, 20):
                log.add(_at(day, k), a, "http_visit", ip="10.0.0.1", country="IE",
                        device_id=f"L-{a}")  # fmt: skip


def test_two_places_at_once_is_shared_credentials_office_and_travel_are_not(
    store: EventStore,
) -> None:
    log = Log()
    staff = [f"s{i:02d}" for i in range(40)]
    _office(log, staff, range(10))
    for day in (3, 5):  # someone in Indonesia works s00's account during s00's shift
        for k in range(60, 180, 15):
            log.add(_at(day, k), "s00", "review_decision", ip="36.1.1.1", country="ID",
                    device_id="PD-XYZ")  # fmt: skip
    for day in (12, 13):  # s01 travels: a hotel in GB, same laptop, nothing at home
        for k in range(0, 240, 20):
            log.add(_at(day, k), "s01", "http_visit", ip="81.2.2.2", country="GB",
                    device_id="L-s01")  # fmt: skip
    for day in range(10):  # s02 checks mail on their phone on the office Wi-Fi
        for k in range(30, 120, 10):
            log.add(_at(day, k), "s02", "email_send", ip="10.0.0.1", country="IE",
                    device_id="PH-s02")  # fmt: skip
    log.store(store, dict.fromkeys(staff, "moderator"))
    findings = _run(store)
    alerts = _by(findings, "credential_sharing")
    assert set(alerts) == {"s00"}
    alert = alerts["s00"]
    assert "IE+ID" in alert.reasons[1] and "PD-XYZ" in alert.reasons[1]
    assert alert.window_start.date() == (START + timedelta(days=3)).date()
    scores = _scores(findings)
    assert {d.day for (a, d) in scores if a == "s00"} == {5, 7}  # Feb 5 and Feb 7
    assert scores.get(("s02", (START + timedelta(days=1)).date()), 0.0) < 0.5


def test_a_device_used_by_two_accounts_links_them(store: EventStore) -> None:
    log = Log()
    staff = [f"s{i:02d}" for i in range(6)]
    _office(log, staff, range(5))
    for k in range(0, 120, 20):  # s05 works on s04's laptop one afternoon
        log.add(_at(3, 500 + k), "s05", "review_decision", ip="10.0.0.1", country="IE",
                device_id="L-s04")  # fmt: skip
    log.store(store, dict.fromkeys(staff, "moderator"))
    findings = _run(store)
    alerts = _by(findings, "credential_sharing")
    assert set(alerts) == {"s04", "s05"}
    assert "device L-s04 is also used by s05 (6 events)" in alerts["s04"].reasons
    # Evidence and days: only the day the device was shared.
    assert {d for (a, d) in _scores(findings) if a == "s04"} == {(START + timedelta(days=3)).date()}


def test_graphs_is_registered() -> None:
    assert "graphs" in registered()


def test_a_scheme_found_again_continues_its_stored_alert(store: EventStore) -> None:
    from custodes.detect.detectors.graphs.continuity import carry_over

    def alert(start: datetime, end: datetime, category: str = "paid_reversal") -> Alert:
        return Alert("pay", "graphs", category, Severity.high, 0.9, start, end, ("r",),
                     pattern="graphs:benefit_concentration")  # fmt: skip

    old = alert(datetime(2026, 1, 10), datetime(2026, 2, 1))
    store.execute(
        "INSERT INTO alerts (alert_id, actor_id, detector, category, severity, score, "
        "window_start, window_end, pattern) VALUES (?, 'pay', 'graphs', 'paid_reversal', "
        "'high', 0.9, ?, ?, 'graphs:benefit_concentration')",
        [old.alert_id, old.window_start, old.window_end],
    )
    # An incremental run sees the same scheme from later windows only.
    later = alert(datetime(2026, 1, 20), datetime(2026, 2, 10))
    apart = alert(datetime(2026, 3, 1), datetime(2026, 3, 5))
    other = alert(datetime(2026, 1, 20), datetime(2026, 2, 10), "malicious_enforcement")
    carried = carry_over(store, "graphs", [later, apart, other, later])
    assert carried[0].alert_id == old.alert_id
    assert (carried[0].window_start, carried[0].window_end) == (old.window_start, later.window_end)
    assert carried[1] == apart and carried[2] == other
    assert carried[3] == later  # one stored alert continues once


def test_an_empty_store_has_nothing_to_say(store: EventStore) -> None:
    findings = _run(store)
    assert findings.alerts == [] and findings.scores.num_rows == 0
