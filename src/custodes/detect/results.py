"""Reading detection results back: alerts, actor-day scores, the context risk needs, and
ground-truth labels from a file (validated like any other contract input)."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

import pyarrow as pa

from custodes.detect.alert import Alert, Severity
from custodes.detect.ensemble import NAME as ENSEMBLE
from custodes.detect.evaluation import Label
from custodes.errors import InputError
from custodes.ingest.reader import source_for
from custodes.ingest.validation import compile_entity, quote
from custodes.model.schema import LABELS
from custodes.risk import ActorContext
from custodes.store.events import EventStore

_ALERT_COLUMNS = (
    "alert_id, actor_id, detector, category, severity, score, window_start, window_end, "
    "reasons, evidence_event_ids, pattern"
)


def load_alerts(
    store: EventStore,
    actor: str | None = None,
    *,
    include_suppressed: bool = False,
    actors: Sequence[str] | None = None,
) -> list[Alert]:
    """Alerts, highest score first; those muted by analyst feedback only when asked; only
    ``actor``'s, or only those of ``actors`` (a peer group), when given."""
    where = [] if include_suppressed else ["suppressed IS NULL"]
    params: list[object] = []
    if actor:
        where.append("actor_id = ?")
        params.append(actor)
    if actors is not None:
        if not actors:
            return []
        where.append(f"actor_id IN ({', '.join('?' for _ in actors)})")
        params.extend(actors)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = store.fetch_all(
        f"SELECT {_ALERT_COLUMNS} FROM alerts {clause} ORDER BY score DESC, alert_id", params
    )
    return [
        Alert(
            actor_id=r[1],
            detector=r[2],
            category=r[3],
            severity=Severity(r[4]),
            score=float(r[5]),
            window_start=r[6],
            window_end=r[7],
            reasons=tuple(r[8] or ()),
            evidence_event_ids=tuple(r[9] or ()),
            alert_id=r[0],
            pattern=r[10] or "",
        )
        for r in rows
    ]


def actor_day_scores(store: EventStore, detector: str | None = None) -> pa.Table:
    """One score per active actor-day (0 where nothing scored it): the ensemble's (see
    ensemble.py), or one detector's. A store without an ensemble falls back to the strongest
    any detector gave. Every actor-day with features is ranked, so budgets and percentiles
    mean the same whichever scores are ranked."""
    name = detector or ENSEMBLE
    if store.fetch_value("SELECT count(*) FROM actor_day_scores WHERE detector = ?", [name]):
        where, params = "WHERE detector = ?", [name]
    elif detector is not None:
        raise InputError(f"no scores from detector {detector!r}; run `custodes detect` first")
    else:
        where, params = "", []
    features = (
        "SELECT actor_id, day FROM features_actor_day UNION "
        if store.fetch_value(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
            ["features_actor_day"],
        )
        else ""
    )
    return store.fetch_arrow(
        f"""
        WITH s AS (SELECT actor_id, day, max(score) AS score FROM actor_day_scores {where}
                   GROUP BY actor_id, day)
        SELECT d.actor_id, d.day, coalesce(s.score, 0.0) AS score
        FROM ({features}SELECT actor_id, day FROM actor_day_scores) d
        LEFT JOIN s ON s.actor_id = d.actor_id AND s.day = d.day
        """,
        params,
    )


def contexts(store: EventStore) -> dict[str, ActorContext]:
    rows = store.fetch_all("SELECT actor_id, coalesce(privileged, false), notice_date FROM people")
    return {r[0]: ActorContext(privileged=bool(r[1]), notice_date=r[2]) for r in rows}


# Per open store (a request's): pages ask more than once, and the answer is fixed meanwhile.
_KNOWN: Final[weakref.WeakKeyDictionary[EventStore, frozenset[str]]] = weakref.WeakKeyDictionary()


def known_actors(store: EventStore) -> frozenset[str]:
    """Every staff id the store knows: the directory and anyone with an alert. What free
    text is masked against, and where a pseudonym is looked for."""
    found = _KNOWN.get(store)
    if found is None:
        found = _KNOWN[store] = frozenset(
            str(r[0])
            for r in store.fetch_all(
                "SELECT actor_id FROM people UNION SELECT DISTINCT actor_id FROM alerts"
            )
        )
    return found


def last_event_time(store: EventStore) -> datetime | None:
    value = store.fetch_value("SELECT max(ts) FROM events")
    return value if isinstance(value, datetime) else None


def labels_from_store(store: EventStore) -> list[Label]:
    rows = store.fetch_all('SELECT actor_id, scenario, start, "end" FROM labels')
    return [Label(r[0], r[1], r[2], r[3]) for r in rows]


def labels_from_file(store: EventStore, path: Path) -> list[Label]:
    """A labels file in any contract format; any bad row is an error naming its line."""
    source = source_for(path, LABELS)
    columns = dict(store.columns(f"SELECT * FROM ({source.relation_sql})"))
    missing = [n for n in LABELS.required if n not in {c.lower() for c in columns}]
    if missing:
        raise InputError(f"missing required column '{missing[0]}'", file=path, field=missing[0])
    compiled = compile_entity(LABELS, columns)
    texts = "".join(f", {expr} AS {quote(name)}" for name, expr in compiled.texts.items())
    values = ", ".join(compiled.values[n] for n in ("actor_id", "scenario", "start", "end"))
    rows = store.fetch_all(
        f"SELECT src._ord + {source.header_lines}, {compiled.error}, {values} "
        f"FROM (SELECT src.*{texts} FROM ({source.relation_sql}) src) src ORDER BY 1"
    )
    for line, error, *_ in rows:
        if error:
            field, _, reason = str(error).split("\x1e")[0].partition("\x1f")
            raise InputError(reason, file=path, row=int(line), field=field)
    return [Label(r[2], r[3], r[4], r[5]) for r in rows]
