"""The SQLite writer queue: reentrant within a thread, exclusive across processes."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest

from custodes.store.writer import WriterLock


def _hold(
    database: str, held: multiprocessing.synchronize.Event, go: multiprocessing.synchronize.Event
) -> None:
    lock = WriterLock(Path(database))
    with lock:
        held.set()
        go.wait(30)
    lock.close()


def _free(path: Path) -> bool:
    """Whether another process could take the writer lock right now."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_nested_use_in_one_thread_does_not_deadlock(tmp_path: Path) -> None:
    lock = WriterLock(tmp_path / "cases.sqlite")
    with lock, lock:
        assert not _free(tmp_path / "cases.sqlite.writer")
    assert _free(tmp_path / "cases.sqlite.writer")  # released only by the outermost exit
    lock.close()


def test_another_process_holding_it_excludes_this_one(tmp_path: Path) -> None:
    database = tmp_path / "cases.sqlite"
    ctx = multiprocessing.get_context("spawn")
    held, go = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold, args=(str(database), held, go))
    child.start()
    try:
        assert held.wait(30)
        assert not _free(tmp_path / "cases.sqlite.writer")
        got = threading.Event()
        lock = WriterLock(database)

        def take() -> None:
            with lock:
                got.set()

        taker = threading.Thread(target=take)
        taker.start()
        assert not got.wait(0.3)  # queued behind the other process
        go.set()
        assert got.wait(30)  # woken once it let go
        taker.join(30)
        lock.close()
    finally:
        go.set()
        child.join(30)
    assert child.exitcode == 0


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    lock = WriterLock(tmp_path / "cases.sqlite")
    inside = 0
    most = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        for _ in range(50):
            with lock:
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.001)  # give the others every chance to get in
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert most == 1
    lock.close()


def test_in_memory_database_needs_no_file(tmp_path: Path) -> None:
    lock = WriterLock(None)
    with lock:
        pass
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_urls_have_no_lock_file(url: str) -> None:
    from custodes.store.cases import _sqlite_file

    assert _sqlite_file(url) is None
