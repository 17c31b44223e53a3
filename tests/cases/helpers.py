"""Small real worlds for case tests: users in the case store, events and alerts in DuckDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from custodes.access.principal import Principal
from custodes.access.roles import Role
from custodes.detect.alert import Alert, Severity
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from custodes.store.schema import User

DAY0 = datetime(2026, 3, 2)


def add_user(cases: CaseStore, username: str, role: Role) -> Principal:
    with cases.write() as session:
        user = User(username=username, role=role.value, created_at=datetime.now(UTC))
        session.add(user)
        session.flush()
        return Principal(user.id, username, role)


def team(cases: CaseStore) -> dict[str, Principal]:
    return {
        "admin": add_user(cases, "root", Role.admin),
        "lead": add_user(cases, "lena", Role.lead),
        "ana": add_user(cases, "ana", Role.investigator),
        "ivo": add_user(cases, "ivo", Role.investigator),
        "aud": add_user(cases, "audrey", Role.auditor),
        "tri": add_user(cases, "tom", Role.triage_analyst),
    }


def add_events(store: EventStore, actor: str, day: int, actions: list[str]) -> list[str]:
    """One event per action, an hour apart on DAY0 + day; returns their ids."""
    ids = []
    for i, action in enumerate(actions):
        event_id = f"e-{actor}-{day}-{i}"
        store.execute(
            "INSERT INTO events (event_id, ts, actor_id, action, target_type, target_id) "
            "VALUES (?, ?, ?, ?, 'account', ?)",
            [event_id, DAY0 + timedelta(days=day, hours=i + 1), actor, action, f"acct-{i}"],
        )
        ids.append(event_id)
    return ids


def add_alert(
    store: EventStore,
    actor: str,
    day: int,
    *,
    category: str = "unjustified_access",
    detector: str = "baselines",
    score: float = 0.8,
    evidence: list[str] | None = None,
    severity: Severity = Severity.high,
) -> Alert:
    start = DAY0 + timedelta(days=day)
    alert = Alert(
        actor_id=actor,
        detector=detector,
        category=category,
        severity=severity,
        score=score,
        window_start=start,
        window_end=start + timedelta(days=1),
        reasons=(f"{actor} viewed 40 private profiles without a ticket",),
        evidence_event_ids=tuple(evidence or ()),
    )
    store.execute(
        "INSERT INTO alerts (alert_id, actor_id, detector, category, severity, score, "
        "window_start, window_end, reasons, evidence_event_ids, pattern, detect_run) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
        [
            alert.alert_id,
            alert.actor_id,
            alert.detector,
            alert.category,
            str(alert.severity),
            alert.score,
            alert.window_start,
            alert.window_end,
            list(alert.reasons),
            list(alert.evidence_event_ids),
            alert.pattern,
        ],
    )
    return alert


def audit_actions(cases: CaseStore) -> list[tuple[str, str, str]]:
    """(actor, action, target_id) of every audit row, in order."""
    import sqlalchemy as sa

    from custodes.store.schema import AuditEntry

    with cases.read() as session:
        rows = session.execute(
            sa.select(AuditEntry.actor, AuditEntry.action, AuditEntry.target_id).order_by(
                AuditEntry.seq
            )
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]
