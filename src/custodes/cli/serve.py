"""`custodes serve`: the web app and the JSON API under uvicorn."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Annotated, Any

import typer

from custodes.cli.options import DEFAULT_DATA_DIR, DataDir

if TYPE_CHECKING:
    from custodes.config import Settings


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (one per core serves most).", min=1, max=64)
    ] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Serve the web app at http://HOST:PORT/ and the API under /api/ (OpenAPI at
    /openapi.json, docs at /docs).

    In development, with no users yet, an `admin` is created and its random password printed
    once; in production nothing is created (add users with `custodes user add`)."""
    from custodes.config import load_settings

    run_server(
        load_settings(data_dir=data_dir),
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
    )


def run_server(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    access_log: bool = False,
) -> None:
    """Serve until interrupted (`custodes serve`, `custodes demo --serve`)."""
    import uvicorn

    from custodes.access.users import ensure_demo_admin, retire_demo_user
    from custodes.store.cases import CaseStore
    from custodes.web.app import create_served_app

    with CaseStore.open(settings) as store, store.write() as session:
        demo = ensure_demo_admin(session, settings)
        if retire_demo_user(session, settings):
            typer.echo("production: disabled the development demo login.", err=True)
    if demo is not None:
        typer.echo(
            f"development: created user {demo[0]!r} with password {demo[1]} "
            "(shown once; this never happens in production)",
            err=True,
        )
    if settings.environment != "development" and host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo("production: serve behind a TLS proxy (cookies are Secure-only).", err=True)
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "proxy_headers": True,
        "server_header": False,
        "log_level": "info",
        "access_log": access_log,
    }
    if workers == 1:
        uvicorn.run(create_served_app(settings), **common)
        return
    # Several processes: each builds its own app from the environment, so pass it on.
    os.environ["CUSTODES_DATA_DIR"] = str(settings.data_dir)
    # Each worker its own listening socket (custodes.cli.workers says why).
    from custodes.cli.workers import Workers, worker_listeners

    config = uvicorn.Config(
        "custodes.web.app:create_served_app", factory=True, workers=workers, **common
    )
    Workers(config, worker_listeners(config, workers)).run()


def tcp_listener(sock: socket.socket) -> socket.socket:
    """The same listening socket, labelled as TCP so that accepted connections get
    TCP_NODELAY.

    uvicorn binds the shared socket of ``--workers N`` with protocol 0; accepted sockets
    inherit it, and asyncio only switches Nagle's algorithm off when it sees IPPROTO_TCP.
    With Nagle on, a keep-alive answer's body waited ~40 ms for the client's delayed ACK:
    every request after the first (uvicorn issue #3149, open as of 0.54)."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto:
        return sock
    family, kind = sock.family, sock.type
    return socket.socket(family, kind, socket.IPPROTO_TCP, fileno=sock.detach())
