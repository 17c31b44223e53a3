"""CERT release folders (r4.2 and r6.2 layouts) through cert_sources into real stores."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from custodes.errors import InputError
from custodes.ingest.cert import cert_sources, cert_sources_collecting
from custodes.ingest.pipeline import IngestReport, ingest_sources
from custodes.ingest.source import Source
from custodes.store.events import EventStore
from tests.ingest.cert_fixtures import (
    HEADERS,
    write_details,
    write_file,
    write_insiders,
    write_ldap,
    write_rows,
)


def _ingest(store: EventStore, directory: Path, release: str | None = None) -> IngestReport:
    report = ingest_sources(store, cert_sources(directory, release=release))
    assert not report.failed, [f.error for f in report.failed]
    return report


def _events(store: EventStore) -> dict[str, dict[str, Any]]:
    rows = store.fetch_all(
        "SELECT event_id, ts, actor_id, action, target_type, target_id, outcome, source, "
        "device_id, bytes, attrs FROM events"
    )
    keys = [
        "event_id",
        "ts",
        "actor_id",
        "action",
        "target_type",
        "target_id",
        "outcome",
        "source",
        "device_id",
        "bytes",
        "attrs",
    ]
    out = {}
    for row in rows:
        record = dict(zip(keys, row, strict=True))
        record["attrs"] = json.loads(record["attrs"]) if record["attrs"] else {}
        out[record["event_id"]] = record
    return out


def _quarantine(store: EventStore) -> list[tuple[str, int, str, str]]:
    return [
        (Path(f).name, r, fld, reason)
        for f, r, fld, reason in store.fetch_all(
            "SELECT file, row, field, reason FROM quarantine ORDER BY file, row"
        )
    ]


def _ev(i: str, when: str, user: str, pc: str, **rest: object) -> dict[str, object]:
    return {"id": i, "date": when, "user": user, "pc": pc, **rest}


# --- events --------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["r4.2", "r6.2"])
def test_logon_maps_sessions_with_times_and_outcomes(
    store: EventStore, tmp_path: Path, layout: str
) -> None:
    rel = tmp_path / layout
    write_file(
        rel,
        layout,
        "logon",
        [
            _ev("{X1D9-S0ES98JV-5357PWMI}", "01/02/2010 06:49:00", "NGF0157", "PC-6056",
                activity="Logon"),
            _ev("{B2}", "12/31/2010 23:59:59", "NGF0157", "PC-6056", activity="Logoff"),
        ],
    )  # fmt: skip
    _ingest(store, rel)
    got = _events(store)
    assert set(got) == {"logon:{X1D9-S0ES98JV-5357PWMI}", "logon:{B2}"}
    on, off = got["logon:{X1D9-S0ES98JV-5357PWMI}"], got["logon:{B2}"]
    assert (on["ts"], on["action"], on["outcome"]) == (
        datetime(2010, 1, 2, 6, 49),
        "login",
        "success",
    )
    assert (off["ts"], off["action"], off["outcome"]) == (
        datetime(2010, 12, 31, 23, 59, 59),
        "logout",
        None,
    )
    assert {(e["actor_id"], e["device_id"], e["source"]) for e in got.values()} == {
        ("NGF0157", "PC-6056", "cert_logon")
    }


def test_device_r42_connects_and_disconnects(store: EventStore, tmp_path: Path) -> None:
    rel = tmp_path / "r4.2"
    write_file(rel, "r4.2", "device", [
        _ev("{D1}", "01/04/2010 07:00:00", "AAM0658", "PC-1", activity="Connect"),
        _ev("{D2}", "01/04/2010 07:30:00", "AAM0658", "PC-1", activity="Disconnect"),
    ])  # fmt: skip
    _ingest(store, rel)
    got = _events(store)
    assert got["device:{D1}"]["action"] == "device_connect"
    assert got["device:{D2}"]["action"] == "device_disconnect"
    assert {e["target_type"] for e in got.values()} == {"device"}
    assert got["device:{D1}"]["attrs"] == {}


def test_device_r62_keeps_the_file_tree(store: EventStore, tmp_path: Path) -> None:
    rel = tmp_path / "r6.2"
    write_file(rel, "r6.2", "device", [
        _ev("{D1}", "01/04/2010 07:00:00", "HRE1950", "PC-8025",
            file_tree="R:\\;R:\\HRE1950;R:\\47yHBn0", activity="Connect"),
        _ev("{D2}", "01/04/2010 07:30:00", "HRE1950", "PC-8025", file_tree="",
            activity="Disconnect"),
    ])  # fmt: skip
    _ingest(store, rel)
    got = _events(store)
    assert got["device:{D1}"]["attrs"] == {"file_tree": "R:\\;R:\\HRE1950;R:\\47yHBn0"}
    assert got["device:{D2}"]["attrs"] == {}
    assert got["device:{D2}"]["action"] == "device_disconnect"


def test_file_r42_rows_are_all_copies_to_removable_media(store: EventStore, tmp_path: Path) -> None:
    rel = tmp_path / "r4.2"
    write_file(rel, "r4.2", "file", [
        _ev("{F1}", "01/02/2010 07:23:14", "MOH0273", "PC-6699", filename="EYPC9Y08.doc",
            content="D0-CF-11-E0-A1-B1-1A-E1 during difficulty overall"),
    ])  # fmt: skip
    _ingest(store, rel)
    event = _events(store)["file:{F1}"]
    assert (event["action"], event["target_type"], event["target_id"]) == (
        "copy_to_removable",
        "file",
        "EYPC9Y08.doc",
    )
    assert "content" not in event["attrs"]


def test_file_r62_tells_removable_copies_from_other_file_activity(
    store: EventStore, tmp_path: Path
) -> None:
    rel = tmp_path / "r6.2"

    def row(i: str, activity: str, to: str, frm: str) -> dict[str, object]:
        return _ev(i, "01/02/2010 07:19:41", "SDH2394", "PC-5849", filename=f"R:\\{i}.doc",
                   activity=activity, to_removable_media=to, from_removable_media=frm,
                   content="D0-CF-11-E0 Ernesztin's brother, \"Lipot\" Hoffmann")  # fmt: skip

    write_file(rel, "r6.2", "file", [
        row("copy-out", "File Copy", "True", "False"),
        row("write-out", "File Write", "True", "False"),
        row("copy-in", "File Copy", "False", "True"),
        row("open", "File Open", "False", "True"),
        row("write", "File Write", "False", "False"),
        row("delete", "File Delete", "False", "False"),
    ])  # fmt: skip
    _ingest(store, rel)
    got = _events(store)
    assert {k.removeprefix("file:"): v["action"] for k, v in got.items()} == {
        "copy-out": "copy_to_removable",
        "write-out": "copy_to_removable",
        "copy-in": "x-file_copy",
        "open": "x-file_open",
        "write": "x-file_write",
        "delete": "x-file_delete",
    }
    assert got["file:copy-in"]["attrs"] == {
        "cert_activity": "File Copy",
        "to_removable_media": False,
        "from_removable_media": True,
    }
    assert got["file:open"]["target_id"] == "R:\\open.doc"


def test_email_r42_detects_external_recipients(store: EventStore, tmp_path: Path) -> None:
    rel = tmp_path / "r4.2"
    write_file(rel, "r4.2", "email", [
        _ev("{internal}", "01/02/2010 07:11:45", "LAP0338", "PC-5758",
            to="Dean.Flynn.Hines@dtaa.com;Wade.Harrison@dtaa.com", cc="", bcc="",
            **{"from": "Lynn.Adena.Pratt@dtaa.com"}, size="25830", attachments="0",
            content="middle f2 systems"),
        _ev("{cc-out}", "01/02/2010 08:00:00", "LAP0338", "PC-5758",
            to="Dean.Flynn.Hines@dtaa.com", cc="Wade_Harrison@LockheedMartin.com", bcc="",
            **{"from": "Lynn.Adena.Pratt@dtaa.com"}, size="100", attachments="2",
            content="x"),
        _ev("{bcc-out}", "01/02/2010 09:00:00", "LAP0338", "PC-5758",
            to="Dean.Flynn.Hines@dtaa.com", cc="", bcc="lynn@cox.net;pal@netzero.com",
            **{"from": "Lynn.Adena.Pratt@dtaa.com"}, size="7", attachments="1",
            content="x"),
    ])  # fmt: skip
    _ingest(store, rel)
    got = _events(store)
    assert {e["action"] for e in got.values()} == {"email_send"}
    internal, cc_out, bcc_out = (
        got["email:{internal}"],
        got["email:{cc-out}"],
        got["email:{bcc-out}"],
    )
    assert internal["bytes"] == 25830
    assert internal["attrs"] == {
        "recipients": 2,
        "external": False,
        "recipient_domain": "dtaa.com",
        "attachments": 0,
        "from": "Lynn.Adena.Pratt@dtaa.com",
    }
    assert (cc_out["attrs"]["external"], cc_out["attrs"]["recipient_domain"]) == (
        True,
        "lockheedmartin.com",
    )
    assert (cc_out["attrs"]["recipients"], cc_out["attrs"]["attachments"]) == (2, 2)
    assert (bcc_out["attrs"]["external"], bcc_out["attrs"]["recipient_domain"]) == (
        True,
        "cox.net",
    )
    assert bcc_out["attrs"]["recipients"] == 3


def test_email_r62_sends_views_and_attachment_lists(store: EventStore, tmp_path: Path) -> None:
    rel = tmp_path / "r6.2"
    write_file(rel, "r6.2", "email", [
        _ev("{send}", "02/07/2011 12:28:06", "CMP2946", "PC-9447",
            to="Ashely_L_Green@boeing.com", cc="", bcc="",
            **{"from": "Chandler.Martin.Page@dtaa.com"}, activity="Send", size="22529",
            attachments="C:\\2ZAQ2F\\QL4XKD8B.doc(5130);C:\\X\\Y.pdf(870)",
            content="Have you ever described a bad date, as awkward?"),
        _ev("{view}", "02/07/2011 12:30:00", "CMP2946", "PC-9447",
            to="Chandler.Martin.Page@dtaa.com", cc="", bcc="",
            **{"from": "someone@boeing.com"}, activity="View", size="900", attachments="",
            content="re"),
        # r5.x spells a received mail "Receive"
        _ev("{receive}", "02/07/2011 12:31:00", "CMP2946", "PC-9447",
            to="Chandler.Martin.Page@dtaa.com", cc="", bcc="",
            **{"from": "someone@boeing.com"}, activity="Receive", size="900", attachments="",
            content="re"),
    ])  # fmt: skip
    _ingest(store, rel)
    got = _events(store)
    send, view = got["email:{send}"], got["email:{view}"]
    assert (send["action"], view["action"]) == ("email_send", "x-email_view")
    assert got["email:{receive}"]["action"] == "x-email_receive"
    assert send["attrs"]["attachments"] == 2
    assert send["attrs"]["attachment_bytes"] == 6000
    assert (send["attrs"]["external"], send["attrs"]["recipient_domain"]) == (True, "boeing.com")
    assert view["attrs"]["attachments"] == 0
    assert send["ts"] == datetime(2011, 2, 7, 12, 28, 6)


def test_http_r42_visits_with_their_domain(store: EventStore, tmp_path: Path) -> None:
    rel = tmp_path / "r4.2"
    write_file(rel, "r4.2", "http", [
        _ev("{V1}", "01/02/2010 06:55:16", "LRR0148", "PC-4275",
            url="http://msn.com/The_Human_Centipede/katsuro/arjf309875127.htm",
            content="remain representatives"),
        _ev("{V2}", "01/02/2010 06:56:16", "LRR0148", "PC-4275",
            url="http://WWW.Monster.com:8080/jobs?q=1", content="resume"),
    ])  # fmt: skip
    _ingest(store, rel)
    got = _events(store)
    assert {e["action"] for e in got.values()} == {"http_visit"}
    assert got["http:{V1}"]["attrs"] == {"url_domain": "msn.com"}
    assert got["http:{V2}"]["attrs"] == {"url_domain": "monster.com"}
    assert got["http:{V1}"]["target_type"] == "url"
    assert got["http:{V1}"]["target_id"].startswith("http://msn.com/The_Human")


def test_http_r62_uploads_and_downloads(store: EventStore, tmp_path: Path) -> None:
    rel = tmp_path / "r6.2"
    url = "http://wikileaks.org/Julian_Assange/assange/B7RGYJZC.jpg"
    write_file(rel, "r6.2", "http", [
        _ev("{U}", "08/19/2010 01:34:19", "ACM2278", "PC-8431", url=url,
            activity="WWW Upload", content='33-4E "I am, neither" a Jain'),
        _ev("{D}", "08/19/2010 01:35:19", "ACM2278", "PC-8431", url="http://dropbox.com/f",
            activity="WWW Download", content="x"),
        _ev("{V}", "08/19/2010 01:36:19", "ACM2278", "PC-8431", url="http://google.com/",
            activity="WWW Visit", content="x"),
    ])  # fmt: skip
    _ingest(store, rel)
    got = _events(store)
    assert (got["http:{U}"]["action"], got["http:{U}"]["attrs"]["url_domain"]) == (
        "upload_external",
        "wikileaks.org",
    )
    assert got["http:{D}"]["action"] == "x-web_download"
    assert got["http:{V}"]["action"] == "http_visit"


def test_ids_repeated_across_files_are_all_kept(store: EventStore, tmp_path: Path) -> None:
    """The readme's errata: ids are unique per file, not across files."""
    rel = tmp_path / "r4.2"
    write_file(rel, "r4.2", "logon", [_ev("{SAME}", "01/02/2010 07:00:00", "U1", "PC-1",
                                          activity="Logon")])  # fmt: skip
    write_file(rel, "r4.2", "device", [_ev("{SAME}", "01/02/2010 07:05:00", "U1", "PC-1",
                                           activity="Connect")])  # fmt: skip
    report = _ingest(store, rel)
    assert report.total("stored") == 2
    assert set(_events(store)) == {"logon:{SAME}", "device:{SAME}"}


