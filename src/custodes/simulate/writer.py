"""Writes event batches on a second thread while the next day is being generated.

Encoding and compressing Parquet (or CSV) is about a third of a run; Arrow and numpy
release the GIL for it, so on a two-core machine it overlaps generation almost entirely.
Batches keep their order: one writer thread, one FIFO queue of at most two days.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Final

_DONE: Final = object()


class BackgroundWriter:
    def __init__(self, write: Callable[[object], None], depth: int = 2) -> None:
        self._write = write
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="simulate-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._error is None:
                try:
                    self._write(item)
                except BaseException as exc:  # re-raised in the producer's thread
                    self._error = exc

    def put(self, item: object) -> None:
        self._raise()
        self._queue.put(item)

    def close(self, quiet: bool = False) -> None:
        """Wait for everything queued to be written; raise what the writer raised.

        ``quiet`` is for closing while another exception is already on its way.
        """
        self._queue.put(_DONE)
        self._thread.join()
        if not quiet:
            self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error
