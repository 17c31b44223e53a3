"""The CMU CERT insider-threat test datasets (releases r4.2, r5.2, r6.1, r6.2) as Sources.

CERT is the public benchmark for insider-threat detection, so reading its layout lets
Custodes be measured against published work. Everything streams through DuckDB: http.csv
alone is tens of GB, so Python only reads header rows (and the few hundred rows of
``answers/insiders.csv`` when it must tell which release they belong to).

Columns supported, by release (header rows; dates are ``%m/%d/%Y %H:%M:%S``):

============================ =========================================================
logon.csv (all)              id,date,user,pc,activity (Logon/Logoff)
device.csv r4.x              id,date,user,pc,activity (Connect/Disconnect)
device.csv r5.x, r6.x        id,date,user,pc,file_tree,activity
file.csv r4.x                id,date,user,pc,filename,content (each row a copy to removable media)
file.csv r5.x, r6.x          id,date,user,pc,filename,activity (File Open/Write/Copy/Delete),
                             to_removable_media,from_removable_media,content
email.csv r4.x               id,date,user,pc,to,cc,bcc,from,size,attachments (a count),content
email.csv r5.x, r6.x         id,date,user,pc,to,cc,bcc,from,activity (r5 Send/Receive,
                             r6 Send/View),size,attachments (``name(bytes)`` ;-list),content
http.csv r4.x, r5.x          id,date,user,pc,url,content
http.csv r6.x                id,date,user,pc,url,activity (WWW Visit/Download/Upload),content
LDAP/YYYY-MM.csv r4.x        employee_name,user_id,email,role,business_unit,functional_unit,
                             department,team,supervisor (supervisor is a *name*)
LDAP/YYYY-MM.csv r5.x, r6.x  as r4.x plus projects after role
psychometric.csv (all)       employee_name,user_id,O,C,E,A,N
answers/insiders.csv         dataset,scenario,details,user,start,end (every release in one file)
answers/rX.Y-N/…csv (r4.2,   ragged rows ``kind,id,date,user,pc,…`` of the insider's malicious
r5.2), answers/rX.Y-N.csv    events, kind = logon/device/file/email/http (r6.x rows are quoted)
============================ =========================================================

Sources: the r4.2 release readme (copy in wind9hawk/Experiment-JobSatisfactory-201808),
``answers/scenarios.txt`` (copy in the jinmang2/cert_insider_threat Hugging Face dataset), the
r4.1 to r6.2 feature extractor of Le et al. (lcd-dal/feature-extraction-for-CERT-insider-threat-
test-datasets), and r5.2/r6.2 rows quoted in public code that parses them.

Mapping (``source`` is ``cert_<file>``; ``device_id`` is ``pc``; ``actor_id`` is ``user``):

- ``event_id`` is ``<file>:<id>``: the readme's errata say ids are unique within a file but
  not across files, and the store deduplicates by ``event_id``.
- logon Logon/Logoff → ``login`` (outcome ``success``: CERT records only successful logons)
  / ``logout``. device Connect/Disconnect → ``device_connect``/``device_disconnect``.
- file: a copy or write *to* removable media (every r4.x row) → ``copy_to_removable``; other
  activities → ``x-file_open``/``x-file_write``/``x-file_copy``/``x-file_delete``.
- email Send (every r4.x row) → ``email_send`` with ``attrs.recipients``,
  ``attrs.attachments``, ``attrs.external`` (a recipient outside dtaa.com, the organisation's
  domain), ``attrs.recipient_domain`` (first external recipient's, else first recipient's);
  View → ``x-email_view``, Receive (r5.x) → ``x-email_receive``.
- http visit → ``http_visit``, WWW Upload → ``upload_external``, WWW Download →
  ``x-web_download``, all with ``attrs.url_domain`` (host without ``www.``).
- ``content`` columns are dropped. An unparseable date reaches the pipeline as its raw text,
  so the row is quarantined, never silently dropped.
- LDAP snapshots → one ``people`` row per user, from the last snapshot they are in. hire_date
  is the first month they appear (none if in the first snapshot); end_date the first day of
  the month after the last snapshot they are in (none if in the last one). role: ITAdmin →
  ``admin`` (also ``privileged``), titles ending in Engineer and ComputerProgrammer →
  ``engineer``, others ``other``; the title stays in ``attrs.title``. team is the
  functional unit / department / team path (team numbers repeat across departments).
  manager_id is the supervisor's user_id, resolved by name within the same snapshot, else
  across all snapshots (left empty when the name is ambiguous). Big-Five scores land in
  ``attrs.O`` … ``attrs.N``.
- insiders → ``labels``. Scenarios (answers/scenarios.txt): 1 after-hours thumb drive and
  upload to wikileaks.org, 2 job hunting then data theft on a thumb drive, 5 laid-off user
  uploads documents to Dropbox → ``data_exfiltration``; 3 a disgruntled system administrator
  plants a keylogger on his supervisor's machine and logs in as the supervisor →
  ``privilege_abuse`` (the labelled actor misuses admin power; it is the *supervisor's*
  account that gets shared); 4 a user logs into another user's machine, searches files and
  e-mails them home → ``data_exfiltration`` (what leaves is data, by personal e-mail; the
  label is on the snooper, whose own account is not used by anyone else, so not
  ``credential_sharing``). ``attrs`` keep the CERT dataset, scenario number and details file,
  plus the ids of the insider's events from the details file. When ``start``/``end`` cannot
  be parsed (r6.2's scenario-4 row lacks its month) the details file's first/last event time
  is used and ``attrs.start_from``/``end_from`` say so.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Final

from custodes.errors import InputError
from custodes.ingest.reader import csv_blank_lines
from custodes.ingest.source import Source, sql_string, unique_name
from custodes.model.schema import EVENTS, LABELS, PEOPLE

ORG_DOMAIN: Final = "dtaa.com"
CERT_DATE: Final = "%m/%d/%Y %H:%M:%S"
EVENT_FILES: Final = ("logon", "device", "file", "email", "http")

# CERT scenario number → contract scenario family (reasons in the module docstring).
SCENARIO_FAMILIES: Final[dict[int, str]] = {
    1: "data_exfiltration",
    2: "data_exfiltration",
    3: "privilege_abuse",
    4: "data_exfiltration",
    5: "data_exfiltration",
}

# Columns a file needs in every supported release; the release-specific ones are optional
# and switch the mapping (e.g. file.csv with ``activity`` is the r5+ layout).
_NEEDED: Final[dict[str, tuple[str, ...]]] = {
    "logon": ("id", "date", "user", "pc", "activity"),
    "device": ("id", "date", "user", "pc", "activity"),
    "file": ("id", "date", "user", "pc", "filename"),
    "email": ("id", "date", "user", "pc", "to", "cc", "bcc", "from", "size", "attachments"),
    "http": ("id", "date", "user", "pc", "url"),
    "ldap": ("employee_name", "user_id", "role"),
    "psychometric": ("user_id", "O", "C", "E", "A", "N"),
    "insiders": ("dataset", "scenario", "user", "start", "end"),
}
_LDAP_OPTIONAL: Final = (
    "email",
    "projects",
    "business_unit",
    "functional_unit",
    "department",
    "team",
    "supervisor",
)
_BIG_FIVE: Final = ("O", "C", "E", "A", "N")

# Same ceiling as the generic CSV reader: a longer record is quarantined, not buffered.
MAX_LINE_BYTES: Final = 8 * 1024 * 1024
_MAX_HEADER_BYTES: Final = 65_536
# Label attrs must stay under the contract's 64 KiB; beyond this the id list is left out.
_MAX_EVENT_IDS_CHARS: Final = 50_000

_LDAP_NAME = re.compile(r"\d{4}-\d{2}\.csv")
_RELEASE = re.compile(r"r?(\d+(?:\.\d+)?)", re.IGNORECASE)


def cert_sources(directory: Path, *, release: str | None = None) -> list[Source]:
    """One Source per CERT file present in ``directory`` (people and labels one each).

    ``release`` (``r4.2`` or ``4.2``) picks the insiders of that release from
    ``answers/insiders.csv``, which lists every release; by default it is read from the
    directory's name. ``answers/`` is looked for in the directory, then beside it. The
    first unusable file raises its InputError; see :func:`cert_sources_collecting`.
    """
    found = cert_sources_collecting(directory, release=release)
    for item in found:
        if isinstance(item, InputError):
            raise item
    return [item for item in found if isinstance(item, Source)]


def cert_sources_collecting(
    directory: Path, *, release: str | None = None
) -> list[Source | InputError]:
    """Like :func:`cert_sources`, but an unusable file becomes its InputError in the list.

    ``ingest_sources`` records such an error as a failed file and still ingests the rest,
    so one bad header in a release does not hold back the other files.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError("no such folder; expected a CERT release folder", file=directory)
    rel = _normalise_release(release) if release is not None else _release_of(directory)
    builders: list[Callable[[], Source | None]] = [lambda: _people_source(directory)]
    for stem in EVENT_FILES:
        path = directory / f"{stem}.csv"
        if path.is_file():
            builders.append(partial(_event_source, stem, path))
    builders.append(lambda: _labels_source(directory, rel))
    found: list[Source | InputError] = []
    for build in builders:
        try:
            source = build()
        except InputError as exc:
            found.append(exc)
            continue
        if source is not None:
            found.append(source)
    if not found:
        expected = [f"{s}.csv" for s in EVENT_FILES] + [
            "LDAP/YYYY-MM.csv",
            "psychometric.csv",
            "answers/insiders.csv",
        ]
        raise InputError(
            f"no CERT files here; expected some of {', '.join(expected)}", file=directory
        )
    return found


