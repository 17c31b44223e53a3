"""Options every command shares, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from custodes.cli.output import OutputFormat

DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        envvar="CUSTODES_DATA_DIR",
        help="Folder holding the stores (event store, case store).",
        show_default=True,
    ),
]
DEFAULT_DATA_DIR = Path("custodes-data")

Format = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="table for people; csv, json or jsonl for programs."),
]