# --- people --------------------------------------------------------------------------


def _person(
    name: str, uid: str, role: str, supervisor: str, team: str = "3 - Software"
) -> dict[str, object]:
    return {
        "employee_name": name,
        "user_id": uid,
        "email": f"{name.replace(' ', '.')}@dtaa.com",
        "role": role,
        "business_unit": "1",
        "functional_unit": "2 - ResearchAndEngineering",
        "department": "2 - SoftwareManagement",
        "team": team,
        "supervisor": supervisor,
    }


@pytest.mark.parametrize("layout", ["r4.2", "r6.2"])
def test_ldap_snapshots_become_people_with_tenure_and_managers(
    store: EventStore, tmp_path: Path, layout: str
) -> None:
    rel = tmp_path / layout
    boss = _person("Stephanie Briar Harrington", "SBH0001", "Manager", "", team="")
    admin = _person("Calvin Edan Love", "CEL0561", "ITAdmin", "Stephanie Briar Harrington")
    leaver = _person(
        "Dean Flynn Hines", "DFH0002", "SoftwareEngineer", "Stephanie Briar Harrington"
    )
    newcomer = _person("Wade Harrison", "WAH0003", "Salesman", "Calvin Edan Love")
    write_ldap(rel, layout, "2010-01", [boss, admin, leaver])
    write_ldap(rel, layout, "2010-02", [boss, admin, leaver, newcomer])
    write_ldap(rel, layout, "2010-03", [boss, admin, newcomer])
    write_file(rel, layout, "psychometric", [
        {"employee_name": "Calvin Edan Love", "user_id": "CEL0561", "O": "40", "C": "39",
         "E": "36", "A": "19", "N": "40"},
    ])  # fmt: skip
    _ingest(store, rel)
    rows = store.fetch_all(
        "SELECT actor_id, name, role, team, manager_id, hire_date, end_date, privileged, attrs "
        "FROM people ORDER BY actor_id"
    )
    people = {r[0]: r for r in rows}
    assert set(people) == {"SBH0001", "CEL0561", "DFH0002", "WAH0003"}
    _, name, role, team, manager, hired, ended, privileged, attrs = people["CEL0561"]
    assert (name, role, manager, hired, ended, privileged) == (
        "Calvin Edan Love",
        "admin",
        "SBH0001",
        None,
        None,
        True,
    )
    assert team == "2 - ResearchAndEngineering / 2 - SoftwareManagement / 3 - Software"
    admin_attrs = json.loads(attrs)
    assert (admin_attrs["title"], admin_attrs["supervisor"]) == (
        "ITAdmin",
        "Stephanie Briar Harrington",
    )
    assert [admin_attrs[k] for k in "OCEAN"] == [40, 39, 36, 19, 40]
    # left after February: gone from the March snapshot
    assert people["DFH0002"][2] == "engineer"
    assert (people["DFH0002"][5], people["DFH0002"][6]) == (None, date(2010, 3, 1))
    assert people["DFH0002"][7] is False
    # joined in February, reports to the admin
    assert (people["WAH0003"][5], people["WAH0003"][6]) == (date(2010, 2, 1), None)
    assert (people["WAH0003"][2], people["WAH0003"][4]) == ("other", "CEL0561")
    assert people["SBH0001"][4] is None
    assert people["SBH0001"][3] == "2 - ResearchAndEngineering / 2 - SoftwareManagement"