# --- reading -------------------------------------------------------------------------


def _header(path: Path) -> list[str]:
    """The header row, lower-cased; reading one line keeps huge files cheap to check."""
    try:
        with path.open("rb") as fh:
            first = fh.readline(_MAX_HEADER_BYTES)
    except OSError as exc:
        raise InputError(f"cannot be read: {exc}", file=path) from exc
    text = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    if not text.strip():
        raise InputError(
            "the file is empty or starts with a blank line; a CERT file starts with its header row",
            file=path,
        )
    names = [c.strip().lower() or f"column{i + 1}" for i, c in enumerate(next(csv.reader([text])))]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"the header names a column twice: {', '.join(dupes)}", file=path)
    return names


def _require(path: Path, header: Sequence[str], needed: Sequence[str]) -> None:
    for name in needed:
        if name.lower() not in header:
            raise InputError(
                f"missing column '{name}', which every CERT release has in this file "
                f"(columns found: {', '.join(header)})",
                file=path,
                field=name,
            )


def _scan(paths: Sequence[Path], header: Sequence[str], rejects: str, scan: str) -> str:
    """A read_csv of the files as text, broken records kept aside in ``rejects``.

    The columns come from the header we already read, so DuckDB does not sniff (sniffing
    a tens-of-GB file costs a pass); a record with too many or too few fields is rejected.
    """
    files = "[" + ", ".join(sql_string(str(p)) for p in paths) + "]"
    columns = "{" + ", ".join(f"{sql_string(c)}: 'VARCHAR'" for c in header) + "}"
    return (
        f"(SELECT * FROM read_csv({files}, header = true, all_varchar = true, "
        f"auto_detect = false, columns = {columns}, delim = ',', quote = '\"', escape = '\"', "
        f"strict_mode = true, null_padding = false, max_line_size = {MAX_LINE_BYTES}, "
        f"filename = '_cert_file', store_rejects = true, rejects_table = {sql_string(rejects)}, "
        f"rejects_scan = {sql_string(scan)}, rejects_limit = 0) WITH ORDINALITY)"
    )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(col: str, alias: str = "t") -> str:
    return f"nullif(trim({alias}.{_q(col)}), '')"


