"""`custodes verdict`, `custodes verdicts`, `custodes calibrate`: analysts teach detection."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer
from rich.console import Console

from custodes.cli.options import DEFAULT_DATA_DIR, DataDir, Format
from custodes.cli.output import OutputFormat, emit, emit_object
from custodes.detect.feedback import Verdict
from custodes.store.events import EventStore

Analyst = Annotated[
    str | None, typer.Option(help="Who decides (default: the logged-in user's name).")
]
Reason = Annotated[str, typer.Option(help="Why: kept with the decision, shown in history.")]


def _analyst(value: str | None) -> str:
    return value if value is not None else getpass.getuser()


def verdict(
    alert_id: Annotated[str, typer.Argument(help="The alert (see `custodes alerts`).")],
    decision: Annotated[Verdict, typer.Argument(help="true_positive or false_positive.")],
    reason: Reason,
    analyst: Analyst = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Record a verdict on an alert; repeat false positives of a pattern get muted."""
    from custodes.detect.feedback import record_verdict

    with EventStore.open(data_dir) as store:
        record = record_verdict(store, alert_id, decision, reason, _analyst(analyst))
        muted = int(store.fetch_value("SELECT count(*) FROM alerts WHERE suppressed IS NOT NULL"))
    emit_object(
        {
            "alert_id": record.alert_id,
            "verdict": str(record.verdict),
            "actor_id": record.actor_id,
            "pattern": record.pattern,
            "analyst": record.analyst,
            "decided_at": record.decided_at,
            "suppressed_alerts": muted,
        },
        fmt,
    )


def verdicts(
    alert_id: Annotated[str | None, typer.Option("--alert", help="Only this alert.")] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Verdicts, newest first (an alert's history with --alert)."""
    from custodes.detect.feedback import verdicts as read_verdicts

    with EventStore.open(data_dir, read_only=True) as store:
        rows = [
            {
                "alert_id": v.alert_id,
                "verdict": str(v.verdict),
                "actor_id": v.actor_id,
                "pattern": v.pattern,
                "analyst": v.analyst,
                "decided_at": v.decided_at,
                "reason": v.reason,
            }
            for v in read_verdicts(store, alert_id)
        ]
    emit(rows, fmt, title="Verdicts")


def calibrate(
    do_apply: Annotated[
        bool, typer.Option("--apply", help="Write the proposal as a new version.")
    ] = False,
    revert: Annotated[
        int | None, typer.Option(help="Write a new version equal to this one (0 = none).")
    ] = None,
    show_history: Annotated[bool, typer.Option("--history", help="List versions.")] = False,
    reason: Annotated[str, typer.Option(help="Why (required with --apply/--revert).")] = "",
    analyst: Analyst = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Propose per-pattern alert thresholds from verdicts; change them only with --apply."""
    from custodes.detect import calibration

    console = Console(stderr=True, soft_wrap=True, quiet=fmt is not OutputFormat.table)
    with EventStore.open(data_dir, read_only=not (do_apply or revert is not None)) as store:
        if show_history:
            versions = calibration.history(store)
            emit(
                [
                    {
                        "version": v.version,
                        "created_at": v.created_at,
                        "analyst": v.analyst,
                        "reason": v.reason,
                        "thresholds": v.thresholds,
                    }
                    for v in versions
                ],
                fmt,
                title="Calibration history",
            )
            return
        if revert is not None:
            version = calibration.revert(store, revert, _analyst(analyst), reason)
            emit_object(_version_record(version, store), fmt)
            return
        proposals = calibration.propose(store)
        rows: list[dict[str, Any]] = [
            {
                "pattern": p.pattern,
                "current": p.current,
                "proposed": round(p.proposed, 4),
                "true_positives": p.true_positives,
                "false_positives": p.false_positives,
                "false_positives_removed": p.false_positives_removed,
                "why": p.why,
            }
            for p in proposals
        ]
        if not do_apply:
            emit(rows, fmt, title="Proposed thresholds (nothing changed; --apply to write)")
            if not rows:
                console.print("No proposal: too few verdicts per pattern so far.")
            return
        version = calibration.apply(store, proposals, _analyst(analyst), reason)
        emit_object(_version_record(version, store), fmt)


def _version_record(version: Any, store: EventStore) -> dict[str, Any]:
    muted = int(store.fetch_value("SELECT count(*) FROM alerts WHERE suppressed IS NOT NULL"))
    return {
        "version": version.version,
        "created_at": version.created_at,
        "analyst": version.analyst,
        "reason": version.reason,
        "thresholds": version.thresholds,
        "suppressed_alerts": muted,
    }
