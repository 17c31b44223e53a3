"""The `custodes` command: one Typer app, one module per command group."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from custodes import __version__
from custodes.cli import demo, detect, export, feedback, ingest, risk, rules, simulate, status
from custodes.errors import CustodesError

app = typer.Typer(
    name="custodes",
    help="Custodes: integrity analytics and escalation triage for Trust & Safety teams.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(ingest.app, name="ingest")
app.add_typer(rules.app, name="rules")
app.command("status")(status.status)
app.command("export")(export.export)
app.command("simulate")(simulate.simulate_command)
app.command("demo")(demo.demo)
app.command("detect")(detect.detect)
app.command("alerts")(detect.alerts)
app.command("risk")(risk.risk)
app.command("explain")(risk.explain)
app.command("evaluate")(risk.evaluate)
app.command("verdict")(feedback.verdict)
app.command("verdicts")(feedback.verdicts)
app.command("calibrate")(feedback.calibrate)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"custodes {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Watch the watchers: find staff misconduct, triage escalations, keep the audit trail."""


def main() -> None:
    """Entry point: errors Custodes raises on purpose print as one clear line, no traceback."""
    try:
        app()
    except CustodesError as exc:
        # One unwrapped line, so logs and scripts can grep it.
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