def _iso(timestamp: str) -> str:
    return f"strftime({timestamp}, '%Y-%m-%d %H:%M:%S')"


def _cert_time(expr: str) -> str:
    return f"try_strptime(trim({expr}), '{CERT_DATE}')"


def _ts(col: str, alias: str = "t") -> str:
    """ISO text when the CERT date parses, else the raw text for the pipeline to reject."""
    ref = f"{alias}.{_q(col)}"
    return f"coalesce({_iso(_cert_time(ref))}, {ref})"


def _bool(col: str, alias: str = "t") -> str:
    return f"CASE lower({_text(col, alias)}) WHEN 'true' THEN true WHEN 'false' THEN false END"


def _json(pairs: dict[str, str]) -> str:
    """A JSON object without its null members (json_merge_patch drops them)."""
    args = ", ".join(f"{sql_string(k)}, {v}" for k, v in pairs.items())
    return f"CAST(json_merge_patch('{{}}', json_object({args})) AS VARCHAR)"


def _select(exprs: dict[str, str], source: str) -> str:
    cols = ", ".join(f"{expr} AS {_q(name)}" for name, expr in exprs.items())
    return f"SELECT {cols}, t.ordinality AS _ord FROM {source} AS t"


# --- events --------------------------------------------------------------------------


def _event_source(stem: str, path: Path) -> Source:
    header = _header(path)
    _require(path, header, _NEEDED[stem])
    rejects, scan = unique_name("cert_rejects"), unique_name("cert_reject_scans")
    source = _scan([path], header, rejects, scan)
    exprs = {
        "event_id": f"CASE WHEN {_text('id')} IS NOT NULL "
        f"THEN {sql_string(stem + ':')} || {_text('id')} END",
        "ts": _ts("date"),
        "actor_id": _text("user"),
        "device_id": _text("pc"),
        "source": sql_string(f"cert_{stem}"),
    }
    activity = f"lower({_text('activity')})"
    raw_activity = _text("activity")
    if stem == "logon":
        exprs["action"] = (
            f"CASE {activity} WHEN 'logon' THEN 'login' WHEN 'logoff' THEN 'logout' "
            f"ELSE {raw_activity} END"
        )
        exprs["outcome"] = f"CASE {activity} WHEN 'logon' THEN 'success' END"
    elif stem == "device":
        # r2 spelled these Insert/Remove; accepting both costs nothing.
        exprs["action"] = (
            f"CASE WHEN {activity} IN ('connect', 'insert') THEN 'device_connect' "
            f"WHEN {activity} IN ('disconnect', 'remove') THEN 'device_disconnect' "
            f"ELSE {raw_activity} END"
        )
        exprs["target_type"] = "'device'"
        if "file_tree" in header:
            exprs["attrs"] = _json({"file_tree": _text("file_tree")})
    elif stem == "file":
        exprs.update(_file_exprs(path, header))
    elif stem == "email":
        exprs.update(_email_exprs(header))
        source = (
            "(SELECT *, list_filter(list_transform(string_split(concat_ws(';', "
            '"to", "cc", "bcc"), \';\'), lambda x: lower(trim(x))), lambda x: x <> \'\') '
            f"AS _rcpt FROM {source})"
        )
        source = (
            "(SELECT *, list_transform(_rcpt, lambda x: regexp_extract(x, '@([^@]+)$', 1)) "
            f"AS _domains FROM {source})"
        )
    elif stem == "http":
        exprs.update(_http_exprs(header))
    return Source(
        EVENTS,
        str(path),
        _select(exprs, source),
        path.stat().st_size,
        rejects,
        scan,
        header_lines=1,
        blank_lines=partial(csv_blank_lines, path, ","),
    )


