"""`custodes demo` points at the web app, and `custodes demo --serve` gets there: detection
run, escalations imported, a demo login whose printed password works, the server up."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SMALL = ("--staff", "40", "--days", "7")


def test_demo_ends_by_saying_how_to_open_the_web_app(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "custodes", "demo", *SMALL, "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "custodes demo --serve" in done.stdout


def test_demo_serve_serves_with_a_one_time_login(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "d"
    log = tmp_path / "stderr.log"
    command = [sys.executable, "-m", "custodes", "demo", *SMALL, "--data-dir", str(data)]
    with log.open("w") as err:
        server = subprocess.Popen(
            [*command, "--serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "CUSTODES_ENVIRONMENT": "development"},
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 180
            while True:
                assert server.poll() is None, log.read_text()
                try:
                    if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
            said = log.read_text()
            found = re.search(r"sign in as demo with password (\S+)", said)
            assert found, said
            alerts = re.search(r"^([\d,]+) alerts$", said, re.M)
            stored = re.search(r"^([\d,]+) escalations stored", said, re.M)
            assert alerts and stored, said
            with httpx.Client(base_url=base, timeout=30) as client:
                login = client.post(
                    "/api/auth/login", json={"username": "demo", "password": found.group(1)}
                )
                assert login.status_code == 200, login.text
                assert login.json()["role"] == "admin"
                escalations = client.get("/api/escalations", params={"limit": 1}).json()
                assert escalations["total"] == int(stored.group(1).replace(",", "")) > 0
                listed = client.get("/api/alerts", params={"limit": 1}).json()
                assert listed["total"] == int(alerts.group(1).replace(",", ""))
                page = client.get("/")
                assert page.status_code == 200 and 'id="integrity-heading"' in page.text
        finally:
            server.terminate()
            server.wait(timeout=30)
