"""`custodes rules`: validate, list and try declarative rule packs."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from custodes.cli.options import DEFAULT_DATA_DIR, DataDir, Format
from custodes.cli.output import OutputFormat, emit, emit_object
from custodes.config import load_settings
from custodes.detect.rules import Checked, RuleError, check
from custodes.detect.rules.loader import split_paths
from custodes.errors import InputError
from custodes.store.events import EventStore

app = typer.Typer(
    help="Declarative detection rules (YAML): validate packs, list rules, test them on data.",
    no_args_is_help=True,
)

Files = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Rule files or folders (default: the configured packs).", show_default=False
    ),
]
Builtin = Annotated[
    bool | None,
    typer.Option(
        "--builtin/--no-builtin",
        help="Include the starter pack shipped with custodes (default: only when no files "
        "are given, or as CUSTODES_RULES_BUILTIN says).",
        show_default=False,
    ),
]


def _read(files: list[Path] | None, builtin: bool | None) -> Checked:
    """The packs named, or — with none named — what the `rules` detector runs."""
    if files:
        return check(files, builtin=bool(builtin))
    settings = load_settings()
    extra = split_paths(settings.rules)
    use_builtin = settings.rules_builtin if builtin is None else builtin
    return check(extra, builtin=use_builtin)


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"--since must be a date like 2026-01-31, not {value!r}") from exc


def _error_record(e: RuleError) -> dict[str, Any]:
    return {"file": e.file, "line": e.line, "rule": e.rule, "field": e.field, "message": e.reason}


def _fail_on_errors(checked: Checked) -> None:
    if not checked.errors:
        return
    for e in checked.errors:
        sys.stderr.write(f"error: {e.render()}\n")
    sys.stderr.write(f"{len(checked.errors)} problem(s) in {len(checked.files)} file(s)\n")
    raise typer.Exit(2)


@app.command("validate")
def validate(
    files: Files = None, builtin: Builtin = None, fmt: Format = OutputFormat.table
) -> None:
    """Check rule files; every problem is listed as file:line, and the exit code is 2 if any."""
    checked = _read(files, builtin)
    if fmt is not OutputFormat.table:
        emit_object(
            {
                "files": checked.files,
                "rules": len(checked.rules),
                "errors": [_error_record(e) for e in checked.errors],
            },
            fmt,
        )
        if checked.errors:
            raise typer.Exit(2)
        return
    _fail_on_errors(checked)
    Console(soft_wrap=True).print(
        f"ok: {len(checked.rules)} rule(s) in {len(checked.files)} file(s)", highlight=False
    )


@app.command("list")
def list_rules(
    pack: Annotated[
        list[Path] | None,
        typer.Option("--pack", "-p", help="Rule file or folder (repeatable)."),
    ] = None,
    builtin: Builtin = None,
    fmt: Format = OutputFormat.table,
) -> None:
    """The rules of the configured packs (or of --pack files): id, family, severity, title."""
    checked = _read(pack, builtin)
    _fail_on_errors(checked)
    records = [
        {
            "id": r.id,
            "category": r.category,
            "severity": str(r.severity),
            "over": r.over,
            "title": r.title,
            "source": r.location,
        }
        for r in checked.rules
    ]
    if fmt is OutputFormat.table:
        shown = [{k: v for k, v in r.items() if k not in ("source", "over")} for r in records]
        emit(shown, fmt, title="Rules")
        return
    emit(records, fmt, columns=["id", "category", "severity", "over", "title", "source"])


@app.command("test")
def try_pack(
    files: Files = None,
    builtin: Builtin = None,
    since: Annotated[
        str | None, typer.Option(help="Only hits on local days from this one (YYYY-MM-DD).")
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    fmt: Format = OutputFormat.table,
) -> None:
    """Run rules on the store: hits (actor-days) and actors per rule, precision with labels."""
    from custodes.detect.rules.trial import try_rules

    checked = _read(files, builtin)
    _fail_on_errors(checked)
    with EventStore.open(data_dir, read_only=True) as store:
        trials, _ = try_rules(store, checked.rules, _day(since))
    records = [t.to_record() for t in trials]
    if fmt is OutputFormat.table:
        labelled = any(t.insiders is not None for t in trials)
        shown = [
            {
                "rule": r["rule"],
                "hits": r["actor_days"],
                "actors": r["actors"],
                **(
                    {
                        "in label": r["labelled_days"],
                        "precision": "-" if r["precision"] is None else f"{r['precision']:.2f}",
                        "insiders": f"{r['insiders_found']}/{r['insiders']}",
                    }
                    if labelled
                    else {}
                ),
            }
            for r in records
        ]
        caption = (
            "hits = actor-days where the rule held; in label = hits inside a label window of "
            "the rule's family"
            if labelled
            else "hits = actor-days where the rule held; no labels in the store"
        )
        emit(shown, fmt, title="Rule test", caption=caption)
        return
    emit(records, fmt)
