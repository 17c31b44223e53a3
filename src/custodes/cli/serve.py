"""`custodes serve`: the JSON API (and later the web app) under uvicorn."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from custodes.cli.options import DEFAULT_DATA_DIR, DataDir


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (one per core serves most).", min=1, max=64)
    ] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Serve the API at http://HOST:PORT/api/ (OpenAPI at /openapi.json, docs at /docs).

    In development, with no users yet, an `admin` is created and its random password printed
    once; in production nothing is created (add users with `custodes user add`)."""
    import uvicorn

    from custodes.access.users import ensure_demo_admin
    from custodes.config import load_settings
    from custodes.store.cases import CaseStore
    from custodes.web.app import create_app

    settings = load_settings(data_dir=data_dir)
    with CaseStore.open(settings) as store, store.write() as session:
        demo = ensure_demo_admin(session, settings)
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
        uvicorn.run(create_app(settings), **common)
        return
    # Several processes: each builds its own app from the environment, so pass it on.
    os.environ["CUSTODES_DATA_DIR"] = str(settings.data_dir)
    uvicorn.run("custodes.web.app:create_app", factory=True, workers=workers, **common)
