"""Misconduct rows are built from the same vocabulary as honest rows.

If an insider's event used a value no honest event ever uses (a tool name, a device
naming scheme, a JSON spelling), a detector could find insiders by string matching and
every detection number measured on this data would be worthless.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow.compute as pc

from tests.simulate.conftest import Run

_VALUE_KEYS = (
    "tool", "setting", "value", "url_domain", "recipient_domain", "category", "data_type",
    "query_type", "device_class", "dataset", "format", "external", "attachments", "policy",
    "queue", "suggested_label",
)  # fmt: skip


def _prefix(value: str | None) -> str:
    if not value:
        return ""
    for sep in (":", "/", "-"):
        if sep in value:
            return value.split(sep)[0]
    return value[0]


def signature(row: dict[str, object]) -> Iterator[tuple[str, str, str]]:
    action = str(row["action"])
    for name in ("source", "target_type", "outcome"):
        yield action, name, str(row[name])
    yield action, "device", _prefix(row["device_id"])  # type: ignore[arg-type]
    yield action, "target", _prefix(row["target_id"])  # type: ignore[arg-type]
    attrs = json.loads(str(row["attrs"])) if row["attrs"] else {}
    yield action, "keys", ",".join(sorted(attrs))
    for key in _VALUE_KEYS:
        if key in attrs:
            yield action, key, json.dumps(attrs[key])


def test_insider_rows_use_only_values_honest_rows_use(org300: Run) -> None:
    ev = org300.events
    flagged = pc.is_in(ev["event_id"], org300.truth["event_id"])
    honest: set[tuple[str, str, str]] = set()
    for batch in ev.filter(pc.invert(flagged)).to_batches():
        for row in batch.to_pylist():
            honest.update(signature(row))
    insider_rows = ev.filter(flagged).to_pylist()
    assert len(insider_rows) > 500
    unique = {s for row in insider_rows for s in signature(row)} - honest
    assert not unique


def test_attrs_are_spelled_one_way(org300: Run) -> None:
    """Compact JSON, and for each action one order of keys, whoever generated the row."""
    orders: dict[str, set[tuple[str, ...]]] = {}
    ev = org300.events.select(["action", "attrs"])
    for action, text in zip(ev["action"].to_pylist(), ev["attrs"].to_pylist(), strict=True):
        if text is None:
            continue
        parsed = json.loads(text)
        assert text == json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
        orders.setdefault(action, set()).add(tuple(parsed))
    for action, seen in orders.items():
        by_keys = {tuple(sorted(keys)): keys for keys in seen}
        assert len(by_keys) == len(seen), (action, seen)


def test_ids_do_not_reveal_generation_order(org300: Run) -> None:
    """Misconduct is generated last each day; its ids must not be the day's largest."""
    ev = org300.events
    flagged = set(org300.truth.column("event_id").to_pylist())
    by_day: dict[str, list[tuple[int, bool]]] = {}
    for eid in ev.column("event_id").to_pylist():
        by_day.setdefault(eid[1:5], []).append((int(eid[5:]), eid in flagged))
    ranks = []
    for rows in by_day.values():
        rows.sort()
        ranks += [i / len(rows) for i, (_, bad) in enumerate(rows) if bad]
    assert ranks
    assert 0.35 < sum(ranks) / len(ranks) < 0.65
