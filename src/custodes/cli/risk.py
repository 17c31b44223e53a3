"""`custodes risk`, `custodes explain`, `custodes evaluate`: ranked staff, why, and how good."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from custodes.cli.options import DEFAULT_DATA_DIR, DataDir, Format
from custodes.cli.output import OutputFormat, emit, emit_object
from custodes.clock import utc_now
from custodes.errors import InputError
from custodes.store.events import EventStore

AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="Score as of this time (default: the latest event)."),
]


def _as_of(store: EventStore, value: str | None) -> datetime:
    from custodes.detect.results import last_event_time

    if value is None:
        return last_event_time(store) or utc_now()
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"--as-of must be a time like 2026-03-01T00:00, not {value!r}") from exc


def risk(
    limit: Annotated[int, typer.Option(help="At most this many staff, riskiest first.")] = 25,
    as_of: AsOf = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Staff ranked by risk score (0-100), with levels, categories and reasons."""
    from custodes.detect.results import contexts, load_alerts
    from custodes.risk import score_actors

    with EventStore.open(data_dir, read_only=True) as store:
        moment = _as_of(store, as_of)
        ranked = score_actors(load_alerts(store), contexts(store), moment)[:limit]
    if fmt is OutputFormat.table:
        emit(
            [
                {
                    "rank": r.rank,
                    "actor_id": r.actor_id,
                    "risk": f"{r.risk_score:.1f}",
                    "level": r.level.value,
                    "categories": ", ".join(r.categories),
                    "top reason": _clip(r.reasons[0]) if r.reasons else "",
                }
                for r in ranked
            ],
            fmt,
            title=f"Risk as of {moment:%Y-%m-%d %H:%M} UTC",
        )
        return
    emit([r.to_record() for r in ranked], fmt)


def explain(
    actor: Annotated[str, typer.Argument(help="The staff member (actor_id).")],
    as_of: AsOf = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Why an actor scores what they score: every contribution, and the evidence behind it."""
    from custodes.detect.results import contexts, load_alerts
    from custodes.risk import score_actors

    with EventStore.open(data_dir, read_only=True) as store:
        moment = _as_of(store, as_of)
        alerts = load_alerts(store, actor)
        scored = score_actors(alerts, contexts(store), moment)
    if not scored:
        raise InputError(f"no alerts for {actor!r} as of {moment:%Y-%m-%d}: risk score 0")
    result = scored[0]
    by_id = {a.alert_id: a for a in alerts}
    rows: list[dict[str, Any]] = []
    for c in result.contributions:
        alert = by_id.get(c.name)
        rows.append(
            {
                "points": round(c.value, 2),
                "kind": c.kind,
                "what": c.detail,
                "category": c.category or "",
                "window": f"{alert.window_start:%Y-%m-%d}" if alert else "",
                "evidence": list(alert.evidence_event_ids[:5]) if alert else [],
            }
        )
    if fmt is OutputFormat.table:
        Console(soft_wrap=True).print(
            f"[bold]{actor}[/]: risk {result.risk_score:.1f} ({result.level.value}), "
            f"{len(alerts)} alerts, as of {moment:%Y-%m-%d}"
        )
        emit(rows, fmt)
        return
    emit_object({**result.to_record(), "contributions": rows}, fmt)


def evaluate(
    labels: Annotated[
        Path | None,
        typer.Option(help="Ground-truth labels file (default: the store's labels table)."),
    ] = None,
    detector: Annotated[
        str | None,
        typer.Option(
            "--detector", "-d", help="Rank by this detector's scores and alerts (default: all)."
        ),
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Detection quality against ground truth, per scenario (the CERT literature's metrics)."""
    from custodes.detect.evaluation import evaluate as run_evaluation
    from custodes.detect.results import (
        actor_day_scores,
        labels_from_file,
        labels_from_store,
        load_alerts,
    )

    with EventStore.open(data_dir, read_only=True) as store:
        truth = labels_from_file(store, labels) if labels else labels_from_store(store)
        if not truth:
            raise InputError("no labels: pass --labels FILE or ingest labels first")
        alerts = load_alerts(store)
        if detector is not None:
            alerts = [a for a in alerts if a.detector == detector]
        result = run_evaluation(actor_day_scores(store, detector), truth, alerts)
    records = result.to_records()
    if fmt is OutputFormat.table:
        headers = {
            "scenario": "scenario",
            "insiders": "insiders",
            "detected": "found",
            "recall_at_0_1pct": "R@0.1%",
            "recall_at_1pct": "R@1%",
            "recall_at_5pct": "R@5%",
            "mean_percentile": "pctile",
            "precision_top20": "P@20",
        }
        emit(
            [{label: _short(r.get(key)) for key, label in headers.items()} for r in records],
            fmt,
            title="Detection quality (recall at actor-day budgets, mean insider percentile)",
        )
        return
    emit(records, fmt)


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _short(value: object) -> object:
    return f"{value:.2f}" if isinstance(value, float) else ("-" if value is None else value)
