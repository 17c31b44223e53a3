"""Baselines on hand-built feature tables: unusual for the person AND their peers alerts;
a team-wide burst, a habitually heavy worker, or thin evidence does not."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest

from custodes.detect.detector import DetectContext
from custodes.detect.detectors.baselines import Z_ALERT, Baselines, Signal
from custodes.store.events import EventStore

SIGNAL = Signal("views", "unjustified_access", "private-data views", ("view_private_data",))
START = date(2026, 2, 1)
DAYS = 30


def _setup(store: EventStore, values: dict[str, list[float]], roles: dict[str, str]) -> None:
    actors, days, xs = [], [], []
    for actor, series in values.items():
        for i, x in enumerate(series):
            actors.append(actor)
            days.append(START + timedelta(days=i))
            xs.append(float(x))
    store.register(
        "f", pa.table({"actor_id": actors, "day": pa.array(days, pa.date32()), "views": xs})
    )
    store.execute("CREATE OR REPLACE TABLE features_actor_day AS SELECT * FROM f")
    store.unregister("f")
    for actor, role in roles.items():
        store.execute(
            "INSERT INTO people (actor_id, role, site, timezone) VALUES (?, ?, 'dublin', 'UTC')",
            [actor, role],
        )


def _run(store: EventStore) -> tuple[set[tuple[str, int]], dict[tuple[str, int], float]]:
    findings = Baselines((SIGNAL,)).run(DetectContext(store, datetime(2026, 3, 5)))
    alerts = {(a.actor_id, (a.window_start.date() - START).days) for a in findings.alerts}
    scores = {
        (r["actor_id"], (r["day"] - START).days): r["score"] for r in findings.scores.to_pylist()
    }
    return alerts, scores


def _flat(level: float, n: int = DAYS) -> list[float]:
    # A little day-to-day variation so the IQR is not zero.
    return [level + (i % 3) for i in range(n)]


def test_spike_for_one_person_alerts_on_that_day_only(store: EventStore) -> None:
    team = {f"m{i}": _flat(2) for i in range(8)}
    spiky = _flat(2)
    spiky[20] = 40
    team["m0"] = spiky
    _setup(store, team, dict.fromkeys(team, "moderator"))
    alerts, scores = _run(store)
    assert alerts == {("m0", 20)}
    assert scores[("m0", 20)] > 0.5 > scores[("m1", 20)]


def test_team_wide_burst_is_normal_for_the_peers(store: EventStore) -> None:
    team = {f"m{i}": _flat(2) for i in range(8)}
    for series in team.values():
        series[20] = 40  # an incident day: everyone works the queue
    _setup(store, team, dict.fromkeys(team, "moderator"))
    alerts, _ = _run(store)
    assert alerts == set()


def test_habitually_heavy_worker_is_normal_for_themselves(store: EventStore) -> None:
    team = {f"m{i}": _flat(2) for i in range(8)}
    team["heavy"] = _flat(40)
    _setup(store, team, dict.fromkeys(team, "moderator"))
    alerts, _ = _run(store)
    assert alerts == set()


def test_peers_are_same_role_only(store: EventStore) -> None:
    # Investigators legitimately view much more than moderators at the same site.
    people = {f"m{i}": _flat(1) for i in range(6)} | {f"i{i}": _flat(30) for i in range(6)}
    roles = {a: ("investigator" if a.startswith("i") else "moderator") for a in people}
    _setup(store, people, roles)
    alerts, _ = _run(store)
    assert alerts == set()


def test_new_hire_is_judged_against_peers_and_thin_evidence_stays_quiet(
    store: EventStore,
) -> None:
    team = {f"m{i}": _flat(2) for i in range(8)}
    _setup(store, team, dict.fromkeys(team, "moderator"))
    # Hired on day 25: five active days, far too few for a history of their own.
    for i, x in enumerate([2, 3, 30, 2, 2]):
        store.execute(
            "INSERT INTO features_actor_day VALUES ('new', ?, ?)",
            [START + timedelta(days=25 + i), float(x)],
        )
    store.execute(
        "INSERT INTO people (actor_id, role, site, timezone, hire_date) "
        "VALUES ('new', 'moderator', 'dublin', 'UTC', ?)",
        [START + timedelta(days=25)],
    )
    alerts, _ = _run(store)
    assert alerts == {("new", 27)}
    # Two admins only: too few peers, and no history yet on day 3 -> no basis, no alert.
    store.execute("DELETE FROM features_actor_day")
    store.execute("DELETE FROM people")
    _setup(store, {"a": [1, 1, 50], "b": [1, 1, 1]}, {"a": "admin", "b": "admin"})
    alerts, _ = _run(store)
    assert alerts == set()


def test_alert_explains_itself_with_the_days_evidence(store: EventStore) -> None:
    team = {f"m{i}": _flat(2) for i in range(8)}
    team["m3"][15] = 25
    _setup(store, team, dict.fromkeys(team, "moderator"))
    day = START + timedelta(days=15)
    for n in range(3):
        store.execute(
            "INSERT INTO events (event_id, ts, actor_id, action) VALUES (?, ?, 'm3', ?)",
            [
                f"ev{n}",
                datetime.combine(day, datetime.min.time()) + timedelta(hours=9 + n),
                "view_private_data" if n < 2 else "login",
            ],
        )
    findings = Baselines((SIGNAL,)).run(DetectContext(store, datetime(2026, 3, 5)))
    [alert] = findings.alerts
    assert alert.category == "unjustified_access"
    assert alert.evidence_event_ids == ("ev0", "ev1")
    assert alert.reasons[0].startswith("private-data views: 25 (usually")
    assert alert.score > 0.5
    assert Z_ALERT > 0


def test_two_signals_of_one_family_on_one_day_make_one_alert(store: EventStore) -> None:
    team = {f"m{i}": _flat(2) for i in range(8)}
    team["m3"][15] = 25
    _setup(store, team, dict.fromkeys(team, "moderator"))
    store.execute("ALTER TABLE features_actor_day ADD COLUMN lookups DOUBLE")
    store.execute("UPDATE features_actor_day SET lookups = views / 2")
    day = START + timedelta(days=15)
    store.execute(
        "INSERT INTO events (event_id, ts, actor_id, action) VALUES ('ev0', ?, 'm3', ?)",
        [datetime.combine(day, datetime.min.time()) + timedelta(hours=9), "view_private_data"],
    )
    lookups = Signal("lookups", "unjustified_access", "lookups", ("view_private_data",))
    findings = Baselines((SIGNAL, lookups)).run(DetectContext(store, datetime(2026, 3, 5)))
    [alert] = findings.alerts
    assert [r.split(":")[0] for r in alert.reasons] == ["private-data views", "lookups"]
    assert alert.evidence_event_ids == ("ev0",)  # the same events behind both: listed once
    alone = Baselines((SIGNAL,)).run(DetectContext(store, datetime(2026, 3, 5)))
    assert alert.score > alone.alerts[0].score  # agreement within the family adds up


def test_every_signal_names_a_feature_and_a_scenario() -> None:
    from custodes.detect.detectors.baselines import SIGNALS
    from custodes.detect.features import FEATURE_COLUMNS
    from custodes.model.vocabulary import SCENARIOS

    assert {s.feature for s in SIGNALS} <= set(FEATURE_COLUMNS)
    assert {s.category for s in SIGNALS} == set(SCENARIOS)


def test_incremental_run_equals_the_full_run_on_its_days(store: EventStore) -> None:
    team = {f"m{i}": [float(2 + (i * d) % 5) for d in range(DAYS)] for i in range(8)}
    team["m0"][25] = 40
    _setup(store, team, dict.fromkeys(team, "moderator"))
    full = Baselines((SIGNAL,)).run(DetectContext(store, datetime(2026, 3, 5)))
    since = START + timedelta(days=20)
    part = Baselines((SIGNAL,)).run(DetectContext(store, datetime(2026, 3, 5), since))
    wanted = {
        (r["actor_id"], r["day"]): r["score"] for r in full.scores.to_pylist() if r["day"] >= since
    }
    got = {(r["actor_id"], r["day"]): r["score"] for r in part.scores.to_pylist()}
    assert got == pytest.approx(wanted)
    assert {a.alert_id for a in part.alerts} == {
        a.alert_id for a in full.alerts if a.window_start.date() >= since
    }
    assert part.alerts, "the spike on day 25 is found incrementally"
