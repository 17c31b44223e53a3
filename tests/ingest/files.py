"""Builders for small contract files in every format, written the way users write them."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

EVENT_HEADER = ("event_id", "ts", "actor_id", "action", "target_id", "duration_ms", "attrs")


def event_rows(n: int, *, start: int = 0, actor: str = "u1") -> list[dict[str, Any]]:
    return [
        {
            "event_id": f"e{i}",
            "ts": f"2026-01-05T{8 + i % 10:02d}:{i % 60:02d}:00Z",
            "actor_id": actor,
            "action": "review_decision" if i % 2 else "view_profile",
            "target_id": f"c{i}",
            "duration_ms": 1000 + i,
            "attrs": json.dumps({"queue": f"q{i % 3}"}),
        }
        for i in range(start, start + n)
    ]


def write_csv(
    path: Path, rows: Sequence[Mapping[str, Any]], header: Sequence[str] | None = None
) -> Path:
    import csv

    cols = list(header or (rows[0].keys() if rows else EVENT_HEADER))
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(cols)
        for r in rows:
            writer.writerow(["" if r.get(c) is None else r.get(c) for c in cols])
    return path


def write_jsonl(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    text = "".join(json.dumps(dict(r), ensure_ascii=False) + "\n" for r in rows)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_parquet(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    pq.write_table(pa.Table.from_pylist([dict(r) for r in rows]), path)
    return path
