"""The integrity overview on a real event store: the same ranking as `custodes risk`, open
alerts (not muted, not judged) by category and severity, alerts per week."""

from __future__ import annotations

from pathlib import Path

from custodes.detect.feedback import Verdict, record_verdict
from custodes.detect.results import contexts, last_event_time, load_alerts
from custodes.risk import Level, score_actors
from custodes.risk.overview import integrity_overview
from custodes.store.events import EventStore
from tests.web.world import ACTORS, add_alert, add_events, add_people


def test_overview_of_a_store(tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_people(data)
    for day in range(10):
        add_events(data, ACTORS[0], day, count=1)
    first = add_alert(data, ACTORS[0], 0, score=0.9)
    add_alert(data, ACTORS[0], 8, score=0.6)
    judged = add_alert(data, ACTORS[1], 1, score=0.4)
    muted = add_alert(data, ACTORS[2], 2, score=0.99)
    with EventStore.open(data) as store:
        record_verdict(store, judged.alert_id, Verdict.true_positive, "seen it happen", "ana")
        store.execute("UPDATE alerts SET severity = 'low' WHERE alert_id = ?", [first.alert_id])
        store.execute("UPDATE alerts SET suppressed = 'muted' WHERE alert_id = ?", [muted.alert_id])

    with EventStore.open(data, read_only=True) as store:
        view = integrity_overview(store)
        as_of = last_event_time(store)
        assert as_of is not None
        expected = score_actors(load_alerts(store), contexts(store), as_of)

    assert view.as_of == as_of
    assert view.staff == len(ACTORS)
    assert [(r.actor_id, r.risk_score) for r in view.ranked] == [
        (r.actor_id, r.risk_score) for r in expected
    ]
    assert ACTORS[2] not in {r.actor_id for r in view.ranked}  # muted: no evidence
    assert sum(view.levels.values()) == 2 and set(view.levels) == set(Level)
    # The judged alert still counts towards risk, but is no longer open work; the muted
    # one is neither.
    assert {(c.category, c.severity): c.alerts for c in view.open_alerts} == {
        ("unjustified_access", "low"): 1,
        ("unjustified_access", "high"): 1,
    }
    assert view.open_total == 2
    weeks = {w.week.isoformat(): w.alerts for w in view.weekly_alerts}
    assert weeks == {"2026-03-02": 2, "2026-03-09": 1}  # DAY0 is a Monday


def test_no_store_yet_is_an_empty_overview() -> None:
    view = integrity_overview(None)
    assert view.ranked == () and view.open_total == 0 and view.staff == 0
