"""Analyst feedback: verdicts are kept, repeat false positives of one pattern are muted
(visibly, per actor, lifted by a true positive), calibration proposes and applies thresholds
that never lose a judged true positive, and every change is versioned and reversible."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from custodes.detect import calibration
from custodes.detect.alert import Alert, Severity
from custodes.detect.feedback import Verdict, apply_feedback, record_verdict, verdicts
from custodes.detect.results import load_alerts
from custodes.errors import InputError
from custodes.store.events import EventStore

DAY0 = datetime(2026, 3, 1)


def _alert(actor: str, day: int, score: float, pattern: str = "baselines:views") -> Alert:
    start = DAY0 + timedelta(days=day)
    return Alert(
        actor_id=actor,
        detector="baselines",
        category="unjustified_access",
        severity=Severity.medium,
        score=score,
        window_start=start,
        window_end=start + timedelta(days=1),
        reasons=(f"views on day {day}",),
        pattern=pattern,
    )


def _store_alerts(store: EventStore, alerts: list[Alert]) -> list[str]:
    for a in alerts:
        store.execute(
            "INSERT INTO alerts (alert_id, actor_id, detector, category, severity, score, "
            "window_start, window_end, reasons, evidence_event_ids, pattern, detect_run) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, [], ?, 1)",
            [
                a.alert_id,
                a.actor_id,
                a.detector,
                a.category,
                str(a.severity),
                a.score,
                a.window_start,
                a.window_end,
                list(a.reasons),
                a.pattern,
            ],
        )
    return [a.alert_id for a in alerts]


def _muted(store: EventStore) -> dict[str, str]:
    rows = store.fetch_all("SELECT alert_id, suppressed FROM alerts WHERE suppressed IS NOT NULL")
    return {r[0]: r[1] for r in rows}


def test_default_pattern_is_detector_and_category_and_not_part_of_the_id() -> None:
    a = _alert("m1", 0, 0.7, pattern="")
    b = _alert("m1", 0, 0.7, pattern="baselines:other")
    assert a.pattern == "baselines:unjustified_access"
    assert a.alert_id == b.alert_id


def test_verdicts_are_appended_and_the_latest_counts(store: EventStore) -> None:
    (alert,) = _store_alerts(store, [_alert("m1", 0, 0.7)])
    record_verdict(store, alert, Verdict.false_positive, "ticket in other system", "ana")
    record_verdict(store, alert, Verdict.true_positive, "no, the ticket was forged", "lead")
    history = verdicts(store, alert)
    assert [v.verdict for v in history] == [Verdict.true_positive, Verdict.false_positive]
    assert history[0].actor_id == "m1"
    assert history[0].pattern == "baselines:views"


@pytest.mark.parametrize(
    ("alert_id", "reason", "analyst", "field"),
    [
        ("a-missing", "r", "ana", "alert_id"),
        (None, " ", "ana", "reason"),
        (None, "r", "", "analyst"),
    ],
)
def test_bad_verdicts_are_refused_and_store_nothing(
    store: EventStore, alert_id: str | None, reason: str, analyst: str, field: str
) -> None:
    (alert,) = _store_alerts(store, [_alert("m1", 0, 0.7)])
    with pytest.raises(InputError) as err:
        record_verdict(store, alert_id or alert, Verdict.false_positive, reason, analyst)
    assert err.value.field == field
    assert store.fetch_value("SELECT count(*) FROM alert_verdicts") == 0


def test_two_false_positives_mute_later_alerts_of_that_pattern_for_that_actor(
    store: EventStore,
) -> None:
    ids = _store_alerts(
        store,
        [
            _alert("m1", 0, 0.7),
            _alert("m1", 1, 0.8),
            _alert("m1", 5, 0.9),  # later, same pattern: muted
            _alert("m1", 6, 0.9, pattern="baselines:exports"),  # other pattern: kept
            _alert("m2", 5, 0.9),  # other actor: kept
            _alert("m1", 200, 0.9),  # long after (past SUPPRESS_DAYS): kept
        ],
    )
    record_verdict(store, ids[0], Verdict.false_positive, "shift swap", "ana")
    assert _muted(store) == {}  # one false positive is not yet a pattern
    record_verdict(store, ids[1], Verdict.false_positive, "shift swap", "ana")
    muted = _muted(store)
    assert set(muted) == {ids[2]}
    assert "2 earlier alerts of pattern baselines:views" in muted[ids[2]]
    assert "by ana" in muted[ids[2]]
    # Risk and evaluation read only what is not muted; muted ones are still there on request.
    assert ids[2] not in {a.alert_id for a in load_alerts(store)}
    assert ids[2] in {a.alert_id for a in load_alerts(store, include_suppressed=True)}


def test_a_true_positive_lifts_the_muting(store: EventStore) -> None:
    ids = _store_alerts(store, [_alert("m1", 0, 0.7), _alert("m1", 1, 0.8), _alert("m1", 5, 0.9)])
    record_verdict(store, ids[0], Verdict.false_positive, "x", "ana")
    record_verdict(store, ids[1], Verdict.false_positive, "x", "ana")
    assert set(_muted(store)) == {ids[2]}
    record_verdict(store, ids[2], Verdict.true_positive, "confirmed in interview", "lead")
    assert _muted(store) == {}


def test_muting_survives_a_detection_rerun(store: EventStore) -> None:
    ids = _store_alerts(store, [_alert("m1", 0, 0.7), _alert("m1", 1, 0.8), _alert("m1", 5, 0.9)])
    record_verdict(store, ids[0], Verdict.false_positive, "x", "ana")
    record_verdict(store, ids[1], Verdict.false_positive, "x", "ana")
    store.execute("DELETE FROM alerts")  # a full re-run replaces every alert
    _store_alerts(store, [_alert("m1", 5, 0.9)])
    assert apply_feedback(store) == 1
    assert set(_muted(store)) == {ids[2]}


def _judge(store: EventStore, scores: list[tuple[float, Verdict]], pattern: str) -> list[str]:
    alerts = [_alert(f"m{i}", i, s, pattern) for i, (s, _) in enumerate(scores)]
    ids = _store_alerts(store, alerts)
    for alert_id, (_, verdict) in zip(ids, scores, strict=True):
        record_verdict(store, alert_id, verdict, "judged", "ana")
    return ids


TP, FP = Verdict.true_positive, Verdict.false_positive


def test_calibration_keeps_every_true_positive(store: EventStore) -> None:
    _judge(store, [(0.55, FP), (0.6, FP), (0.7, TP), (0.65, FP), (0.9, TP), (0.8, FP)], "p")
    (proposal,) = calibration.propose(store)
    assert proposal.pattern == "p"
    assert proposal.proposed == 0.7  # the lowest true positive
    assert proposal.false_positives_removed == 3  # 0.55, 0.6, 0.65; 0.8 stays
    assert (proposal.true_positives, proposal.false_positives) == (2, 4)


def test_calibration_needs_enough_verdicts(store: EventStore) -> None:
    _judge(store, [(0.55, FP), (0.6, FP), (0.7, TP), (0.9, TP)], "p")
    assert calibration.propose(store) == []


def test_a_pattern_with_only_false_positives_goes_just_above_the_highest(
    store: EventStore,
) -> None:
    _judge(store, [(0.5, FP), (0.6, FP), (0.55, FP), (0.52, FP), (0.58, FP)], "noisy")
    (proposal,) = calibration.propose(store)
    assert 0.6 < proposal.proposed < 0.6 + 1e-9


def test_proposing_changes_nothing_and_apply_mutes_with_version(store: EventStore) -> None:
    _judge(store, [(0.55, FP), (0.6, FP), (0.7, TP), (0.65, FP), (0.9, TP)], "p")
    (later,) = _store_alerts(store, [_alert("m9", 30, 0.6, "p")])
    proposals = calibration.propose(store)
    assert calibration.current_thresholds(store) == {}
    assert later not in _muted(store)
    with pytest.raises(InputError):
        calibration.apply(store, proposals, "lead", " ")  # a reason is required
    version = calibration.apply(store, proposals, "lead", "Q1 review of verdicts")
    assert version.version == 1
    assert calibration.current_thresholds(store) == {"p": 0.7}
    assert "calibration v1 by lead" in _muted(store)[later]


def test_revert_is_a_new_version_and_unmutes(store: EventStore) -> None:
    _judge(store, [(0.55, FP), (0.6, FP), (0.7, TP), (0.65, FP), (0.9, TP)], "p")
    (later,) = _store_alerts(store, [_alert("m9", 30, 0.6, "p")])
    calibration.apply(store, calibration.propose(store), "lead", "tighten")
    assert later in _muted(store)
    back = calibration.revert(store, 0, "lead", "too aggressive")
    assert back.version == 2
    assert calibration.current_thresholds(store) == {}
    assert later not in _muted(store)
    history = calibration.history(store)
    assert [(v.version, v.thresholds) for v in history] == [(1, {"p": 0.7}), (2, {})]
    with pytest.raises(InputError):
        calibration.revert(store, 7, "lead", "no such version")
