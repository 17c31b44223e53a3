"""The SQLite writer queue: one writer at a time across the threads and processes of a host.

SQLite admits one writer; the others wait in its busy handler, which polls with sleeps of
1 to 100 ms. Under a few concurrent writers (every audited read is a write) those sleeps,
not the work, were the slowest answers of the API, and more so with ``serve --workers N``.
Here writers queue on a lock instead, and are woken the moment it is free: a thread lock
within a process and an advisory ``flock`` on a file beside the database between processes
(the busy handler stays as the fallback for writers that are not custodes, like the
``sqlite3`` shell).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the thread lock alone, busy handler between
    fcntl = None  # type: ignore[assignment]


class WriterLock:
    """A reentrant context manager: nested use in one thread does not deadlock (the nested
    transaction still meets SQLite's own lock, as it would without this class)."""

    def __init__(self, database: Path | None) -> None:
        self._thread = threading.RLock()
        self._path = database.with_name(database.name + ".writer") if database else None
        self._fd: int | None = None
        self._depth = 0

    def __enter__(self) -> WriterLock:
        self._thread.acquire()
        try:
            if self._depth == 0 and self._path is not None and fcntl is not None:
                if self._fd is None:
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread.release()
            raise
        self._depth += 1
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None and fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