def _file_exprs(path: Path, header: Sequence[str]) -> dict[str, str]:
    exprs = {"target_type": "'file'", "target_id": _text("filename")}
    if "activity" not in header:
        # r4.x: "Each entry represents a file copy to a removable media device."
        exprs["action"] = "'copy_to_removable'"
        exprs["attrs"] = _json({"to_removable_media": "true"})
        return exprs
    _require(path, header, ("to_removable_media", "from_removable_media"))
    activity = f"lower({_text('activity')})"
    # Opening or deleting a file on the drive moves nothing onto it; copies and writes do.
    exprs["action"] = (
        f"CASE WHEN {_bool('to_removable_media')} AND {activity} IN ('file copy', 'file write') "
        "THEN 'copy_to_removable' "
        f"WHEN {activity} = 'file open' THEN 'x-file_open' "
        f"WHEN {activity} = 'file write' THEN 'x-file_write' "
        f"WHEN {activity} = 'file copy' THEN 'x-file_copy' "
        f"WHEN {activity} = 'file delete' THEN 'x-file_delete' "
        f"ELSE {_text('activity')} END"
    )
    exprs["attrs"] = _json(
        {
            "cert_activity": _text("activity"),
            "to_removable_media": _bool("to_removable_media"),
            "from_removable_media": _bool("from_removable_media"),
        }
    )
    return exprs


