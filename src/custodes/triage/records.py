"""Escalation files (JSON Lines or CSV) read row by row, and rated without a store.

Every row comes back with its number (the file's line number; for CSV, the line the record
ends on) and either its fields or the :class:`InputError` that names file, row and field, so
one bad row never stops the good ones.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from custodes.errors import InputError
from custodes.triage.escalation import EscalationInput
from custodes.triage.intake import validate
from custodes.triage.policy import Policy
from custodes.triage.rating import Rating, RatingContext, rate
from custodes.triage.reading import read
from custodes.triage.rows import derived_id, keys_of

JSONL: Final = (".jsonl", ".ndjson", ".json")
CSV: Final = (".csv",)

Row = tuple[int, dict[str, Any] | InputError]


def read_records(path: Path) -> Iterator[Row]:
    """``(row, fields)`` or ``(row, error)`` for every record of ``path``."""
    suffix = path.suffix.lower()
    if suffix in JSONL:
        yield from _jsonl(path)
    elif suffix in CSV:
        yield from _csv(path)
    else:
        raise InputError("unknown format: name it .jsonl or .csv", file=path)


def _jsonl(path: Path) -> Iterator[Row]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
            except UnicodeDecodeError as exc:
                yield number, InputError(f"not UTF-8 (byte {exc.start})", file=path, row=number)
                continue
            except (json.JSONDecodeError, RecursionError) as exc:
                msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
                yield number, InputError(f"not JSON: {msg}", file=path, row=number)
                continue
            if not isinstance(data, dict):
                yield number, InputError("a record must be a JSON object", file=path, row=number)
                continue
            yield number, data


def _csv(path: Path) -> Iterator[Row]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"not UTF-8 (byte {exc.start})", file=path, row=line) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        for fields in reader:
            number = reader.line_num
            if None in fields:
                yield number, InputError("more fields than the header", file=path, row=number)
                continue
            yield number, {k: (v if v != "" else None) for k, v in fields.items()}
    except csv.Error as exc:
        raise InputError(f"not CSV: {exc}", file=path, row=reader.line_num) from None


@dataclass(frozen=True)
class Rated:
    row: int
    escalation_id: str
    rating: Rating

    def to_dict(self) -> dict[str, Any]:
        """The contract's triage output (§2)."""
        r = self.rating
        return {
            "escalation_id": self.escalation_id,
            "rating": r.band,
            "score": r.score,
            "factors": [
                {"name": f.name, "input": f.input, "contribution": f.contribution}
                for f in r.factors
            ],
            "route": r.route,
            "sla_due_at": r.sla_due_at.isoformat(),
            "language": r.language,
            "category": r.category,
        }


def located(exc: InputError, file: Path | str | None) -> InputError:
    """``exc`` with the file named (row and field kept)."""
    if exc.file is not None or file is None:
        return exc
    return InputError(exc.reason, file=file, row=exc.row, field=exc.field)


def rate_rows(
    rows: Sequence[Row], policy: Policy, *, file: Path | str | None = None
) -> tuple[list[Rated], list[InputError]]:
    """Rate every good row, the file standing in for the store: a repeated id is one
    escalation (its last row wins), ``earlier_escalations`` and ``cluster_size`` count the
    file's other escalations about the same subjects and URLs."""
    errors: list[InputError] = []
    latest: dict[str, tuple[int, EscalationInput]] = {}
    for number, data in rows:
        if isinstance(data, InputError):
            errors.append(located(data, file))
            continue
        try:
            e = validate(data, row=number)
        except InputError as exc:
            errors.append(located(exc, file))
            continue
        latest[e.escalation_id or derived_id(e)] = (number, e)
    keys = {eid: keys_of(e) for eid, (_n, e) in latest.items()}
    holders: dict[str, set[str]] = defaultdict(set)  # key -> escalations naming it
    for eid, mine in keys.items():
        for key in mine:
            holders[key].add(eid)
    out = []
    for eid, (number, e) in latest.items():
        mine = keys[eid]
        shared = set().union(*(holders[k] for k in mine)) - {eid} if mine else set()
        about = set().union(
            *(holders[k] for k, kind in mine.items() if kind == "subject"), set()
        ) - {eid}
        earlier = sum(
            1
            for o in about
            if "subject" in {keys[o].get(k) for k in mine if mine[k] == "subject"}
            and latest[o][1].received_at < e.received_at
        )
        context = RatingContext(earlier_escalations=earlier, cluster_size=1 + len(shared))
        rating = rate(e, read(e.text, language_hint=e.language), context, policy)
        out.append(Rated(number, eid, rating))
    return out, errors
