"""Write simulated contract data in the CMU CERT r6.2 release layout.

So detectors and third-party tools built for the CERT benchmark can run on Custodes'
synthetic organisations, and so `custodes.ingest.cert` can be tested on data with known
ground truth. This is the inverse of the reader's mapping (see that module's docstring):

============================== ================================================
contract action                CERT file, activity
============================== ================================================
login / logout                 logon.csv Logon / Logoff
device_connect / _disconnect   device.csv Connect / Disconnect
copy_to_removable              file.csv File Copy (or attrs.cert_activity), to_removable
x-file_open/_write/_copy/_del. file.csv File Open / Write / Copy / Delete
email_send / x-email_view      email.csv Send / View
http_visit / upload_external   http.csv WWW Visit / WWW Upload
x-web_download                 http.csv WWW Download
============================== ================================================

Other actions have no CERT counterpart and are left out. CERT dates have whole seconds, so
sub-second parts are dropped. Recipient lists are rebuilt from ``attrs`` (count, external,
recipient_domain), with repeated placeholder addresses: the reader's attrs survive a round
trip, the addresses themselves are not real. Attrs are read with anchored regular
expressions on the JSON text, which keeps every batch vectorised; keys nested inside other
values would confuse them, and the simulator writes none.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

ORG_DOMAIN: Final = "dtaa.com"
CERT_DATE: Final = "%m/%d/%Y %H:%M:%S"
DATASET: Final = "6.2"

HEADERS: Final[dict[str, tuple[str, ...]]] = {
    "logon": ("id", "date", "user", "pc", "activity"),
    "device": ("id", "date", "user", "pc", "file_tree", "activity"),
    "file": (
        "id", "date", "user", "pc", "filename", "activity", "to_removable_media",
        "from_removable_media", "content",
    ),
    "email": (
        "id", "date", "user", "pc", "to", "cc", "bcc", "from", "activity", "size",
        "attachments", "content",
    ),
    "http": ("id", "date", "user", "pc", "url", "activity", "content"),
}  # fmt: skip
LDAP_HEADER: Final = (
    "employee_name", "user_id", "email", "role", "projects", "business_unit",
    "functional_unit", "department", "team", "supervisor",
)  # fmt: skip
PSYCHOMETRIC_HEADER: Final = ("employee_name", "user_id", "O", "C", "E", "A", "N")
INSIDERS_HEADER: Final = ("dataset", "scenario", "details", "user", "start", "end")

# contract action → (CERT file, CERT activity)
ACTIVITIES: Final[dict[str, tuple[str, str]]] = {
    "login": ("logon", "Logon"),
    "logout": ("logon", "Logoff"),
    "device_connect": ("device", "Connect"),
    "device_disconnect": ("device", "Disconnect"),
    "copy_to_removable": ("file", "File Copy"),
    "x-file_open": ("file", "File Open"),
    "x-file_write": ("file", "File Write"),
    "x-file_copy": ("file", "File Copy"),
    "x-file_delete": ("file", "File Delete"),
    "email_send": ("email", "Send"),
    "x-email_view": ("email", "View"),
    "http_visit": ("http", "WWW Visit"),
    "upload_external": ("http", "WWW Upload"),
    "x-web_download": ("http", "WWW Download"),
}
# Contract scenario → CERT scenario number (scenarios.txt); the reader maps 1, 2, 4 and 5
# to data_exfiltration, and 2 (theft before leaving) is the closest to the simulator's.
SCENARIO_NUMBERS: Final[dict[str, int]] = {"data_exfiltration": 2, "privilege_abuse": 3}
ROLE_TITLES: Final[dict[str, str]] = {"admin": "ITAdmin", "engineer": "Engineer"}

_INTERNAL: Final = f"colleague@{ORG_DOMAIN}"
_EXTERNAL_DOMAIN: Final = "external.example"


class CertSink:
    """A `Sink` writing ``out_dir`` as a CERT r6.2 release folder (plus ``answers/``).

    Event files are appended batch by batch; people and labels are small and written at
    :meth:`close`, when the months the events span are known for the LDAP snapshots.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, IO[bytes]] = {}
        self._writers: dict[str, pacsv.CSVWriter] = {}
        self._generated: dict[str, int] = {}
        self._people: pa.Table | None = None
        self._labels: pa.Table | None = None
        self._first: datetime | None = None
        self._last: datetime | None = None

    def write_events(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self._note_span(batch.column("ts"))
        actions = batch.column("action")
        for stem in HEADERS:
            wanted = [a for a, (s, _) in ACTIVITIES.items() if s == stem]
            rows = batch.filter(pc.fill_null(pc.is_in(actions, pa.array(wanted)), False))
            if rows.num_rows:
                self._writer(stem).write_table(_TO_CERT[stem](rows, self._ids(stem, rows)))

    def write_table(self, entity: str, table: pa.Table) -> None:
        if entity == "people":
            self._people = table
        elif entity == "labels":
            self._labels = table
        # accounts, tickets and escalations have no CERT counterpart.

    def close(self) -> None:
        for stem in HEADERS:
            self._writer(stem)  # a release has every file, if only its header
        for writer in self._writers.values():
            writer.close()
        for fh in self._files.values():
            fh.close()
        self._writers.clear()
        self._files.clear()
        if self._people is not None:
            self._write_people(self._people)
        if self._labels is not None:
            self._write_labels(self._labels)

    # --- directory and ground truth ------------------------------------------------

    def _months(self, people: list[dict[str, Any]]) -> list[date]:
        """The months the events span, else those the directory's dates span."""
        if self._first is not None and self._last is not None:
            lo, hi = self._first.date(), self._last.date()
        else:
            dates = [d for p in people for d in (p["hire_date"], p["end_date"]) if d]
            if not dates:
                return []
            lo, hi = min(dates), max(dates)
        months, month = [], lo.replace(day=1)
        while month <= hi:
            months.append(month)
            month = _next_month(month)
        return months

    def _write_people(self, table: pa.Table) -> None:
        people = table.to_pylist()
        names = {p["actor_id"]: p.get("name") or p["actor_id"] for p in people}
        ldap_dir = self.out_dir / "LDAP"
        ldap_dir.mkdir(exist_ok=True)
        rows = [_ldap_row(p, names) for p in people]
        for month in self._months(people):
            end = _next_month(month)
            present = [
                row
                for p, row in zip(people, rows, strict=True)
                if (p["hire_date"] is None or p["hire_date"] < end)
                and (p["end_date"] is None or p["end_date"] > month)
            ]
            _write_csv(ldap_dir / f"{month:%Y-%m}.csv", LDAP_HEADER, present)
        psych = [
            {"employee_name": names[p["actor_id"]], "user_id": p["actor_id"]}
            | _big_five(p["actor_id"], _attrs(p))
            for p in people
        ]
        _write_csv(self.out_dir / "psychometric.csv", PSYCHOMETRIC_HEADER, psych)

    def _write_labels(self, table: pa.Table) -> None:
        rows = []
        for label in table.to_pylist():
            attrs = _attrs(label)
            scenario = attrs.get("cert_scenario") or SCENARIO_NUMBERS.get(
                label["scenario"], label["scenario"]
            )
            rows.append(
                {
                    "dataset": attrs.get("cert_dataset") or DATASET,
                    "scenario": scenario,
                    "details": attrs.get("details"),
                    "user": label["actor_id"],
                    "start": _cert(label["start"]),
                    "end": _cert(label["end"]),
                }
            )
        _write_csv(self.out_dir / "answers" / "insiders.csv", INSIDERS_HEADER, rows)

    # --- events ------------------------------------------------------------------------

    def _writer(self, stem: str) -> pacsv.CSVWriter:
        if stem not in self._writers:
            schema = pa.schema([(c, pa.string()) for c in HEADERS[stem]])
            fh = (self.out_dir / f"{stem}.csv").open("wb")
            self._files[stem] = fh
            self._writers[stem] = pacsv.CSVWriter(
                fh, schema, write_options=pacsv.WriteOptions(quoting_style="needed")
            )
        return self._writers[stem]

    def _note_span(self, ts: pa.ChunkedArray | pa.Array) -> None:
        lo, hi = pc.min_max(ts).values()
        if lo.is_valid:
            first, last = lo.as_py(), hi.as_py()
            self._first = first if self._first is None else min(self._first, first)
            self._last = last if self._last is None else max(self._last, last)

    def _ids(self, stem: str, rows: pa.RecordBatch) -> pa.Array:
        """CERT ids: the contract event_id, less the ``<file>:`` prefix the reader adds."""
        ids = pc.replace_substring_regex(
            rows.column("event_id"), pattern=f"^{stem}:", replacement="", max_replacements=1
        )
        start = self._generated.get(stem, 0)
        self._generated[stem] = start + rows.num_rows
        numbers = pa.array(range(start, start + rows.num_rows), pa.int64()).cast(pa.string())
        fallback = pc.binary_join_element_wise(f"{stem}-", numbers, "")
        return pc.coalesce(ids, fallback)


def _cert_dates(ts: pa.Array) -> pa.Array:
    return pc.strftime(pc.cast(ts, pa.timestamp("s"), safe=False), format=CERT_DATE)


def _text(values: pa.Array, default: str = "") -> pa.Array:
    return pc.fill_null(pc.cast(values, pa.string()), default)


def _attr(attrs: pa.Array, key: str, kind: str = "string") -> pa.Array:
    """One top-level value of the attrs JSON text, null where absent."""
    value = {
        "string": r'"(?P<v>(?:[^"\\]|\\.)*)"',
        "number": r"(?P<v>-?[0-9]+)",
        "bool": r"(?P<v>true|false)",
    }[kind]
    found = pc.extract_regex(attrs, pattern=f'"{key}"\\s*:\\s*{value}')
    out = pc.if_else(pc.is_valid(found), pc.struct_field(found, [0]), pa.scalar(None, pa.string()))
    if kind == "string":
        out = pc.replace_substring(out, pattern='\\"', replacement='"')
        out = pc.replace_substring(out, pattern="\\\\", replacement="\\")
    return out


def _activity(actions: pa.Array) -> pa.Array:
    keys = list(ACTIVITIES)
    index = pc.index_in(actions, value_set=pa.array(keys))
    return pc.take(pa.array([ACTIVITIES[k][1] for k in keys]), index)


def _base(rows: pa.RecordBatch, ids: pa.Array) -> dict[str, pa.Array]:
    return {
        "id": ids,
        "date": _cert_dates(rows.column("ts")),
        "user": _text(rows.column("actor_id")),
        "pc": _text(rows.column("device_id")),
    }


def _table(stem: str, cols: dict[str, pa.Array]) -> pa.Table:
    return pa.table({c: _text(cols[c]) for c in HEADERS[stem]})


def _logon(rows: pa.RecordBatch, ids: pa.Array) -> pa.Table:
    return _table("logon", {**_base(rows, ids), "activity": _activity(rows.column("action"))})


def _device(rows: pa.RecordBatch, ids: pa.Array) -> pa.Table:
    cols = _base(rows, ids)
    cols["file_tree"] = _attr(rows.column("attrs"), "file_tree")
    cols["activity"] = _activity(rows.column("action"))
    return _table("device", cols)


def _flag(value: pa.Array) -> pa.Array:
    return pc.if_else(value, "True", "False")


def _file(rows: pa.RecordBatch, ids: pa.Array) -> pa.Table:
    attrs, actions = rows.column("attrs"), rows.column("action")
    removable = pc.equal(actions, "copy_to_removable")
    kept = _attr(attrs, "cert_activity")
    kept_ok = pc.fill_null(pc.is_in(kept, pa.array(["File Copy", "File Write"])), False)
    cols = _base(rows, ids)
    cols["filename"] = rows.column("target_id")
    cols["activity"] = pc.if_else(pc.and_(removable, kept_ok), kept, _activity(actions))
    to_media = pc.fill_null(pc.equal(_attr(attrs, "to_removable_media", "bool"), "true"), False)
    from_media = pc.fill_null(pc.equal(_attr(attrs, "from_removable_media", "bool"), "true"), False)
    # The reader turns any copy or write to removable media into copy_to_removable, so only
    # opens and deletes may keep the flag without changing their action on a round trip.
    stays = pc.is_in(actions, pa.array(["x-file_open", "x-file_delete"]))
    cols["to_removable_media"] = _flag(pc.or_(removable, pc.and_(to_media, stays)))
    cols["from_removable_media"] = _flag(from_media)
    cols["content"] = pa.nulls(rows.num_rows, pa.string())
    return _table("file", cols)


def _email(rows: pa.RecordBatch, ids: pa.Array) -> pa.Table:
    attrs = rows.column("attrs")
    n = pc.max_element_wise(
        pc.fill_null(pc.cast(_attr(attrs, "recipients", "number"), pa.int64()), 1), 1
    )
    external = pc.fill_null(pc.equal(_attr(attrs, "external", "bool"), "true"), False)
    domain = _attr(attrs, "recipient_domain")
    usable = pc.and_(pc.is_valid(domain), pc.not_equal(pc.fill_null(domain, ""), ORG_DOMAIN))
    outside = pc.if_else(pc.fill_null(usable, False), domain, _EXTERNAL_DOMAIN)
    first = pc.if_else(external, pc.binary_join_element_wise("contact@", outside, ""), _INTERNAL)
    rest = pc.binary_repeat(f";{_INTERNAL}", pc.subtract(n, 1))
    count = pc.fill_null(pc.cast(_attr(attrs, "attachments", "number"), pa.int64()), 0)
    has = pc.greater(count, 0)
    size0 = pc.fill_null(_attr(attrs, "attachment_bytes", "number"), "0")
    first_att = pc.binary_join_element_wise("attachment.bin(", size0, ")", "")
    more = pc.binary_repeat(";attachment.bin(0)", pc.max_element_wise(pc.subtract(count, 1), 0))
    attachments = pc.if_else(has, pc.binary_join_element_wise(first_att, more, ""), "")
    actor_mail = pc.binary_join_element_wise(_text(rows.column("actor_id")), f"@{ORG_DOMAIN}", "")
    cols = _base(rows, ids)
    cols.update(
        {
            "to": pc.binary_join_element_wise(first, rest, ""),
            "cc": pa.nulls(rows.num_rows, pa.string()),
            "bcc": pa.nulls(rows.num_rows, pa.string()),
            "from": pc.coalesce(_attr(attrs, "from"), actor_mail),
            "activity": _activity(rows.column("action")),
            "size": pc.cast(rows.column("bytes"), pa.string()),
            "attachments": attachments,
            "content": pa.nulls(rows.num_rows, pa.string()),
        }
    )
    return _table("email", cols)


def _http(rows: pa.RecordBatch, ids: pa.Array) -> pa.Table:
    target = rows.column("target_id")
    is_url = pc.fill_null(pc.match_substring_regex(target, "^[A-Za-z][A-Za-z0-9+.-]*://"), False)
    domain = pc.fill_null(_attr(rows.column("attrs"), "url_domain"), "unknown.example")
    built = pc.binary_join_element_wise("http://", domain, "/", _text(target), "")
    cols = _base(rows, ids)
    cols["url"] = pc.if_else(is_url, target, built)
    cols["activity"] = _activity(rows.column("action"))
    cols["content"] = pa.nulls(rows.num_rows, pa.string())
    return _table("http", cols)


_TO_CERT: Final = {
    "logon": _logon,
    "device": _device,
    "file": _file,
    "email": _email,
    "http": _http,
}


def _next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def _cert(when: datetime | None) -> str | None:
    return when.strftime(CERT_DATE) if when is not None else None


def _attrs(record: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(record.get("attrs") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _ldap_row(person: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    attrs = _attrs(person)
    actor = person["actor_id"]
    manager = person.get("manager_id")
    return {
        "employee_name": names[actor],
        "user_id": actor,
        "email": attrs.get("email") or f"{actor}@{ORG_DOMAIN}",
        "role": attrs.get("title") or ROLE_TITLES.get(person["role"], person["role"]),
        "projects": attrs.get("projects"),
        "business_unit": attrs.get("business_unit"),
        "functional_unit": attrs.get("functional_unit"),
        "department": attrs.get("department"),
        # The reader joins unit / department / team back into one path.
        "team": attrs.get("cert_team") if "functional_unit" in attrs else person.get("team"),
        "supervisor": names.get(manager, manager) if manager else None,
    }


def _big_five(actor_id: str, attrs: dict[str, Any]) -> dict[str, int]:
    """The person's scores if they have them, else stable ones derived from their id."""
    scores = {}
    for trait in PSYCHOMETRIC_HEADER[2:]:
        given = attrs.get(trait)
        if isinstance(given, int) and not isinstance(given, bool):
            scores[trait] = given
        else:
            digest = hashlib.sha256(f"{actor_id}/{trait}".encode()).digest()
            scores[trait] = 10 + int.from_bytes(digest[:4], "big") % 41  # CERT's 10..50
    return scores


def _write_csv(path: Path, header: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in header])