def _email_exprs(header: Sequence[str]) -> dict[str, str]:
    if "activity" in header:
        activity = f"lower({_text('activity')})"
        action = (
            f"CASE {activity} WHEN 'send' THEN 'email_send' WHEN 'view' THEN 'x-email_view' "
            f"WHEN 'receive' THEN 'x-email_receive' ELSE {_text('activity')} END"
        )
    else:
        action = "'email_send'"  # r4.x logs only the mail each user sent
    org = sql_string(ORG_DOMAIN)
    external = f"list_filter(t._domains, lambda d: d <> '' AND d <> {org})"
    att = _text("attachments")
    # r4.x gives a count; r5.x and later a ;-list of "name(bytes)".
    attachments = (
        f"CASE WHEN {att} IS NULL THEN 0 "
        f"WHEN regexp_full_match({att}, '[0-9]+') THEN TRY_CAST({att} AS BIGINT) "
        f"ELSE len(list_filter(string_split({att}, ';'), lambda x: trim(x) <> '')) END"
    )
    attachment_bytes = (
        f"CASE WHEN NOT regexp_full_match(coalesce({att}, ''), '[0-9]*') THEN "
        f"list_sum(list_transform(regexp_extract_all({att}, '\\(([0-9]+)\\)', 1), "
        "lambda x: TRY_CAST(x AS BIGINT))) END"
    )
    attrs = {
        "recipients": "len(t._rcpt)",
        "external": f"len({external}) > 0",
        "recipient_domain": f"coalesce({external}[1], nullif(t._domains[1], ''))",
        "attachments": attachments,
        "attachment_bytes": attachment_bytes,
        "from": _text("from"),
    }
    return {"action": action, "bytes": _text("size"), "attrs": _json(attrs)}


def _http_exprs(header: Sequence[str]) -> dict[str, str]:
    if "activity" in header:
        activity = f"lower({_text('activity')})"
        action = (
            f"CASE {activity} WHEN 'www visit' THEN 'http_visit' "
            f"WHEN 'www upload' THEN 'upload_external' "
            f"WHEN 'www download' THEN 'x-web_download' ELSE {_text('activity')} END"
        )
    else:
        action = "'http_visit'"
    host = (
        f"regexp_replace(lower(regexp_extract({_text('url')}, "
        "'^(?:[A-Za-z][A-Za-z0-9+.-]*://)?(?:[^/@]*@)?([^/:?#]+)', 1)), '^www\\.', '')"
    )
    return {
        "action": action,
        "target_type": "'url'",
        "target_id": _text("url"),
        "attrs": _json({"url_domain": f"nullif({host}, '')"}),
    }


# --- people --------------------------------------------------------------------------


