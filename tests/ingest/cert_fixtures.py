"""Small CERT-shaped release folders, written by the tests themselves.

The CERT dataset's licence forbids redistributing it, so nothing of it is committed: these
builders write files with the real releases' headers (see the table in
``custodes.ingest.cert``) and rows the tests choose.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

CERT_DATE: Final = "%m/%d/%Y %H:%M:%S"

HEADERS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "r4.2": {
        "logon": ("id", "date", "user", "pc", "activity"),
        "device": ("id", "date", "user", "pc", "activity"),
        "file": ("id", "date", "user", "pc", "filename", "content"),
        "email": (
            "id", "date", "user", "pc", "to", "cc", "bcc", "from", "size", "attachments",
            "content",
        ),
        "http": ("id", "date", "user", "pc", "url", "content"),
        "ldap": (
            "employee_name", "user_id", "email", "role", "business_unit", "functional_unit",
            "department", "team", "supervisor",
        ),
        "psychometric": ("employee_name", "user_id", "O", "C", "E", "A", "N"),
    },
    "r6.2": {
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
        "ldap": (
            "employee_name", "user_id", "email", "role", "projects", "business_unit",
            "functional_unit", "department", "team", "supervisor",
        ),
        "psychometric": ("employee_name", "user_id", "O", "C", "E", "A", "N"),
    },
}  # fmt: skip
INSIDERS_HEADER: Final = ("dataset", "scenario", "details", "user", "start", "end")


def cert_date(when: datetime) -> str:
    return when.strftime(CERT_DATE)


def write_rows(
    path: Path, header: Sequence[str], rows: Sequence[Mapping[str, object] | Sequence[object]]
) -> Path:
    """Rows as dicts (missing keys empty) or as raw lists (for deliberately broken rows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            if isinstance(row, Mapping):
                writer.writerow(["" if row.get(c) is None else row.get(c) for c in header])
            else:
                writer.writerow(list(row))
    return path


def write_file(
    release_dir: Path,
    layout: str,
    name: str,
    rows: Sequence[Mapping[str, object] | Sequence[object]],
) -> Path:
    """One of logon/device/file/email/http/psychometric in ``layout``'s columns."""
    return write_rows(release_dir / f"{name}.csv", HEADERS[layout][name], rows)


def write_ldap(
    release_dir: Path, layout: str, month: str, rows: Sequence[Mapping[str, object]]
) -> Path:
    return write_rows(release_dir / "LDAP" / f"{month}.csv", HEADERS[layout]["ldap"], rows)


def write_insiders(answers_dir: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    return write_rows(answers_dir / "insiders.csv", INSIDERS_HEADER, rows)


def write_details(path: Path, lines: Sequence[str]) -> Path:
    """A per-insider answers file: ragged rows, so written as raw text lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path
