"""Access and movement features on hand-built days: ticket-checked look-ups, high-profile
and conflict-of-interest accounts, data leaving the company, privilege use, and where an
account is used from. Ends with invariants on a small simulated organisation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from custodes.detect.features import FEATURES, TABLE, Kind, build_features
from custodes.ingest import ingest_sources, source_for
from custodes.model.schema import INGESTIBLE
from custodes.simulate import SimulationConfig, open_sink, simulate
from custodes.store.events import EventStore
from tests.detect.test_features import Org, build

DAY = "2026-01-05"


def _tickets(org: Org) -> None:
    org.tickets += [
        {
            "ticket_id": "T1",
            "actor_id": "inv",
            "target_id": "a1",
            "opened_at": "2026-01-05T00:00:00Z",
            "closed_at": "2026-01-06T00:00:00Z",
        },
        {
            "ticket_id": "T2",
            "actor_id": "other",
            "target_id": "a2",
            "opened_at": "2026-01-05T00:00:00Z",
        },
        {
            "ticket_id": "T3",
            "actor_id": "inv",
            "target_id": "a3",
            "opened_at": "2026-01-04T00:00:00Z",
            "closed_at": "2026-01-05T08:00:00Z",
        },
        {
            "ticket_id": "T4",
            "actor_id": "inv",
            "target_id": "a4",
            "opened_at": "2026-01-05T12:00:00Z",
        },
    ]
    org.accounts += [
        {"account_id": "a1", "high_profile": True},
        {"account_id": "a2", "high_profile": True},
        {"account_id": "a3", "high_profile": False},
        {"account_id": "a5", "conflict_actor_ids": "inv;someone"},
        {"account_id": "a6", "conflict_actor_ids": "someone"},
    ]


def test_private_views_are_justified_only_by_an_open_matching_ticket_of_ones_own(
    store: EventStore, tmp_path: Path
) -> None:
    org = Org()
    _tickets(org)
    views = [
        ("a1", "T1"),  # justified: own ticket, that account, open
        ("a2", "T2"),  # somebody else's ticket
        ("a3", "T3"),  # closed at 08:00
        ("a4", "T4"),  # not open until 12:00
        ("a1", None),  # no ticket at all
        ("a5", "T1"),  # own open ticket, but about another account
        ("a1", "T-gone"),  # a ticket id the tickets table does not know
    ]
    for i, (target, ticket) in enumerate(views):
        extra = {"ticket_id": ticket} if ticket else {}
        org.event(
            f"{DAY}T10:0{i}:00Z",
            "inv",
            "view_private_data",
            target_type="account",
            target_id=target,
            **extra,
        )
    org.event(f"{DAY}T11:00:00Z", "inv", "view_profile", target_id="a2")
    org.event(f"{DAY}T11:01:00Z", "inv", "view_profile", target_id="a5")
    org.event(f"{DAY}T11:02:00Z", "inv", "view_profile", target_id="a6")  # someone else's conflict
    org.event(f"{DAY}T11:03:00Z", "inv", "search_accounts", target_id="a1")
    org.event(f"{DAY}T11:04:00Z", "inv", "search_accounts")
    org.event(f"{DAY}T11:05:00Z", "honest", "view_private_data", target_id="a3")
    got = build(store, org, tmp_path)
    row = got[("inv", DAY)]
    assert row["private_views"] == 7
    assert row["private_views_unticketed"] == 6
    # Unticketed and sensitive: a2 (high profile), a1 twice (high profile), a5 (conflict).
    assert row["private_views_unticketed_sensitive"] == 4
    # High profile: private views of a1 x3 and a2, a profile of a2, a search for a1.
    assert row["lookups_high_profile"] == 6
    assert row["lookups_conflict"] == 2
    assert got[("honest", DAY)]["lookups_conflict"] == 0
    assert got[("honest", DAY)]["private_views_unticketed_sensitive"] == 0


def test_exports_need_an_open_ticket_of_ones_own(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    _tickets(org)
    org.event(f"{DAY}T10:00:00Z", "inv", "export_data", ticket_id="T1", records=100, bytes=1)
    org.event(f"{DAY}T10:01:00Z", "inv", "export_data", records=20_000, bytes=1)
    org.event(f"{DAY}T10:02:00Z", "inv", "export_data", ticket_id="T2", records=5, bytes=1)
    row = build(store, org, tmp_path)[("inv", DAY)]
    assert (row["exports"], row["export_records"], row["exports_unticketed"]) == (3, 20_105, 2)


def test_data_movement_channels(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    org.event(f"{DAY}T10:00:00Z", "e", "download_file", bytes=100)
    org.event(f"{DAY}T10:01:00Z", "e", "download_file", bytes=200)
    org.event(f"{DAY}T10:02:00Z", "e", "print", records=3)
    org.event(f"{DAY}T10:03:00Z", "e", "copy_to_removable", bytes=1000)
    mails = [
        ({"external": True, "recipient_domain": "Gmail.com"}, 50),
        ({"external": True, "recipient_domain": "partner-bpo.com"}, 60),
        ({"external": False, "recipient_domain": "corp.example"}, 1),
        ({"external": True, "recipient_domain": "www.outlook.com"}, 70),
    ]
    for i, (attrs, size) in enumerate(mails):
        org.event(f"{DAY}T11:0{i}:00Z", "e", "email_send", attrs=attrs, bytes=size)
    for i, (domain, size) in enumerate(
        (("dropbox.com", 10), ("custodes.box.com", 20), ("WWW.Mega.nz", 30))
    ):
        org.event(
            f"{DAY}T12:0{i}:00Z", "e", "upload_external", attrs={"url_domain": domain}, bytes=size
        )
    row = build(store, org, tmp_path)[("e", DAY)]
    assert (row["downloads"], row["download_bytes"], row["prints"]) == (2, 300, 1)
    assert (row["removable_copies"], row["removable_bytes"]) == (1, 1000)
    assert (row["emails_external"], row["emails_personal"], row["email_personal_bytes"]) == (
        3,
        2,
        120,
    )
    assert (row["uploads_external"], row["upload_bytes"], row["uploads_personal_cloud"]) == (
        3,
        60,
        2,
    )


def test_privilege_use(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    org.event(
        f"{DAY}T10:00:00Z",
        "adm",
        "role_grant",
        target_id="iam:role_admin",
        attrs={"grantee_id": "adm"},
    )
    org.event(f"{DAY}T10:01:00Z", "adm", "role_grant", attrs={"grantee_id": "newbie"})
    org.event(f"{DAY}T10:02:00Z", "adm", "role_revoke", attrs={"grantee_id": "leaver"})
    org.event(f"{DAY}T10:03:00Z", "adm", "admin_action", outcome="success")
    org.event(f"{DAY}T10:04:00Z", "adm", "admin_action", outcome="success")
    org.event(f"{DAY}T10:05:00Z", "adm", "admin_action", outcome="failure")
    org.event(f"{DAY}T10:06:00Z", "adm", "config_change")
    org.event(
        f"{DAY}T10:07:00Z",
        "adm",
        "audit_setting_change",
        attrs={"setting": "logging_enabled", "value": False},
    )
    org.event(f"{DAY}T10:08:00Z", "newbie", "role_grant", attrs={"grantee_id": "adm"})
    got = build(store, org, tmp_path)
    row = got[("adm", DAY)]
    assert (row["role_grants"], row["self_grants"]) == (2, 1)
    assert (row["admin_actions"], row["admin_action_failures"]) == (3, 1)
    assert (row["config_changes"], row["audit_setting_changes"]) == (1, 1)
    assert row["events_privilege"] == 8
    assert got[("newbie", DAY)]["self_grants"] == 0


def _at(
    org: Org, ts: str, device: str, ip: str, country: str, action: str = "view_profile"
) -> None:
    org.event(ts, "s", action, device_id=device, ip=ip, country=country)


def test_sessions_overlaps_travel_and_novelty(store: EventStore, tmp_path: Path) -> None:
    org = Org()
    for hh in ("09", "10", "12"):
        _at(org, f"2026-01-05T{hh}:00:00Z", "D1", "1.1.1.1", "US")
    _at(org, "2026-01-05T08:59:00Z", "D1", "1.1.1.1", "US", "login")
    _at(org, "2026-01-05T08:58:00Z", "D1", "1.1.1.1", "US", "login_failed")
    _at(org, "2026-01-05T08:57:00Z", "D1", "1.1.1.1", "US", "mfa_failed")
    # Day 2: a second device, address and country in the same hour as the usual ones.
    for hh in ("09", "10", "11", "12"):
        _at(org, f"2026-01-06T{hh}:00:00Z", "D1", "1.1.1.1", "US")
    _at(org, "2026-01-06T10:20:00Z", "D2", "2.2.2.2", "BR")
    _at(org, "2026-01-06T10:40:00Z", "D2", "2.2.2.2", "BR")
    # Day 3: both again, five hours apart: plausible travel, nothing new.
    _at(org, "2026-01-07T09:00:00Z", "D2", "2.2.2.2", "BR")
    _at(org, "2026-01-07T14:00:00Z", "D1", "1.1.1.1", "US")
    # Day 4: 1 h 50 min apart across two clock hours: too fast.
    _at(org, "2026-01-08T09:50:00Z", "D1", "1.1.1.1", "US")
    _at(org, "2026-01-08T11:40:00Z", "D1", "3.3.3.3", "PT")
    got = build(store, org, tmp_path)
    day = {d: got[("s", f"2026-01-0{d}")] for d in (5, 6, 7, 8)}
    assert (day[5]["logins"], day[5]["auth_failures"]) == (1, 2)
    keys = (
        "distinct_devices",
        "distinct_ips",
        "distinct_countries",
        "concurrent_device_hours",
        "concurrent_ip_hours",
        "fast_country_switches",
        "new_devices",
        "new_countries",
        "days_since_first_seen",
    )
    assert [day[5][k] for k in keys] == [1, 1, 1, 0, 0, 0, 1, 1, 0]
    assert [day[6][k] for k in keys] == [2, 2, 2, 1, 1, 1, 1, 1, 1]
    assert [day[7][k] for k in keys] == [2, 2, 2, 0, 0, 0, 0, 0, 2]
    assert [day[8][k] for k in keys] == [1, 2, 2, 0, 0, 1, 0, 1, 3]


def test_novelty_compares_with_history_before_an_incremental_window(
    store: EventStore, tmp_path: Path
) -> None:
    org = Org()
    _at(org, "2026-01-05T10:00:00Z", "D1", "1.1.1.1", "US")
    _at(org, "2026-01-06T10:00:00Z", "D1", "1.1.1.1", "US")
    _at(org, "2026-01-06T10:30:00Z", "D3", "1.1.1.1", "US")
    org.load(store, tmp_path)
    build_features(store, since=dt.date(2026, 1, 6))
    row = store.fetch_one(
        f"SELECT new_devices, new_countries FROM {TABLE} "
        "WHERE actor_id = 's' AND day = DATE '2026-01-06'"
    )
    assert row == (1, 0)  # D3 is new; D1 and US were seen the day before the window


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    """A small simulated organisation, ingested and featurised once for this module."""
    root = tmp_path_factory.mktemp("sim")
    sink = open_sink("parquet", root / "files")
    try:
        simulate(SimulationConfig(staff=120, days=10, seed=11), sink, lambda done, total: None)
    finally:
        sink.close()
    store = EventStore.open(root / "store")
    for name in ("people", "accounts", "tickets", "events"):
        ingest_sources(store, [source_for(root / "files" / f"{name}.parquet", INGESTIBLE[name])])
    build_features(store)
    return store


def test_simulated_features_are_well_formed(simulated: EventStore) -> None:
    store = simulated
    n_days = store.fetch_value(
        "SELECT count(*) FROM (SELECT DISTINCT actor_id, day FROM features_actor_day)"
    )
    assert store.fetch_value(f"SELECT count(*) FROM {TABLE}") == n_days > 500
    for f in FEATURES:
        low, high, nans = store.fetch_one(
            f"SELECT min({f.name}), max({f.name}), count(*) FILTER (WHERE isnan({f.name})) "
            f"FROM {TABLE}"
        ) or (None, None, None)
        assert nans == 0, f.name
        if f.kind is Kind.SHARE and low is not None:
            assert 0.0 <= low <= high <= 1.0, f.name
        elif low is not None:
            assert low >= 0, f.name
    # Every verdict lands once on each side: given by its judge, received by the judged.
    sums = store.fetch_one(
        f"SELECT sum(qa_reviews_given), sum(qa_received), sum(qa_disagreements_given), "
        f"sum(qa_disagreements_received), sum(appeal_overturns_made), "
        f"sum(appeal_overturns_received) FROM {TABLE}"
    )
    assert sums is not None and sums[0] == sums[1] > 0 and sums[2] == sums[3]
    assert sums[4] == sums[5]
    events = store.fetch_value("SELECT count(*) FROM events")
    assert store.fetch_value(f"SELECT sum(events_total) FROM {TABLE}") == events
