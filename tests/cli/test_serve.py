"""`custodes serve --workers N`: the shared listening socket must give accepted
connections TCP_NODELAY, or every keep-alive answer waits on the client's delayed ACK."""

from __future__ import annotations

import asyncio
import socket
import threading

import uvicorn

from custodes.cli.serve import tcp_listener


def _nodelay_of_accepted(listener: socket.socket) -> int:
    """Serve ``listener`` with asyncio as uvicorn's workers do; connect once; report the
    TCP_NODELAY of the server's side of that connection."""
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Probe, sock=listener)
        host, port = listener.getsockname()[:2]
        _reader, writer = await asyncio.open_connection(host, port)
        for _ in range(200):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        await server.wait_closed()

    # In a thread of its own: a test before this one in the same worker (Playwright's sync
    # API) may have left an event loop running in this thread.
    failed: list[BaseException] = []

    def serve() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:  # handed to the test's thread
            failed.append(exc)

    worker = threading.Thread(target=serve)
    worker.start()
    worker.join(30)
    if failed:
        raise failed[0]
    return seen[0]


def test_uvicorn_bound_socket_loses_nodelay_and_the_label_restores_it() -> None:
    config = uvicorn.Config("custodes.web.app:create_served_app", host="127.0.0.1", port=0)
    raw = config.bind_socket()
    # The bug this guards against (uvicorn #3149); if uvicorn fixes it, this line tells us.
    assert raw.proto in (0, socket.IPPROTO_TCP)
    labelled = tcp_listener(raw)
    assert labelled.proto == socket.IPPROTO_TCP
    assert _nodelay_of_accepted(labelled) == 1


def test_a_socket_already_labelled_is_kept() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        assert tcp_listener(sock) is sock
    finally:
        sock.close()