def test_ambiguous_supervisor_names_are_left_unresolved(store: EventStore, tmp_path: Path) -> None:
    rel = tmp_path / "r4.2"
    write_ldap(rel, "r4.2", "2010-01", [
        _person("Pat Lee", "PLE0001", "Manager", ""),
        _person("Pat Lee", "PLE0002", "Manager", ""),
        _person("Kim Cho", "KCH0003", "Salesman", "Pat Lee"),
    ])  # fmt: skip
    _ingest(store, rel)
    manager, attrs = store.fetch_one(
        "SELECT manager_id, attrs FROM people WHERE actor_id = 'KCH0003'"
    ) or (None, None)
    assert manager is None
    assert json.loads(attrs)["supervisor"] == "Pat Lee"


def test_ldap_snapshots_with_different_columns_are_refused(tmp_path: Path) -> None:
    rel = tmp_path / "r6.2"
    write_ldap(rel, "r6.2", "2010-01", [_person("A B", "AB1", "Manager", "")])
    write_ldap(rel, "r4.2", "2010-02", [_person("A B", "AB1", "Manager", "")])
    with pytest.raises(InputError) as info:
        cert_sources(rel)
    assert info.value.file is not None
    assert info.value.file.endswith("2010-02.csv")


# --- labels --------------------------------------------------------------------------


