"""Progress for long work: a Rich bar at a terminal, quiet elsewhere (CI logs, pipes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Bar:
    """A single bar with a total in arbitrary units (bytes, days)."""

    def __init__(
        self, progress: Progress | None, total: float, label: str, console: Console
    ) -> None:
        self._progress = progress
        self._console = console
        self._task = progress.add_task(label, total=total) if progress else None

    def print(self, message: str) -> None:
        """A line above the live bar (through its console, so the bar is not garbled)."""
        console = self._progress.console if self._progress is not None else self._console
        console.print(message, highlight=False)

    def update(self, completed: float, label: str | None = None) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=completed, description=label)


@contextmanager
def progress_bar(total: float, label: str, console: Console | None = None) -> Iterator[Bar]:
    console = console or Console(stderr=True, soft_wrap=True)
    if not console.is_terminal:
        yield Bar(None, total, label, console)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        yield Bar(progress, total, label, console)
