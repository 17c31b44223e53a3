"""`custodes serve --workers N`: uvicorn's supervisor, with one listening socket per worker.

Why not uvicorn's one shared socket: every worker waits on it, and the first to wake
accepts *every* pending connection in one go (asyncio accepts up to the listen backlog per
wake-up). Clients that open their keep-alive connections together — a reverse proxy's
pool, a load generator — therefore all land on one worker while the others idle: with
``wrk -c8`` against ``--workers 2``, one worker ran at 95 % of a core and the other at
0.3 %, so a second worker added nothing.

Here each worker slot has its own socket bound to the same address with ``SO_REUSEPORT``,
and the kernel spreads new connections over the sockets by a hash of their addresses. The
parent keeps every socket open, so connections that arrive while a worker restarts wait
in its socket's queue for the replacement. Without ``SO_REUSEPORT`` (not Linux or BSD)
the workers share one socket, as uvicorn does.

The process management mirrors ``uvicorn.supervisors.Multiprocess`` (0.54): only which
sockets a worker gets differs, so the methods that start workers are overridden.
"""

from __future__ import annotations

import logging
import socket

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import Process

from custodes.cli.serve import tcp_listener

logger = logging.getLogger("uvicorn.error")


def worker_listeners(config: Config, count: int) -> list[socket.socket]:
    """``count`` sockets bound to the configured address with ``SO_REUSEPORT`` (created as
    TCP, so accepted connections get TCP_NODELAY; see :func:`tcp_listener`); one socket
    uvicorn's way, shared by all workers, where ``SO_REUSEPORT`` is missing."""
    if not hasattr(socket, "SO_REUSEPORT") or config.uds is not None or config.fd is not None:
        return [tcp_listener(config.bind_socket())]
    host = config.host or "127.0.0.1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    port = config.port
    out: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            out.append(sock)
            sock.bind((host, port))
            port = sock.getsockname()[1]  # port 0: the others join the port the first got
            sock.set_inheritable(True)
    except OSError as exc:
        for sock in out:
            sock.close()
        logger.error(exc)
        raise SystemExit(STARTUP_FAILURE) from exc
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    logger.info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", shown, port)
    return out


class Workers(Multiprocess):
    """Worker ``i`` serves ``listeners[i]`` (the shared socket, if there is only one)."""

    def __init__(self, config: Config, listeners: list[socket.socket]) -> None:
        super().__init__(config, sockets=listeners[:1])
        self.listeners = listeners

    def _start(self, slot: int) -> Process:
        process = Process(self.config, [self._listener(slot)])
        process.start()
        return process

    def _listener(self, slot: int) -> socket.socket:
        if len(self.listeners) == 1:
            return self.listeners[0]
        while slot >= len(self.listeners):  # more workers than at start (SIGTTIN)
            self.listeners.extend(worker_listeners(self.config, 1)[:1])
        return self.listeners[slot]

    def init_processes(self) -> None:
        for slot in range(self.processes_num):
            self.processes.append(self._start(slot))

    def restart_all(self) -> None:
        """Replaces each worker, bringing its replacement (on the same socket) into service
        before retiring the old worker."""
        for idx, old_process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new_process = self._start(idx)
            if not new_process.wait_until_ready(
                self.config.timeout_worker_healthcheck, self.should_exit
            ):
                new_process.kill()
                new_process.join()
                if not self.should_exit.is_set():
                    logger.error(
                        f"New child process [{new_process.pid}] was not ready in time; "
                        f"keeping worker [{old_process.pid}] and aborting the restart."
                    )
                return
            old_process.terminate()
            old_process.join()
            self.processes[idx] = new_process

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for idx, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()  # hung: kill it
            process.join()
            if process.exitcode == STARTUP_FAILURE:
                logger.error(
                    f"Child process [{process.pid}] failed to start, stopping the parent process."
                )
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            logger.info(f"Child process [{process.pid}] died")
            self.processes[idx] = self._start(idx)

    def handle_ttin(self) -> None:
        logger.info("Received SIGTTIN, increasing the number of processes.")
        self.processes_num += 1
        self.processes.append(self._start(len(self.processes)))

    def handle_ttou(self) -> None:
        logger.info("Received SIGTTOU, decreasing number of processes.")
        if self.processes_num <= 1:
            logger.info(
                "Already reached one process, cannot decrease the number of processes anymore."
            )
            return
        self.processes_num -= 1
        process = self.processes.pop()
        process.terminate()
        process.join()
        if len(self.listeners) > len(self.processes):  # its socket: no one serves it now
            self.listeners.pop().close()