def _insider(
    dataset: str, scenario: str, user: str, start: str, end: str, details: str = ""
) -> dict[str, object]:
    return {"dataset": dataset, "scenario": scenario, "details": details, "user": user,
            "start": start, "end": end}  # fmt: skip


def test_insiders_of_this_release_become_labels_with_their_events(
    store: EventStore, tmp_path: Path
) -> None:
    rel = tmp_path / "r4.2"
    answers = rel / "answers"
    write_insiders(answers, [
        _insider("2", "1", "ONS0995", "3/6/2010 1:41:56", "3/20/2010 8:10:12", "r2.csv"),
        _insider("4.2", "1", "AAM0658", "10/23/2010 01:34:19", "10/23/2010 06:28:17",
                 "r4.2-1-AAM0658.csv"),
        _insider("4.2", "2", "AAF0535", "06/28/2010 08:51:08", "08/06/2010 17:00:00",
                 "r4.2-2-AAF0535.csv"),
        _insider("4.2", "3", "CSC0217", "09/01/2010 09:00:00", "09/02/2010 17:00:00",
                 "r4.2-3-CSC0217.csv"),
        _insider("5.2", "4", "ACM1770", "01/01/2011 09:00:00", "03/02/2011 17:00:00",
                 "r5.2-4-ACM1770.csv"),
    ])  # fmt: skip
    write_details(answers / "r4.2-1" / "r4.2-1-AAM0658.csv", [
        "logon,{K3V4-Y4OK65SI-1583GEOQ},10/23/2010 01:34:19,AAM0658,PC-9923,Logon",
        "device,{H1L0-X7RH83FI-5967VUQY},10/23/2010 06:18:48,AAM0658,PC-9923,Connect",
        "http,{Y4Q9-U5VQ11UG-1279ZPTL},10/23/2010 06:26:01,AAM0658,PC-9923,"
        "http://wikileaks.org/x,spy bait covert",
    ])  # fmt: skip
    _ingest(store, rel)
    rows = store.fetch_all(
        'SELECT actor_id, scenario, start, "end", attrs FROM labels ORDER BY actor_id'
    )
    labels = {r[0]: r for r in rows}
    assert set(labels) == {"AAM0658", "AAF0535", "CSC0217"}
    assert labels["AAM0658"][1:4] == (
        "data_exfiltration",
        datetime(2010, 10, 23, 1, 34, 19),
        datetime(2010, 10, 23, 6, 28, 17),
    )
    assert labels["AAF0535"][1] == "data_exfiltration"
    assert labels["CSC0217"][1] == "privilege_abuse"
    attrs = json.loads(labels["AAM0658"][4])
    assert (attrs["cert_dataset"], attrs["cert_scenario"], attrs["details"]) == (
        "4.2",
        1,
        "r4.2-1-AAM0658.csv",
    )
    assert attrs["event_ids"] == [
        "logon:{K3V4-Y4OK65SI-1583GEOQ}",
        "device:{H1L0-X7RH83FI-5967VUQY}",
        "http:{Y4Q9-U5VQ11UG-1279ZPTL}",
    ]
    assert attrs["event_count"] == 3
    assert "event_ids" not in json.loads(labels["AAF0535"][4])


