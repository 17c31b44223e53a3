"""Case outcomes flow back to detection as alert verdicts.

Closing a case substantiated makes its alerts true positives; unsubstantiated, false
positives (policy gaps and referrals say nothing about the alert). The verdict is set on the
case store's ``case_alerts`` at closing; this module copies the ones not yet synced into the
event store's ``alert_verdicts`` (where muting and calibration read them) and marks them
synced. The event store commits first, and re-importing is idempotent, so a crash between the
two commits only means the next sync repeats harmlessly.
"""

from __future__ import annotations

from sqlalchemy import and_, select, tuple_, update

from custodes.audit import append
from custodes.cases.events import naive_utc
from custodes.clock import utc_now_aware
from custodes.config import Settings
from custodes.detect.feedback import ImportedVerdict, Verdict, import_verdicts
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from custodes.store.schema import Case, CaseAlert


def sync_verdicts(cases: CaseStore, events: EventStore) -> int:
    """Copy unsynced case verdicts to detection feedback; returns how many alerts synced."""
    with cases.read() as session:
        rows = session.execute(
            select(CaseAlert, Case.outcome, Case.closed_at)
            .join(Case, Case.id == CaseAlert.case_id)
            .where(CaseAlert.verdict.is_not(None), CaseAlert.synced_at.is_(None))
            .order_by(CaseAlert.case_id, CaseAlert.alert_id)
        ).all()
        pending = [(a.case_id, a.alert_id) for a, _, _ in rows]
        records = [
            ImportedVerdict(
                alert_id=a.alert_id,
                verdict=Verdict(str(a.verdict)),
                reason=f"case {a.case_id} closed {outcome}",
                analyst=f"case-{a.case_id}",
                decided_at=naive_utc(closed or utc_now_aware()),
                actor_id=a.actor_id,
                pattern=a.pattern,
                score=a.score,
                window_end=naive_utc(a.window_end),
            )
            for a, outcome, closed in rows
        ]
    if not records:
        return 0
    import_verdicts(events, records)
    with cases.write() as session:
        session.execute(
            update(CaseAlert)
            .where(
                and_(
                    tuple_(CaseAlert.case_id, CaseAlert.alert_id).in_(pending),
                    CaseAlert.synced_at.is_(None),
                )
            )
            .values(synced_at=utc_now_aware())
        )
        append(
            session,
            actor="system",
            action="verdict.sync",
            target_type="detection",
            target_id="alert_verdicts",
            detail={
                "alerts": len(pending),
                "cases": sorted({case_id for case_id, _ in pending}),
            },
        )
    return len(pending)


def sync_if_present(settings: Settings, events: EventStore) -> int | None:
    """Sync when this installation has a case store (a configured database, or the SQLite
    file in the data dir); never creates one. None when there is none."""
    if not settings.has_case_store:
        return None
    with CaseStore.open(settings) as cases:
        return sync_verdicts(cases, events)