def _people_source(directory: Path) -> Source | None:
    ldap_dir = directory / "LDAP"
    snapshots = (
        sorted(p for p in ldap_dir.iterdir() if p.is_file() and _LDAP_NAME.fullmatch(p.name))
        if ldap_dir.is_dir()
        else []
    )
    psych = directory / "psychometric.csv"
    if not snapshots and not psych.is_file():
        return None
    rejects, scan = unique_name("cert_rejects"), unique_name("cert_reject_scans")
    ctes: list[str] = []
    size = 0
    ldap_header: list[str] = []
    if snapshots:
        ldap_header = _header(snapshots[0])
        _require(snapshots[0], ldap_header, _NEEDED["ldap"])
        for snap in snapshots[1:]:
            other = _header(snap)
            if other != ldap_header:
                raise InputError(
                    f"its columns ({', '.join(other)}) differ from {snapshots[0].name}'s "
                    f"({', '.join(ldap_header)}); all LDAP snapshots of a release share one "
                    "layout",
                    file=snap,
                )
        size += sum(p.stat().st_size for p in snapshots)
        optional = {c: _text(c) if c in ldap_header else "NULL" for c in _LDAP_OPTIONAL}
        year = "CAST(regexp_extract(t._cert_file, '([0-9]{4})-[0-9]{2}\\.csv$', 1) AS INTEGER)"
        mon = "CAST(regexp_extract(t._cert_file, '[0-9]{4}-([0-9]{2})\\.csv$', 1) AS INTEGER)"
        ctes.append(
            "ldap AS (SELECT "
            f"{_text('user_id')} AS uid, {_text('employee_name')} AS ename, "
            f"{_text('role')} AS title, "
            + "".join(f"{expr} AS {_q(c)}, " for c, expr in optional.items())
            + f"make_date({year}, {mon}, 1) AS month, "
            f"t.ordinality AS ord FROM {_scan(snapshots, ldap_header, rejects, scan)} AS t)"
        )
        ctes.append(
            "bounds AS (SELECT min(month) AS first_month, max(month) AS last_month FROM ldap)"
        )
        ctes.append(
            "span AS (SELECT uid, min(month) AS first_seen, max(month) AS last_seen, "
            "min(ord) AS ord FROM ldap GROUP BY uid)"
        )
        ctes.append(
            "latest AS (SELECT * FROM ldap QUALIFY row_number() OVER "
            "(PARTITION BY uid ORDER BY month DESC, ord DESC) = 1)"
        )
        ctes.append(
            "names AS (SELECT month, ename, min(uid) AS uid FROM ldap "
            "WHERE ename IS NOT NULL AND uid IS NOT NULL GROUP BY month, ename "
            "HAVING count(DISTINCT uid) = 1)"
        )
        # A supervisor who has left is still named by later snapshots: fall back to the
        # name across all snapshots when it is unambiguous there.
        ctes.append(
            "all_names AS (SELECT ename, min(uid) AS uid FROM ldap "
            "WHERE ename IS NOT NULL AND uid IS NOT NULL GROUP BY ename "
            "HAVING count(DISTINCT uid) = 1)"
        )
        ctes.append(
            "directory AS (SELECT l.*, s.first_seen, s.last_seen, s.ord AS first_ord, "
            "b.first_month, b.last_month, coalesce(n.uid, a.uid) AS manager_uid FROM latest l "
            "JOIN span s ON s.uid IS NOT DISTINCT FROM l.uid CROSS JOIN bounds b "
            "LEFT JOIN names n ON n.month = l.month AND n.ename = l.supervisor "
            "LEFT JOIN all_names a ON a.ename = l.supervisor)"
        )
    if psych.is_file():
        psych_header = _header(psych)
        _require(psych, psych_header, _NEEDED["psychometric"])
        size += psych.stat().st_size
        name = _text("employee_name") if "employee_name" in psych_header else "NULL"
        scores = "".join(f"{_text(c.lower())} AS {_q(c)}, " for c in _BIG_FIVE)
        ctes.append(
            f"psy AS (SELECT {_text('user_id')} AS uid, {name} AS ename, {scores}"
            f"t.ordinality AS ord FROM {_scan([psych], psych_header, rejects, scan)} AS t)"
        )
    else:
        nothing = "".join(f"NULL::VARCHAR AS {_q(c)}, " for c in _BIG_FIVE)
        ctes.append(
            "psy AS (SELECT NULL::VARCHAR AS uid, NULL::VARCHAR AS ename, "
            f"{nothing}NULL::BIGINT AS ord WHERE false)"
        )
    sql = "WITH " + ", ".join(ctes) + " " + _people_select(bool(snapshots))
    return Source(
        PEOPLE,
        str(ldap_dir if snapshots else psych),
        sql,
        size,
        rejects,
        scan,
        header_lines=1,
    )