def test_r62_insider_without_a_start_month_takes_it_from_the_details(
    store: EventStore, tmp_path: Path
) -> None:
    rel = tmp_path / "r6.2"
    answers = rel / "answers"
    write_insiders(answers, [
        _insider("6.2", "4", "CDE1846", "/21/2011 08:00:00", "04/25/2011 17:00:00",
                 "r6.2-4.csv"),
        _insider("6.2", "5", "MBG3183", "10/12/2010 08:00:00", "10/12/2010 09:00:00", ""),
    ])  # fmt: skip
    write_details(answers / "r6.2-4.csv", [
        'email,"{E2}","02/22/2011 10:00:00","CDE1846","PC-1","a@home.com","","",'
        '"CDE1846@dtaa.com","Send","100","","x, ""quoted"" y"',
        'logon,"{L1}","02/21/2011 08:12:00","CDE1846","PC-2","Logon"',
    ])  # fmt: skip
    _ingest(store, rel)
    start, end, attrs = store.fetch_one(
        "SELECT start, \"end\", attrs FROM labels WHERE actor_id = 'CDE1846'"
    ) or (None, None, None)
    assert start == datetime(2011, 2, 21, 8, 12)
    assert end == datetime(2011, 4, 25, 17, 0)
    got = json.loads(attrs)
    assert got["start_from"] == "details"
    assert "end_from" not in got
    assert got["event_ids"] == ["logon:{L1}", "email:{E2}"]
    assert store.fetch_value("SELECT scenario FROM labels WHERE actor_id = 'MBG3183'") == (
        "data_exfiltration"
    )


