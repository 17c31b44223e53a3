"""features_actor_day on hand-built organisations whose right answers are known by
construction: layout, volumes, local time (zones, DST, night shifts), employment, and
incremental rebuilds. The other feature groups are in test_features_*.py, which share the
builder defined here.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from custodes.detect.features import FEATURE_COLUMNS, FEATURES, TABLE, build_features
from custodes.ingest import ingest_sources, source_for
from custodes.model.schema import INGESTIBLE
from custodes.model.vocabulary import ACTION_FAMILIES
from custodes.store.events import EventStore

Row = dict[str, Any]


@dataclass
class Org:
    """A tiny organisation written to contract files and loaded through real ingest."""

    events: list[Row] = field(default_factory=list)
    people: list[Row] = field(default_factory=list)
    accounts: list[Row] = field(default_factory=list)
    tickets: list[Row] = field(default_factory=list)
    issued: int = 0  # event ids stay unique across loads

    def person(
        self,
        actor: str,
        tz: str | None = "UTC",
        shift: tuple[str, str] | None = ("09:00", "17:00"),
        **extra: Any,
    ) -> None:
        row: Row = {"actor_id": actor, "role": "moderator", "timezone": tz}
        if shift is not None:
            row["shift_start"], row["shift_end"] = shift
        self.people.append(row | extra)

    def event(self, ts: str, actor: str, action: str, **extra: Any) -> str:
        """Add an event at ``ts`` (UTC, ISO); returns its event_id."""
        self.issued += 1
        event_id = str(extra.pop("event_id", f"e{self.issued:05d}"))
        self.events.append(
            {"event_id": event_id, "ts": ts, "actor_id": actor, "action": action} | extra
        )
        return event_id

    def load(self, store: EventStore, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("people", "accounts", "tickets", "events"):
            rows: list[Row] = getattr(self, name)
            if not rows:
                continue
            path = folder / f"{name}-{len(list(folder.iterdir()))}.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
            report = ingest_sources(store, [source_for(path, INGESTIBLE[name])])
            assert not report.failed, report.failed
            setattr(self, name, [])
        assert store.fetch_value("SELECT count(*) FROM quarantine") == 0, store.fetch_all(
            "SELECT entity, field, reason FROM quarantine"
        )


def features(store: EventStore) -> dict[tuple[str, str], dict[str, Any]]:
    """The table as {(actor_id, 'YYYY-MM-DD'): {feature: value}}."""
    cols = ", ".join(FEATURE_COLUMNS)
    rows = store.fetch_all(f"SELECT actor_id, day, {cols} FROM {TABLE}")
    return {(r[0], r[1].isoformat()): dict(zip(FEATURE_COLUMNS, r[2:], strict=True)) for r in rows}


def build(store: EventStore, org: Org, folder: Path) -> dict[tuple[str, str], dict[str, Any]]:
    org.load(store, folder)
    build_features(store)
    return features(store)


# -- layout ------------------------------------------------------------------------------


def test_table_has_actor_day_and_every_catalogued_feature_in_order(
    store: EventStore, tmp_path: Path
) -> None:
    org = Org()
    org.event("2026-01-05T10:00:00Z", "u1", "login")
    org.load(store, tmp_path)
    assert build_features(store) == 1
    cols = store.columns(f"SELECT * FROM {TABLE}")
    assert [c for c, _ in cols] == ["actor_id", "day", *FEATURE_COLUMNS]
    types = dict(cols)
    assert types["day"] == "DATE"
    for f in FEATURES:
        assert types[f.name] == f.kind.sql_type, f.name
    assert len(set(FEATURE_COLUMNS)) == len(FEATURE_COLUMNS)
    assert 50 <= len(FEATURE_COLUMNS) <= 75
    assert all(f.meaning for f in FEATURES)


def test_empty_store_builds_an_empty_table(store: EventStore) -> None:
    assert build_features(store) == 0
    assert store.fetch_value(f"SELECT count(*) FROM {TABLE}") == 0


def test_counts_are_zero_and_undefined_shares_null_on_a_quiet_day(
    store: EventStore, tmp_path: Path
) -> None:
    org = Org()
    org.event("2026-01-05T10:00:00Z", "u1", "login")
    row = build(store, org, tmp_path)[("u1", "2026-01-05")]
    ones = {"events_total", "events_session", "logins"}
    for f in FEATURES:
        if f.kind.zero_default:
            assert row[f.name] == (1 if f.name in ones else 0), f.name
    for name in (
        "decision_ms_p50",
        "decision_gap_cv",
        "qa_disagree_share_received",
        "appeal_overturn_rate",
        "favourable_top_owner_share",
    ):
        assert row[name] is None, name


# -- volumes -------------------------------------------------------------------------------


def test_volumes_count_each_action_family_and_custom_actions(
    store: EventStore, tmp_path: Path
) -> None:
    org = Org()
    expected: dict[str, int] = {}
    minute = 0
    for family, actions in ACTION_FAMILIES.items():
        for action in actions:
            minute += 1
            org.event(f"2026-01-05T10:{minute:02d}:00Z", "u1", action)
        expected[family] = len(actions)
    org.event("2026-01-05T11:00:00Z", "u1", "x-badge_swipe")
    org.event("2026-01-05T11:01:00Z", "u1", "x-badge_swipe")
    org.event("2026-01-05T11:02:00Z", "u2", "login")
    got = build(store, org, tmp_path)
    row = got[("u1", "2026-01-05")]
    for family, n in expected.items():
        assert row[f"events_{family}"] == n, family
    assert row["events_custom"] == 2
    assert row["events_total"] == sum(expected.values()) + 2
    assert got[("u2", "2026-01-05")]["events_total"] == 1


# -- local time -------------------------------------------------------------------------------


def test_days_are_local_calendar_days_of_the_actors_zone(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    org.person("manila", tz="Asia/Manila")
    org.person("bogota", tz="America/Bogota")
    org.event("2026-01-05T23:30:00Z", "manila", "login")  # 07:30 on the 6th in Manila
    org.event("2026-01-06T03:00:00Z", "bogota", "login")  # 22:00 on the 5th in Bogotá
    org.event("2026-01-05T23:30:00Z", "stranger", "login")  # not in people: UTC
    got = build(store, org, tmp_path)
    assert set(got) == {
        ("manila", "2026-01-06"),
        ("bogota", "2026-01-05"),
        ("stranger", "2026-01-05"),
    }


def test_shift_crossing_midnight_with_grace(store: EventStore, tmp_path: Path) -> None:
    """Night shift 22:00-06:00 in Manila (UTC+8), one hour of grace either side."""
    org = Org()
    org.person("n", tz="Asia/Manila", shift=("22:00", "06:00"))
    local = {
        "2026-01-06T23:00": True,  # in the shift, first local day
        "2026-01-07T05:30": True,  # after midnight, still the shift
        "2026-01-07T06:45": True,  # grace after the end
        "2026-01-07T07:30": False,
        "2026-01-07T12:00": False,
        "2026-01-07T20:30": False,
        "2026-01-07T21:15": True,  # grace before the start
    }
    for when in local:
        utc = dt.datetime.fromisoformat(when) - dt.timedelta(hours=8)
        org.event(utc.isoformat() + "Z", "n", "view_profile")
    got = build(store, org, tmp_path)
    assert (
        got[("n", "2026-01-06")]["in_shift_events"],
        got[("n", "2026-01-06")]["after_hours_events"],
    ) == (1, 0)
    assert (
        got[("n", "2026-01-07")]["in_shift_events"],
        got[("n", "2026-01-07")]["after_hours_events"],
    ) == (3, 3)


def test_daylight_saving_change_moves_days_and_shift_edges(
    store: EventStore, tmp_path: Path
) -> None:
    """New York switches to UTC-4 at 07:00 UTC on Sunday 8 March 2026."""
    org = Org()
    org.person("ny", tz="America/New_York", shift=("09:00", "17:00"))
    org.event("2026-03-06T22:30:00Z", "ny", "login")  # Fri 17:30 EST: grace
    org.event("2026-03-06T23:30:00Z", "ny", "login")  # Fri 18:30 EST: after hours
    org.event("2026-03-08T04:30:00Z", "ny", "login")  # Sat 23:30 EST
    org.event("2026-03-09T04:30:00Z", "ny", "login")  # Mon 00:30 EDT (Sun 23:30 in EST)
    org.event("2026-03-09T21:30:00Z", "ny", "login")  # Mon 17:30 EDT: grace
    org.event("2026-03-09T22:30:00Z", "ny", "login")  # Mon 18:30 EDT (17:30 in EST)
    got = build(store, org, tmp_path)
    assert set(got) == {("ny", "2026-03-06"), ("ny", "2026-03-07"), ("ny", "2026-03-09")}
    assert got[("ny", "2026-03-06")]["in_shift_events"] == 1
    assert got[("ny", "2026-03-06")]["after_hours_events"] == 1
    assert got[("ny", "2026-03-09")]["in_shift_events"] == 1
    assert got[("ny", "2026-03-09")]["after_hours_events"] == 2  # 00:30 and 18:30
    assert got[("ny", "2026-03-07")]["weekend_events"] == 1
    assert got[("ny", "2026-03-09")]["weekend_events"] == 0


def test_without_a_shift_nothing_is_after_hours(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    org.person("free", shift=None)
    org.event("2026-01-05T03:00:00Z", "free", "login")
    org.event("2026-01-10T03:00:00Z", "free", "login")  # a Saturday
    got = build(store, org, tmp_path)
    assert got[("free", "2026-01-05")]["after_hours_events"] == 0
    assert got[("free", "2026-01-05")]["in_shift_events"] == 0
    assert got[("free", "2026-01-05")]["weekend_events"] == 0
    assert got[("free", "2026-01-10")]["weekend_events"] == 1


# -- employment -------------------------------------------------------------------------------


def test_activity_after_notice_and_after_end(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    org.person("leaver", notice_date="2026-01-07", end_date="2026-01-09")
    org.person("stayer")
    for day in ("06", "07", "09", "11"):
        org.event(f"2026-01-{day}T10:00:00Z", "leaver", "login")
        org.event(f"2026-01-{day}T10:00:00Z", "stayer", "login")
    got = build(store, org, tmp_path)
    seen = [
        tuple(
            got[("leaver", f"2026-01-{d}")][k]
            for k in ("after_notice", "days_since_notice", "after_end", "days_since_end")
        )
        for d in ("06", "07", "09", "11")
    ]
    assert seen == [(0, 0, 0, 0), (1, 0, 0, 0), (1, 2, 0, 0), (1, 4, 1, 2)]
    assert all(got[("stayer", f"2026-01-{d}")]["after_notice"] == 0 for d in ("06", "11"))


# -- incremental builds ---------------------------------------------------------------------


def _mixed_org() -> Org:
    """A bit of everything over five days, in two zones."""
    org = Org()
    org.person("m", tz="Asia/Manila")
    org.person("q", tz="America/Bogota", role="qa_analyst")
    org.accounts.append({"account_id": "a1", "high_profile": True})
    decisions: list[str] = []
    for day in range(5, 10):
        for i in range(8):
            decisions.append(
                org.event(
                    f"2026-01-{day:02d}T{2 + i // 4:02d}:{(i * 7) % 60:02d}:{i:02d}Z",
                    "m",
                    "review_decision",
                    outcome="approve" if i % 3 else "remove",
                    duration_ms=1000 * (i + 2),
                    attrs={"suggested_label": "approve", "owner_account_id": f"a{i % 2}"},
                    device_id=f"d{day % 3}",
                    ip="10.0.0.1",
                    country="PH",
                )
            )
        org.event(
            f"2026-01-{day:02d}T15:00:00Z",
            "q",
            "qa_review",
            target_id=decisions[-3],
            outcome="agree" if day % 2 else "disagree",
            device_id="dq",
            country="CO",
        )
        org.event(f"2026-01-{day:02d}T03:00:00Z", "m", "view_private_data", target_id="a1")
    return org


def test_rebuild_since_a_day_equals_a_full_build(store: EventStore, tmp_path: Path) -> None:
    org = _mixed_org()
    full = build(store, org, tmp_path)
    since = dt.date(2026, 1, 7)
    written = build_features(store, since)
    assert written == sum(1 for (_, day) in full if day >= since.isoformat())
    assert features(store) == full


def test_appended_days_rebuilt_since_match_a_fresh_full_build(
    store: EventStore, tmp_path: Path
) -> None:
    org = _mixed_org()
    late = [e for e in org.events if e["ts"] >= "2026-01-08"]
    org.events = [e for e in org.events if e["ts"] < "2026-01-08"]
    org.load(store, tmp_path)
    build_features(store)
    org.events = late
    org.load(store, tmp_path)
    build_features(store, dt.date(2026, 1, 7))
    incremental = features(store)
    build_features(store)
    assert incremental == features(store)
    assert ("m", "2026-01-09") in incremental


def test_a_table_from_another_feature_set_is_rebuilt_in_full(
    store: EventStore, tmp_path: Path
) -> None:
    org = _mixed_org()
    org.load(store, tmp_path)
    store.execute(f"CREATE TABLE {TABLE} (actor_id VARCHAR, day DATE, old_feature DOUBLE)")
    written = build_features(store, dt.date(2026, 1, 9))
    assert written == store.fetch_value(f"SELECT count(*) FROM {TABLE}")
    assert written > 2
    assert [c for c, _ in store.columns(f"SELECT * FROM {TABLE}")][2:] == list(FEATURE_COLUMNS)


def test_a_failed_build_leaves_the_previous_table(
    store: EventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = _mixed_org()
    before = build(store, org, tmp_path)
    from custodes.detect.features import build as build_module

    def broken(source: dict[str, str]) -> str:  # runs after the old rows were deleted
        return f"INSERT INTO {TABLE} (actor_id) SELECT no_such_column FROM fx_activity"

    monkeypatch.setattr(build_module, "_insert_sql", broken)
    with pytest.raises(Exception, match="no_such_column"):
        build_features(store)
    assert features(store) == before