def _people_select(ldap: bool) -> str:
    scores = {
        c: f"coalesce(to_json(TRY_CAST(p.{_q(c)} AS BIGINT)), to_json(p.{_q(c)}))"
        for c in _BIG_FIVE
    }
    if not ldap:
        return (
            "SELECT p.uid AS actor_id, p.ename AS name, "
            f"{_json(scores)} AS attrs, p.ord AS _ord FROM psy p"
        )
    title = "d.title"
    role = (
        f"CASE WHEN {title} = 'ITAdmin' THEN 'admin' "
        f"WHEN {title} LIKE '%Engineer' OR {title} = 'ComputerProgrammer' THEN 'engineer' "
        f"WHEN {title} IS NOT NULL THEN 'other' END"
    )
    team = "nullif(concat_ws(' / ', d.functional_unit, d.department, d.team), '')"
    attrs: dict[str, str] = {
        "title": title,
        "email": "d.email",
        "projects": "d.projects",
        "business_unit": "d.business_unit",
        "functional_unit": "d.functional_unit",
        "department": "d.department",
        "cert_team": "d.team",
        "supervisor": "d.supervisor",
    }
    attrs.update(scores)
    return (
        "SELECT coalesce(d.uid, p.uid) AS actor_id, coalesce(d.ename, p.ename) AS name, "
        f"{role} AS role, {team} AS team, d.manager_uid AS manager_id, "
        f"CASE WHEN d.first_seen > d.first_month THEN {_iso('d.first_seen')} END "
        "AS hire_date, "
        f"CASE WHEN d.last_seen < d.last_month THEN {_iso('d.last_seen + INTERVAL 1 MONTH')} "
        "END AS end_date, "
        f"CASE WHEN d.uid IS NOT NULL THEN CAST(coalesce({title} = 'ITAdmin', false) AS VARCHAR) "
        "END AS privileged, "
        f"{_json(attrs)} AS attrs, coalesce(d.first_ord, p.ord) AS _ord "
        "FROM directory d FULL OUTER JOIN psy p ON p.uid = d.uid"
    )


# --- labels --------------------------------------------------------------------------


def _normalise_release(release: str) -> str:
    match = _RELEASE.fullmatch(release.strip())
    if match is None:
        raise InputError(f"not a CERT release: {release!r}; write it like r4.2 or 4.2")
    return match.group(1)


def _release_of(directory: Path) -> str | None:
    match = _RELEASE.fullmatch(directory.resolve().name)
    return match.group(1) if match else None


def _answers_dir(directory: Path, release: str | None) -> Path | None:
    """answers/ inside the release folder, or beside it as the CERT archives unpack.

    The sibling folder serves every release, so it is only used when we know which
    release to pick from it.
    """
    inside = directory / "answers"
    if (inside / "insiders.csv").is_file():
        return inside
    beside = directory.resolve().parent / "answers"
    if release is not None and (beside / "insiders.csv").is_file():
        return beside
    return None


def _releases_listed(path: Path) -> set[str]:
    """The releases insiders.csv names; a few hundred rows, so Python may read them."""
    try:
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
            reader = csv.DictReader(fh)
            key = next((f for f in reader.fieldnames or [] if f.strip().lower() == "dataset"), None)
            if key is None:
                return set()
            return {(row.get(key) or "").strip() for row in reader} - {""}
    except OSError as exc:
        raise InputError(f"cannot be read: {exc}", file=path) from exc


