"""The `custodes` command: one Typer app, one module per command group.

Command modules are imported only when their command runs (or when help lists them): the
case store's, the web app's and the ML libraries take seconds to import, and a command such
as ``custodes detect`` should not pay for modules it never uses. Register a command by
adding it to ``COMMANDS`` (its module is imported lazily), not by importing it here.
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated, Final

import typer
from typer import _click as click
from typer.core import TyperGroup

from custodes import __version__
from custodes.errors import CustodesError

# name -> (module, attribute): a command function, or a Typer app for a command group.
COMMANDS: Final[dict[str, tuple[str, str]]] = {
    # In the order help lists them: commands first, then groups (as Typer lists them).
    "status": ("custodes.cli.status", "status"),
    "export": ("custodes.cli.export", "export"),
    "simulate": ("custodes.cli.simulate", "simulate_command"),
    "demo": ("custodes.cli.demo", "demo"),
    "detect": ("custodes.cli.detect", "detect"),
    "alerts": ("custodes.cli.detect", "alerts"),
    "risk": ("custodes.cli.risk", "risk"),
    "explain": ("custodes.cli.risk", "explain"),
    "evaluate": ("custodes.cli.risk", "evaluate"),
    "verdict": ("custodes.cli.feedback", "verdict"),
    "verdicts": ("custodes.cli.feedback", "verdicts"),
    "calibrate": ("custodes.cli.feedback", "calibrate"),
    "serve": ("custodes.cli.serve", "serve"),
    "ingest": ("custodes.cli.ingest", "app"),
    "rules": ("custodes.cli.rules", "app"),
    "case": ("custodes.cli.cases", "app"),
    "triage": ("custodes.cli.triage", "app"),
    "audit": ("custodes.cli.audit", "app"),
    "report": ("custodes.cli.report", "app"),
    "user": ("custodes.cli.users", "user_app"),
    "token": ("custodes.cli.users", "token_app"),
}


def load_command(name: str) -> click.Command:
    """The click command for ``name``, importing its module now."""
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command: click.Command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class _LazyGroup(TyperGroup):
    """The root group: ``COMMANDS`` are loaded on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in COMMANDS if n not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.add_command(load_command(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    name="custodes",
    cls=_LazyGroup,
    help="Custodes: integrity analytics and escalation triage for Trust & Safety teams.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
