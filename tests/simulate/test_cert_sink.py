"""CertSink writes the CERT r6.2 layout, and the CERT reader reads it back."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from custodes.ingest.cert import cert_sources
from custodes.ingest.pipeline import ingest_sources
from custodes.model.arrow import arrow_schema
from custodes.simulate.cert import CertSink
from custodes.simulate.sink import Sink
from custodes.store.events import EventStore
from tests.ingest.cert_fixtures import HEADERS, INSIDERS_HEADER

T0 = datetime(2010, 1, 4, 7, 30, 0)

# Every action with a CERT counterpart, and what file it must land in.
MAPPED = {
    "login": "logon",
    "logout": "logon",
    "device_connect": "device",
    "device_disconnect": "device",
    "copy_to_removable": "file",
    "x-file_open": "file",
    "x-file_write": "file",
    "x-file_copy": "file",
    "x-file_delete": "file",
    "email_send": "email",
    "x-email_view": "email",
    "http_visit": "http",
    "upload_external": "http",
    "x-web_download": "http",
}
UNMAPPED = ("review_decision", "login_failed", "view_private_data", "x-something_else")


def _event(i: int, action: str, **rest: Any) -> dict[str, Any]:
    return {
        "event_id": f"e{i}",
        "ts": T0 + timedelta(minutes=37 * i, seconds=i % 60),
        "actor_id": f"u{i % 3}",
        "action": action,
        "device_id": f"PC-{i % 4}",
        **rest,
    }


def _sink_events(out: Path, events: list[dict[str, Any]], batch: int = 5) -> CertSink:
    sink = CertSink(out)
    for start in range(0, len(events), batch):
        sink.write_events(
            pa.RecordBatch.from_pylist(events[start : start + batch], schema=arrow_schema("events"))
        )
    return sink


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def test_round_trip_keeps_time_actor_action_and_device(tmp_path: Path) -> None:
    actions = [*MAPPED, *UNMAPPED] * 3
    events = [_event(i, a) for i, a in enumerate(actions)]
    out = tmp_path / "cert"
    _sink_events(out, events, batch=7).close()
    with EventStore.open(tmp_path / "data") as store:
        report = ingest_sources(store, cert_sources(out))
        assert not report.failed
        assert report.total("quarantined") == 0
        got = set(store.fetch_all("SELECT ts, actor_id, action, device_id FROM events"))
    want = {
        (e["ts"], e["actor_id"], e["action"], e["device_id"])
        for e in events
        if e["action"] in MAPPED
    }
    assert got == want
    assert len(want) == 3 * len(MAPPED)


def test_each_action_lands_in_its_cert_file_with_r62_headers(tmp_path: Path) -> None:
    events = [_event(i, a) for i, a in enumerate([*MAPPED, *UNMAPPED])]
    out = tmp_path / "cert"
    _sink_events(out, events).close()
    for stem in ("logon", "device", "file", "email", "http"):
        assert _header(out / f"{stem}.csv") == list(HEADERS["r6.2"][stem])
        ids = {r["id"] for r in _read(out / f"{stem}.csv")}
        assert ids == {f"e{i}" for i, a in enumerate(MAPPED) if MAPPED[a] == stem}
    logon = {r["id"]: r for r in _read(out / "logon.csv")}
    assert logon["e0"] == {
        "id": "e0",
        "date": "01/04/2010 07:30:00",
        "user": "u0",
        "pc": "PC-0",
        "activity": "Logon",
    }
    assert logon["e1"]["activity"] == "Logoff"
    assert logon["e1"]["date"] == "01/04/2010 08:07:01"


def test_files_exist_with_headers_even_without_events(tmp_path: Path) -> None:
    out = tmp_path / "cert"
    sink: Sink = CertSink(out)  # mypy checks CertSink against the Sink protocol here
    sink.close()
    for stem in ("logon", "device", "file", "email", "http"):
        assert (out / f"{stem}.csv").read_text().strip() != ""
        assert _read(out / f"{stem}.csv") == []


def test_attrs_the_reader_derives_survive_a_round_trip(tmp_path: Path) -> None:
    events = [
        _event(0, "email_send", bytes=2048, attrs=json.dumps(
            {"recipient_domain": "gmail.com", "external": True, "recipients": 4,
             "attachments": 2})),
        _event(1, "email_send", bytes=10, attrs=json.dumps(
            {"recipient_domain": "dtaa.com", "external": False, "recipients": 1})),
        _event(2, "upload_external", target_id="dropbox.com",
               attrs=json.dumps({"url_domain": "dropbox.com"})),
        _event(3, "http_visit", target_id="https://www.example.org/a?b=1",
               attrs=json.dumps({"url_domain": "example.org"})),
        _event(4, "device_connect", attrs=json.dumps({"file_tree": "R:\\;R:\\u1"})),
        _event(5, "copy_to_removable", target_id="R:\\plans.doc",
               attrs=json.dumps({"cert_activity": "File Write"})),
        _event(6, "x-file_open", target_id="R:\\x.pdf",
               attrs=json.dumps({"from_removable_media": True})),
    ]  # fmt: skip
    out = tmp_path / "cert"
    _sink_events(out, events).close()
    with EventStore.open(tmp_path / "data") as store:
        assert not ingest_sources(store, cert_sources(out)).failed
        rows = store.fetch_all("SELECT event_id, target_id, bytes, attrs FROM events")
    got = {i: (t, b, json.loads(a) if a else {}) for i, t, b, a in rows}
    sent_out = got["email:e0"][2]
    assert (sent_out["external"], sent_out["recipient_domain"]) == (True, "gmail.com")
    assert (sent_out["recipients"], sent_out["attachments"]) == (4, 2)
    assert got["email:e0"][1] == 2048
    inside = got["email:e1"][2]
    assert (inside["external"], inside["recipient_domain"], inside["recipients"]) == (
        False,
        "dtaa.com",
        1,
    )
    assert got["http:e2"][2]["url_domain"] == "dropbox.com"
    assert got["http:e3"][0] == "https://www.example.org/a?b=1"
    assert got["http:e3"][2]["url_domain"] == "example.org"
    assert got["device:e4"][2]["file_tree"] == "R:\\;R:\\u1"
    assert got["file:e5"][0] == "R:\\plans.doc"
    assert got["file:e5"][2]["cert_activity"] == "File Write"
    assert got["file:e6"][2]["from_removable_media"] is True


def test_cert_ids_come_back_without_the_readers_file_prefix(tmp_path: Path) -> None:
    events = [
        _event(0, "login", event_id="logon:{X1D9-S0ES98JV-5357PWMI}"),
        _event(1, "logout", event_id=None),
        _event(2, "logout", event_id=None),
    ]
    out = tmp_path / "cert"
    _sink_events(out, events).close()
    ids = [r["id"] for r in _read(out / "logon.csv")]
    assert ids[0] == "{X1D9-S0ES98JV-5357PWMI}"
    assert len(set(ids)) == 3
    assert all(ids)


def _people() -> list[dict[str, Any]]:
    return [
        {"actor_id": "boss", "name": "Stephanie Harrington", "role": "team_lead",
         "team": "Trust", "hire_date": None, "end_date": None, "privileged": False},
        {"actor_id": "adm", "name": "Calvin Love", "role": "admin", "team": "Trust",
         "manager_id": "boss", "hire_date": None, "end_date": date(2010, 3, 1),
         "privileged": True, "attrs": json.dumps({"O": 12, "C": 13, "E": 14, "A": 15, "N": 16})},
        {"actor_id": "new", "name": "Wade Harrison", "role": "moderator", "team": "Queue A",
         "manager_id": "adm", "hire_date": date(2010, 2, 10), "end_date": None,
         "privileged": False},
    ]  # fmt: skip


def test_ldap_snapshots_follow_hire_and_end_dates(tmp_path: Path) -> None:
    out = tmp_path / "cert"
    sink = _sink_events(
        out,
        [
            _event(0, "login", ts=datetime(2010, 1, 4, 8)),
            _event(1, "login", ts=datetime(2010, 4, 2)),
        ],
    )
    sink.write_table("people", pa.Table.from_pylist(_people(), schema=arrow_schema("people")))
    sink.close()
    months = sorted(p.name for p in (out / "LDAP").iterdir())
    assert months == ["2010-01.csv", "2010-02.csv", "2010-03.csv", "2010-04.csv"]
    present = {m: {r["user_id"] for r in _read(out / "LDAP" / m)} for m in months}
    assert present == {
        "2010-01.csv": {"boss", "adm"},
        "2010-02.csv": {"boss", "adm", "new"},
        "2010-03.csv": {"boss", "new"},
        "2010-04.csv": {"boss", "new"},
    }
    assert _header(out / "LDAP" / "2010-01.csv") == list(HEADERS["r6.2"]["ldap"])
    adm = next(r for r in _read(out / "LDAP" / "2010-01.csv") if r["user_id"] == "adm")
    assert (adm["role"], adm["supervisor"], adm["employee_name"]) == (
        "ITAdmin",
        "Stephanie Harrington",
        "Calvin Love",
    )


def test_people_round_trip_through_the_reader(tmp_path: Path) -> None:
    out = tmp_path / "cert"
    sink = _sink_events(
        out,
        [
            _event(0, "login", ts=datetime(2010, 1, 4, 8)),
            _event(1, "login", ts=datetime(2010, 4, 2)),
        ],
    )
    sink.write_table("people", pa.Table.from_pylist(_people(), schema=arrow_schema("people")))
    sink.close()
    with EventStore.open(tmp_path / "data") as store:
        assert not ingest_sources(store, cert_sources(out)).failed
        rows = store.fetch_all(
            "SELECT actor_id, name, role, team, manager_id, hire_date, end_date, privileged, "
            "attrs FROM people"
        )
    people = {r[0]: r for r in rows}
    assert people["adm"][1:8] == (
        "Calvin Love",
        "admin",
        "Trust",
        "boss",
        None,
        date(2010, 3, 1),
        True,
    )
    # hired mid-February: first listed in the February snapshot
    assert people["new"][1:8] == (
        "Wade Harrison",
        "other",
        "Queue A",
        "adm",
        date(2010, 2, 1),
        None,
        False,
    )
    assert json.loads(people["new"][8])["title"] == "moderator"
    assert [json.loads(people["adm"][8])[k] for k in "OCEAN"] == [12, 13, 14, 15, 16]


def test_psychometric_scores_are_stable_and_in_cert_range(tmp_path: Path) -> None:
    tables = []
    for run in ("a", "b"):
        sink = CertSink(tmp_path / run)
        sink.write_table("people", pa.Table.from_pylist(_people(), schema=arrow_schema("people")))
        sink.close()
        tables.append(_read(tmp_path / run / "psychometric.csv"))
    assert tables[0] == tables[1]
    assert _header(tmp_path / "a" / "psychometric.csv") == list(HEADERS["r6.2"]["psychometric"])
    scores = {r["user_id"]: [int(r[k]) for k in "OCEAN"] for r in tables[0]}
    assert scores["adm"] == [12, 13, 14, 15, 16]
    assert all(10 <= s <= 50 for s in scores["boss"] + scores["new"])
    assert scores["boss"] != scores["new"]


def test_labels_become_insiders_with_cert_scenarios(tmp_path: Path) -> None:
    labels = [
        {"actor_id": "u1", "scenario": "data_exfiltration", "start": datetime(2010, 5, 1, 9),
         "end": datetime(2010, 5, 3, 17)},
        {"actor_id": "u2", "scenario": "privilege_abuse", "start": datetime(2010, 6, 1),
         "end": None},
        {"actor_id": "u3", "scenario": "qa_collusion", "start": datetime(2010, 7, 1),
         "end": datetime(2010, 8, 1)},
        {"actor_id": "u4", "scenario": "data_exfiltration", "start": datetime(2010, 7, 1),
         "end": None, "attrs": json.dumps({"cert_scenario": 5, "cert_dataset": "6.1"})},
    ]  # fmt: skip
    out = tmp_path / "r6.2"
    sink = CertSink(out)
    sink.write_table("labels", pa.Table.from_pylist(labels, schema=arrow_schema("labels")))
    sink.close()
    path = out / "answers" / "insiders.csv"
    assert _header(path) == list(INSIDERS_HEADER)
    rows = {r["user"]: r for r in _read(path)}
    assert (rows["u1"]["dataset"], rows["u1"]["scenario"]) == ("6.2", "2")
    assert (rows["u1"]["start"], rows["u1"]["end"]) == (
        "05/01/2010 09:00:00",
        "05/03/2010 17:00:00",
    )
    assert rows["u2"]["scenario"] == "3"
    assert rows["u3"]["scenario"] == "qa_collusion"
    assert (rows["u4"]["dataset"], rows["u4"]["scenario"]) == ("6.1", "5")
    with EventStore.open(tmp_path / "data") as store:
        assert not ingest_sources(store, cert_sources(out, release="6.2")).failed
        back = set(store.fetch_all('SELECT actor_id, scenario, start, "end" FROM labels'))
    assert back == {
        ("u1", "data_exfiltration", datetime(2010, 5, 1, 9), datetime(2010, 5, 3, 17)),
        ("u2", "privilege_abuse", datetime(2010, 6, 1), None),
        ("u3", "qa_collusion", datetime(2010, 7, 1), datetime(2010, 8, 1)),
    }


def test_other_entities_write_nothing(tmp_path: Path) -> None:
    out = tmp_path / "cert"
    sink = CertSink(out)
    accounts = [{"account_id": "a1", "high_profile": True}]
    sink.write_table("accounts", pa.Table.from_pylist(accounts, schema=arrow_schema("accounts")))
    sink.close()
    assert sorted(p.name for p in out.iterdir()) == [
        "device.csv",
        "email.csv",
        "file.csv",
        "http.csv",
        "logon.csv",
    ]