def test_answers_beside_the_release_folder_are_found(store: EventStore, tmp_path: Path) -> None:
    write_insiders(tmp_path / "answers", [
        _insider("4.2", "2", "AAF0535", "06/28/2010 08:51:08", "08/06/2010 17:00:00"),
        _insider("6.2", "2", "CMP2946", "01/02/2011 08:00:00", "02/07/2011 17:00:00"),
    ])  # fmt: skip
    rel = tmp_path / "r6.2"
    write_file(rel, "r6.2", "logon", [_ev("{L}", "01/02/2010 07:00:00", "U", "P",
                                          activity="Logon")])  # fmt: skip
    _ingest(store, rel)
    assert store.fetch_all("SELECT actor_id FROM labels") == [("CMP2946",)]


def test_unknown_release_with_several_in_insiders_is_an_error(
    store: EventStore, tmp_path: Path
) -> None:
    data = tmp_path / "cert-data"
    write_insiders(data / "answers", [
        _insider("4.2", "2", "AAF0535", "06/28/2010 08:51:08", "08/06/2010 17:00:00"),
        _insider("6.2", "3", "PLJ1771", "01/02/2011 08:00:00", "01/03/2011 17:00:00"),
    ])  # fmt: skip
    with pytest.raises(InputError) as info:
        cert_sources(data)
    assert info.value.file is not None
    assert info.value.file.endswith("insiders.csv")
    assert "4.2" in str(info.value)
    assert "6.2" in str(info.value)
    _ingest(store, data, release="r6.2")
    assert store.fetch_all("SELECT actor_id, scenario FROM labels") == [
        ("PLJ1771", "privilege_abuse")
    ]


