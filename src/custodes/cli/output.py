"""Record output for people (a Rich table) and programs (CSV, JSON, JSON Lines).

Field names are the contract's; JSON and CSV are stable, so pipelines can depend on them.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(_cell(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(_plain(value), ensure_ascii=False)
    return str(_plain(value))


def _is_number(value: Any) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and value.replace(",", "").replace(".", "", 1).isdigit()


def emit(
    records: Sequence[Mapping[str, Any]],
    fmt: OutputFormat,
    *,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    caption: str | None = None,
    console: Console | None = None,
) -> None:
    """Write records to stdout in the chosen format."""
    cols = list(columns) if columns else (list(records[0].keys()) if records else [])
    if fmt is OutputFormat.json:
        sys.stdout.write(
            json.dumps([_plain(dict(r)) for r in records], ensure_ascii=False, indent=2)
        )
        sys.stdout.write("\n")
    elif fmt is OutputFormat.jsonl:
        for r in records:
            sys.stdout.write(json.dumps(_plain(dict(r)), ensure_ascii=False) + "\n")
    elif fmt is OutputFormat.csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(cols)
        for r in records:
            writer.writerow([_cell(r.get(c)) for c in cols])
        sys.stdout.write(buf.getvalue())
    else:
        # A light box: tables must fit 80 columns when piped, without wrapping numbers.
        table = Table(
            title=title, caption=caption, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
        )
        for c in cols:
            numeric = bool(records) and all(_is_number(r.get(c)) for r in records)
            # Short values (numbers, dates, codes) never wrap; long text folds.
            short = all(len(_cell(r.get(c))) <= 22 for r in records)
            table.add_column(
                c, overflow="fold", no_wrap=short, justify="right" if numeric else "left"
            )
        for r in records:
            table.add_row(*[_cell(r.get(c)) for c in cols])
        (console or Console()).print(table)


def emit_object(obj: Mapping[str, Any], fmt: OutputFormat) -> None:
    """A single JSON document for programs; key/value rows for people."""
    if fmt in (OutputFormat.json, OutputFormat.jsonl):
        indent = 2 if fmt is OutputFormat.json else None
        sys.stdout.write(json.dumps(_plain(dict(obj)), ensure_ascii=False, indent=indent) + "\n")
        return
    rows: list[dict[str, Any]] = []
    for key, value in obj.items():
        if isinstance(value, Mapping):
            rows.extend({"name": f"{key}.{k}", "value": v} for k, v in value.items())
        else:
            rows.append({"name": key, "value": value})
    emit(rows, fmt, columns=["name", "value"])
