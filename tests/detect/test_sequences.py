"""Sequences on hand-built histories: the full exfiltration chain outranks its parts, and the
honest look-alikes (a heavy exporter who resigns, a leaver's small personal e-mails,
break-glass admin access, a traveller's new country) stay quiet."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pyarrow as pa

from custodes.detect.alert import Alert
from custodes.detect.detector import DetectContext, Findings, registered
from custodes.detect.detectors.sequences import PATTERNS, Sequences
from custodes.store.events import EventStore

START = datetime(2026, 1, 5)
NOTICE = date(2026, 2, 9)
_COLUMNS = (
    "event_id", "ts", "actor_id", "action", "target_id", "outcome", "ip", "country",
    "device_id", "records", "bytes", "attrs",
)  # fmt: skip
_TYPES = {"ts": pa.timestamp("us"), "records": pa.int64(), "bytes": pa.int64()}


class Log:
    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(self, ts: datetime, actor: str, action: str, **cols: object) -> str:
        event_id = f"e{len(self.rows):06d}"
        self.rows.append(
            {"event_id": event_id, "ts": ts, "actor_id": actor, "action": action, **cols}
        )
        return event_id

    def store(self, store: EventStore) -> None:
        columns = {}
        for name in _COLUMNS:
            values = [r.get(name) for r in self.rows]
            if name == "attrs":
                values = [None if v is None else json.dumps(v) for v in values]
            columns[name] = pa.array(values, _TYPES.get(name, pa.string()))
        store.register("log", pa.table(columns))
        store.execute(
            f"INSERT INTO events ({', '.join(_COLUMNS)}) "
            "SELECT * REPLACE (CAST(attrs AS JSON) AS attrs) FROM log"
        )
        store.unregister("log")


def _person(store: EventStore, actor: str, role: str, notice: date | None = None) -> None:
    store.execute(
        "INSERT INTO people (actor_id, role, team, site, timezone, notice_date) "
        "VALUES (?, ?, ?, 'dublin', 'UTC', ?)",
        [actor, role, f"{role}-team", notice],
    )


def _day(n: int, hour: float = 10.0) -> datetime:
    return START + timedelta(days=n, hours=hour)


def _run(store: EventStore, as_of: datetime, since: date | None = None) -> Findings:
    return Sequences().run(DetectContext(store, as_of, since))


def _alerts(findings: Findings) -> dict[str, Alert]:
    return {a.actor_id: a for a in findings.alerts}


AS_OF = datetime(2026, 2, 25)
BULK_DAY = 38  # Feb 12, three days after notice


def _exports(log: Log, actor: str, records: int, days: range) -> None:
    for n in days:
        log.add(_day(n), actor, "export_data", target_id="reports", records=records + 100 * (n % 5))


def _exfiltration_world(store: EventStore, log: Log) -> None:
    """Engineers exporting ~5k records a day for a month; then ``leaver`` exports 40 times
    that after notice and copies 2 GB to a USB stick, ``partial`` only exports, ``nonotice``
    exports and copies without having resigned, ``heavy`` keeps exporting their usual 50k
    after notice, ``mailer`` resigns and sends small mails to gmail."""
    for actor, notice in (
        ("leaver", NOTICE), ("partial", NOTICE), ("nonotice", None), ("heavy", NOTICE),
        ("mailer", NOTICE),
    ):  # fmt: skip
        _person(store, actor, "engineer", notice)
    for actor in ("leaver", "partial", "nonotice", "mailer"):
        _exports(log, actor, 5_000, range(0, 35))
    _exports(log, "heavy", 50_000, range(0, 45))
    for actor in ("leaver", "partial", "nonotice"):
        log.add(_day(BULK_DAY), actor, "export_data", target_id="user_reports", records=200_000)
    for actor in ("leaver", "nonotice"):
        log.add(_day(BULK_DAY + 1, 17), actor, "copy_to_removable", target_id="USB-1",
                bytes=2_000_000_000)  # fmt: skip
    for n in range(36, 44):
        log.add(_day(n, 12), "mailer", "email_send", bytes=50_000,
                attrs={"external": True, "recipient_domain": "gmail.com"})  # fmt: skip


def test_full_exfiltration_chain_outranks_its_parts(store: EventStore) -> None:
    log = Log()
    _exfiltration_world(store, log)
    log.store(store)
    findings = _run(store, AS_OF)
    alerts = _alerts(findings)
    assert set(alerts) == {"leaver", "partial", "nonotice"}
    full, partial, nonotice = alerts["leaver"], alerts["partial"], alerts["nonotice"]
    assert all(a.category == "data_exfiltration" for a in alerts.values())
    assert full.pattern == "sequences:exfiltration"
    assert full.score > nonotice.score > 0.5
    assert full.score > partial.score > 0.5
    assert full.reasons[0].startswith(
        "exfiltration: gave notice -> bulk export or download -> removable copy, personal "
        "cloud upload or personal e-mail within 5 days (3 of 3 steps"
    )
    assert full.reasons[1] == "2026-02-09: gave notice"
    assert full.reasons[2] == (
        "2026-02-12 10:00 UTC: export_data, 200k unticketed records exported that day "
        "(37x the norm; their busy days: 5.4k)"
    )
    assert full.reasons[3].startswith("2026-02-13 17:00 UTC: copy_to_removable, 2G bytes")
    assert "(2 of 3 steps" in partial.reasons[0]
    # Window: notice to the last step; evidence: the step events, not the notice.
    assert full.window_start == datetime(2026, 2, 9)
    assert full.window_end == _day(BULK_DAY + 1, 17) + timedelta(seconds=1)
    assert len(full.evidence_event_ids) == 2
    scores = {(r["actor_id"], r["day"]): r["score"] for r in findings.scores.to_pylist()}
    assert scores[("leaver", date(2026, 2, 13))] == full.score
    assert ("heavy", date(2026, 2, 12)) not in scores


def test_a_growing_chain_keeps_its_alert_id(store: EventStore) -> None:
    log = Log()
    _exfiltration_world(store, log)
    log.store(store)
    early = _alerts(_run(store, _day(BULK_DAY, 12)))["leaver"]
    late = _alerts(_run(store, AS_OF))["leaver"]
    assert "(2 of 3 steps" in early.reasons[0] and "(3 of 3 steps" in late.reasons[0]
    assert early.alert_id == late.alert_id
    assert early.score < late.score


def test_incremental_run_keeps_chains_that_reach_since(store: EventStore) -> None:
    log = Log()
    _exfiltration_world(store, log)
    log.store(store)
    # `since` between the bulk export and the USB copy: the chain is still found whole.
    findings = _run(store, AS_OF, date(2026, 2, 13))
    assert set(_alerts(findings)) == {"leaver", "nonotice"}
    assert "(3 of 3 steps" in _alerts(findings)["leaver"].reasons[0]
    assert min(r["day"] for r in findings.scores.to_pylist()) >= date(2026, 2, 13)
    # After everything: nothing new to say.
    assert _run(store, AS_OF, date(2026, 2, 20)).alerts == []


def test_findings_are_deterministic(store: EventStore) -> None:
    log = Log()
    _exfiltration_world(store, log)
    log.store(store)
    first, second = _run(store, AS_OF), _run(store, AS_OF)
    assert first.alerts == second.alerts
    assert first.scores.equals(second.scores)


def test_self_grant_then_admin_tools_then_audit_change(store: EventStore) -> None:
    log = Log()
    _person(store, "abuser", "engineer")
    _person(store, "half", "engineer")
    _person(store, "glass", "admin")
    _person(store, "admin2", "admin")
    for n in range(0, 30):  # admins' daily work; now and then an engineer's pipeline rerun
        for actor in ("glass", "admin2"):
            for k in range(4):
                log.add(_day(n, 9 + k), actor, "admin_action", attrs={"tool": "reset_mfa"})
        if n % 3 == 0:
            log.add(_day(n, 15), f"eng{n % 2}", "admin_action", attrs={"tool": "rerun_job"})
    _person(store, "eng0", "engineer")
    _person(store, "eng1", "engineer")
    day = 30
    for actor in ("abuser", "half"):
        log.add(_day(day, 10), actor, "role_grant", target_id="admin_console:superuser",
                attrs={"grantee_id": actor})  # fmt: skip
        for k in range(3):
            log.add(_day(day, 11 + k / 4), actor, "admin_action", attrs={"tool": "bulk_ban"})
    log.add(_day(day, 13), "abuser", "audit_setting_change", target_id="audit:iam")
    # Break-glass: the on-call admin grants themself superuser for the night, then drops it.
    log.add(_day(day, 2), "glass", "role_grant", target_id="admin_console:superuser",
            attrs={"grantee_id": "glass"})  # fmt: skip
    for k in range(12):  # paged: a burst of night work, three times a normal day
        log.add(_day(day, 2.5 + k / 10), "glass", "admin_action", attrs={"tool": "restart"})
    log.add(_day(day, 7), "glass", "role_revoke", target_id="admin_console:superuser",
            attrs={"grantee_id": "glass"})  # fmt: skip
    # Routine: an admin grants someone else a role, then works.
    log.add(_day(day, 8), "admin2", "role_grant", target_id="review_tool:qa",
            attrs={"grantee_id": "half"})  # fmt: skip
    log.store(store)
    alerts = _alerts(_run(store, _day(day + 1)))
    assert set(alerts) == {"abuser", "half"}
    abuser, half = alerts["abuser"], alerts["half"]
    assert abuser.category == "privilege_abuse"
    assert "(3 of 3 steps" in abuser.reasons[0] and "(2 of 3 steps" in half.reasons[0]
    assert abuser.score > half.score
    assert "3 admin actions that day" in abuser.reasons[2]


def test_new_device_then_private_data_within_the_hour(store: EventStore) -> None:
    log = Log()
    for actor in ("taken", "traveller", "newbie"):
        _person(store, actor, "investigator")
    for n in range(0, 30):
        for actor in ("taken", "traveller"):
            log.add(_day(n, 9), actor, "login", ip="10.0.0.1", country="IE", device_id=f"L-{actor}")
            for k in range(4):
                log.add(_day(n, 10 + k), actor, "view_private_data", target_id=f"a{k}",
                        records=1, device_id=f"L-{actor}")  # fmt: skip
    day = 30
    log.add(_day(day, 20), "taken", "login", ip="200.1.1.1", country="BR", device_id="PD-9")
    for k in range(60):
        log.add(_day(day, 20 + k / 120), "taken", "view_private_data", target_id=f"v{k}",
                records=1, device_id="PD-9")  # fmt: skip
    log.add(
        _day(day, 9), "traveller", "login", ip="81.2.2.2", country="GB", device_id="L-traveller"
    )
    for k in range(4):
        log.add(_day(day, 9.5 + k / 10), "traveller", "view_private_data", target_id=f"t{k}",
                records=1, device_id="L-traveller")  # fmt: skip
    log.add(_day(day, 9), "newbie", "login", ip="10.0.0.1", country="IE", device_id="L-new")
    for k in range(20):
        log.add(_day(day, 9.5), "newbie", "view_private_data", target_id=f"n{k}", records=1)
    log.store(store)
    findings = _run(store, _day(day + 1))
    alerts = _alerts(findings)
    assert set(alerts) == {"taken"}
    taken = alerts["taken"]
    assert taken.category == "credential_sharing"
    assert taken.pattern == "sequences:new_place_private_data"
    assert taken.reasons[2] == (
        "2026-02-04 20:00 UTC: view_private_data, 60 private-data views that day "
        "(12x the norm; usually under 5)"
    )
    scores = {(r["actor_id"], r["day"]): r["score"] for r in findings.scores.to_pylist()}
    assert 0 < scores[("traveller", (START + timedelta(days=day)).date())] < 0.5


def test_patterns_are_small_typed_data() -> None:
    from custodes.model.vocabulary import SCENARIOS

    assert "sequences" in registered()
    for pattern in PATTERNS:
        assert pattern.category in SCENARIOS
        assert 0 <= pattern.anchor < len(pattern.steps)
        assert 2 <= pattern.min_steps <= len(pattern.steps)


def test_an_empty_store_has_nothing_to_say(store: EventStore) -> None:
    findings = _run(store, AS_OF)
    assert findings.alerts == [] and findings.scores.num_rows == 0