def test_unparseable_label_dates_without_details_are_quarantined(
    store: EventStore, tmp_path: Path
) -> None:
    rel = tmp_path / "r6.2"
    write_insiders(rel / "answers", [
        _insider("6.2", "4", "CDE1846", "/21/2011 08:00:00", "04/25/2011 17:00:00"),
        _insider("6.2", "9", "XYZ0001", "01/02/2011 08:00:00", "01/03/2011 17:00:00"),
        _insider("6.2", "1", "ACM2278", "08/18/2010 21:47:42", "08/24/2010 04:20:39"),
    ])  # fmt: skip
    report = _ingest(store, rel)
    assert report.total("stored") == 1
    # rows are line numbers in the file, the header being line 1
    assert [(r, f) for _, r, f, _ in _quarantine(store)] == [(2, "start"), (3, "scenario")]
    reasons = [reason for *_, reason in _quarantine(store)]
    assert reasons[0].startswith("unparseable timestamp")


# --- malformed input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("layout", "name", "column"),
    [
        ("r4.2", "logon", "activity"),
        ("r4.2", "email", "bcc"),
        ("r6.2", "file", "to_removable_media"),
        ("r6.2", "http", "url"),
        ("r4.2", "device", "date"),
    ],
)
def test_a_missing_column_names_file_and_column(
    tmp_path: Path, layout: str, name: str, column: str
) -> None:
    rel = tmp_path / layout
    header = [c for c in HEADERS[layout][name] if c != column]
    write_rows(rel / f"{name}.csv", header, [])
    with pytest.raises(InputError) as info:
        cert_sources(rel)
    assert info.value.field == column
    assert info.value.file == str(rel / f"{name}.csv")
    assert column in str(info.value)
    assert f"{name}.csv" in str(info.value)


def test_missing_columns_in_ldap_and_insiders_are_named(tmp_path: Path) -> None:
    rel = tmp_path / "r4.2"
    write_rows(rel / "LDAP" / "2010-01.csv", ["employee_name", "email", "role"], [])
    write_rows(rel / "answers" / "insiders.csv", ["dataset", "scenario", "user", "end"], [])
    found = cert_sources_collecting(rel)
    errors = [e for e in found if isinstance(e, InputError)]
    assert {(Path(e.file or "").name, e.field) for e in errors} == {
        ("2010-01.csv", "user_id"),
        ("insiders.csv", "start"),
    }


def test_one_bad_file_does_not_hold_back_the_others(store: EventStore, tmp_path: Path) -> None:
    rel = tmp_path / "r4.2"
    write_rows(rel / "logon.csv", ["id", "date", "user", "pc"], [])
    write_file(rel, "r4.2", "device", [_ev("{D}", "01/02/2010 07:00:00", "U", "P",
                                           activity="Connect")])  # fmt: skip
    report = ingest_sources(store, cert_sources_collecting(rel))
    assert [Path(f.file).name for f in report.failed] == ["logon.csv"]
    assert store.fetch_value("SELECT count(*) FROM events") == 1