def _labels_source(directory: Path, release: str | None) -> Source | None:
    answers = _answers_dir(directory, release)
    if answers is None:
        return None
    path = answers / "insiders.csv"
    header = _header(path)
    _require(path, header, _NEEDED["insiders"])
    if release is None:
        listed = _releases_listed(path)
        if len(listed) > 1:
            raise InputError(
                f"lists insiders of several CERT releases ({', '.join(sorted(listed))}) and "
                f"the folder name {directory.name!r} does not say which one this is; name the "
                "folder after its release (e.g. r4.2) or pass the release",
                file=path,
            )
    pattern = f"r{release}-*" if release is not None else "r*"
    details = sorted(
        p
        for p in {*answers.glob(f"{pattern}.csv"), *answers.glob(f"{pattern}/*.csv")}
        if p.is_file() and p.name != "insiders.csv"
    )
    rejects, scan = unique_name("cert_rejects"), unique_name("cert_reject_scans")
    where = ""
    if release is not None:
        rel = sql_string(release)
        where = (
            f"WHERE TRY_CAST({_text('dataset')} AS DOUBLE) = TRY_CAST({rel} AS DOUBLE) "
            f"OR ltrim(lower({_text('dataset')}), 'r') = {rel}"
        )
    details_col = _text("details") if "details" in header else "NULL::VARCHAR"
    ctes = [
        f"ins AS (SELECT t.*, {details_col} AS _details, t.ordinality AS _ord "
        f"FROM {_scan([path], header, rejects, scan)} AS t {where})"
    ]
    if details:
        files = "[" + ", ".join(sql_string(str(p)) for p in details) + "]"
        part = "trim(split_part(line, ',', {n}), '\" ')"
        ctes.append(
            "obs AS (SELECT regexp_extract(filename, '[^/\\\\]+$') AS details, "
            f"{part.format(n=1)} AS kind, {part.format(n=2)} AS id, "
            f"{_cert_time(part.format(n=3))} AS ts FROM (SELECT filename, "
            "unnest(string_split(replace(content, chr(13), ''), chr(10))) AS line "
            f"FROM read_text({files})))"
        )
        ctes.append(
            "det AS (SELECT details, list(kind || ':' || id ORDER BY ts, id) AS ids, "
            "count(*) AS n, min(ts) AS first_ts, max(ts) AS last_ts FROM obs "
            f"WHERE kind IN ({', '.join(sql_string(s) for s in EVENT_FILES)}) AND id <> '' "
            "GROUP BY details)"
        )
    else:
        ctes.append(
            "det AS (SELECT NULL::VARCHAR AS details, NULL::VARCHAR[] AS ids, NULL::BIGINT "
            "AS n, NULL::TIMESTAMP AS first_ts, NULL::TIMESTAMP AS last_ts WHERE false)"
        )
    sql = "WITH " + ", ".join(ctes) + " " + _labels_select()
    return Source(
        LABELS,
        str(path),
        sql,
        path.stat().st_size,
        rejects,
        scan,
        header_lines=1,
        blank_lines=partial(csv_blank_lines, path, ","),
    )


def _labels_select() -> str:
    number = f"TRY_CAST({_text('scenario', 'i')} AS DOUBLE)"
    family = (
        f"CASE {number} "
        + " ".join(f"WHEN {n} THEN {sql_string(f)}" for n, f in SCENARIO_FAMILIES.items())
        + f" ELSE {_text('scenario', 'i')} END"
    )
    start = _iso(_cert_time("i.start"))
    end = _iso(_cert_time('i."end"'))
    ids_json = "to_json(d.ids)"
    attrs = _json(
        {
            "cert_dataset": _text("dataset", "i"),
            "cert_scenario": f"TRY_CAST({number} AS BIGINT)",
            "details": "i._details",
            "event_count": "d.n",
            "event_ids": f"CASE WHEN length(CAST({ids_json} AS VARCHAR)) <= "
            f"{_MAX_EVENT_IDS_CHARS} THEN {ids_json} END",
            "event_ids_omitted": f"CASE WHEN length(CAST({ids_json} AS VARCHAR)) > "
            f"{_MAX_EVENT_IDS_CHARS} THEN true END",
            "start_from": f"CASE WHEN {start} IS NULL AND d.first_ts IS NOT NULL "
            "THEN 'details' END",
            "end_from": f"CASE WHEN {end} IS NULL AND d.last_ts IS NOT NULL THEN 'details' END",
        }
    )
    return (
        f"SELECT {_text('user', 'i')} AS actor_id, {family} AS scenario, "
        f"coalesce({start}, {_iso('d.first_ts')}, i.start) AS start, "
        f'coalesce({end}, {_iso("d.last_ts")}, i."end") AS "end", '
        f"{attrs} AS attrs, i._ord AS _ord "
        "FROM ins i LEFT JOIN det d ON d.details = regexp_extract(i._details, '[^/\\\\]+$')"
    )