def test_bad_dates_and_broken_rows_are_quarantined_and_the_rest_stored(
    store: EventStore, tmp_path: Path
) -> None:
    rel = tmp_path / "r6.2"
    write_file(rel, "r6.2", "logon", [
        _ev("{ok1}", "01/02/2010 06:49:00", "U1", "PC-1", activity="Logon"),  # line 2
        _ev("{bad-date}", "13/45/2010 06:49:00", "U1", "PC-1", activity="Logoff"),
        ["{too-many}", "01/02/2010 07:00:00", "U1", "PC-1", "Logoff", "surplus"],
        ["{too-few}", "01/02/2010 07:00:00", "U1"],
        [],  # a blank line 6, which DuckDB skips without a trace
        _ev("{no-date}", "", "U1", "PC-1", activity="Logon"),
        _ev("{ok2}", "01/02/2010 08:00:00", "U1", "PC-1", activity="Logoff"),
        _ev("{odd}", "01/02/2010 08:00:00", "U1", "PC-1", activity="Teleport"),  # line 9
    ])  # fmt: skip
    report = _ingest(store, rel)
    assert set(_events(store)) == {"logon:{ok1}", "logon:{ok2}"}
    assert report.total("quarantined") == 5
    got = {(row, field): reason for _, row, field, reason in _quarantine(store)}
    assert set(got) == {
        (3, "ts"),
        (4, "record"),
        (5, "pc"),  # the short row lacks its last two columns
        (5, "activity"),
        (7, "ts"),
        (9, "action"),
    }
    assert got[(3, "ts")] == "unparseable timestamp: 13/45/2010 06:49:00"
    assert got[(4, "record")].startswith("too many columns")
    assert got[(5, "pc")].startswith("missing columns")
    assert "Teleport" in got[(9, "action")]


def test_reingesting_a_release_adds_nothing(store: EventStore, tmp_path: Path) -> None:
    rel = tmp_path / "r6.2"
    write_file(rel, "r6.2", "logon", [_ev(f"{{L{i}}}", f"01/0{i}/2010 07:00:00", "U", "P",
                                          activity="Logon") for i in range(1, 6)])  # fmt: skip
    write_file(rel, "r6.2", "http", [_ev("{H}", "01/02/2010 07:00:00", "U", "P",
                                         url="http://a.com/", activity="WWW Visit",
                                         content="x")])  # fmt: skip
    write_ldap(rel, "r6.2", "2010-01", [_person("A B", "AB1", "Manager", "")])
    write_insiders(rel / "answers", [_insider("6.2", "1", "U", "01/01/2010 00:00:00",
                                              "01/02/2010 00:00:00")])  # fmt: skip
    first = _ingest(store, rel)
    second = _ingest(store, rel)
    assert first.total("stored") == 5 + 1 + 1 + 1
    assert second.total("stored") == 0
    assert store.fetch_value("SELECT count(*) FROM events") == 6


def test_absent_files_are_skipped_and_header_only_files_read_as_empty(
    store: EventStore, tmp_path: Path
) -> None:
    rel = tmp_path / "r4.2"
    write_file(rel, "r4.2", "http", [])
    sources = cert_sources(rel)
    assert [Path(s.file).name for s in sources] == ["http.csv"]
    assert all(isinstance(s, Source) for s in sources)
    assert _ingest(store, rel).total("read") == 0


def test_a_folder_without_cert_files_is_an_error_naming_what_was_expected(
    tmp_path: Path,
) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError) as info:
        cert_sources(tmp_path)
    assert info.value.file == str(tmp_path)
    for name in ("logon.csv", "http.csv", "LDAP", "psychometric.csv", "insiders.csv"):
        assert name in str(info.value)
    with pytest.raises(InputError):
        cert_sources(tmp_path / "missing")


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    rel = tmp_path / "r4.2"
    rel.mkdir()
    (rel / "logon.csv").write_bytes(b"")
    with pytest.raises(InputError) as info:
        cert_sources(rel)
    assert info.value.file == str(rel / "logon.csv")
