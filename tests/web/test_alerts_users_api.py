"""Alerts (from the event store, read-only per request) and users over HTTP."""

from __future__ import annotations

import subprocess
import sys

from custodes.access.roles import Role
from custodes.store.events import DB_FILE
from tests.web.conftest import Api
from tests.web.world import ACTORS, add_alert


def test_alerts_filter_sort_page_and_mask(api: Api) -> None:
    data = api.settings.data_dir
    made = [add_alert(data, ACTORS[i % 3], i, score=0.5 + i / 20) for i in range(6)]
    h = api.auth(Role.auditor)
    page = api.client.get("/api/alerts", params={"limit": 4}, headers=h).json()
    assert page["total"] == 6 and len(page["items"]) == 4
    scores = [a["score"] for a in page["items"]]
    assert scores == sorted(scores, reverse=True)
    rest = api.client.get("/api/alerts", params={"limit": 4, "offset": 4}, headers=h).json()
    assert len(rest["items"]) == 2
    ids = {a["alert_id"] for a in page["items"] + rest["items"]}
    assert ids == {a.alert_id for a in made}
    subject = page["items"][0]["subject"]
    mine = api.client.get("/api/alerts", params={"subject": subject}, headers=h).json()
    assert mine["total"] == 2 and {a["subject"] for a in mine["items"]} == {subject}
    assert all(a["actor_id"] is None for a in mine["items"])
    high = api.client.get("/api/alerts", params={"min_score": 0.7}, headers=h).json()
    assert high["total"] == sum(a.score >= 0.7 for a in made)
    oldest = api.client.get("/api/alerts", params={"sort": "window_end"}, headers=h).json()
    assert oldest["items"][0]["alert_id"] == made[0].alert_id
    assert api.client.get("/api/alerts/a-nope", headers=h).status_code == 404


def test_verdict_mutes_nothing_silently_and_404s_unknown(api: Api) -> None:
    alert = add_alert(api.settings.data_dir, ACTORS[0], 0)
    h = api.auth(Role.investigator)
    url = f"/api/alerts/{alert.alert_id}/verdict"
    done = api.client.post(url, json={"verdict": "false_positive", "reason": "ticketed"}, headers=h)
    assert done.status_code == 200
    assert done.json()["analyst"] == "investigator" and done.json()["subject"].startswith("S-")
    empty = api.client.post(url, json={"verdict": "false_positive", "reason": "  "}, headers=h)
    assert empty.status_code == 422
    unknown = api.client.post(
        "/api/alerts/a-0000/verdict", json={"verdict": "true_positive", "reason": "x"}, headers=h
    )
    assert unknown.status_code == 404


def test_event_store_locked_by_another_process_is_503(api: Api) -> None:
    add_alert(api.settings.data_dir, ACTORS[0], 0)
    path = api.settings.data_dir / DB_FILE
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
            "sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        answer = api.client.get("/api/alerts", headers=api.auth(Role.lead))
        assert answer.status_code == 503
        assert "in use by another custodes process" in answer.json()["detail"]
        assert answer.headers["retry-after"] == "5"
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
        assert holder.stdout is not None
        holder.stdout.close()
    assert api.client.get("/api/alerts", headers=api.auth(Role.lead)).status_code == 200


def test_users_create_list_update(api: Api) -> None:
    admin = api.auth(Role.admin)
    made = api.client.post(
        "/api/users",
        json={"username": "dana", "role": "investigator", "display_name": "Dana"},
        headers=admin,
    )
    assert made.status_code == 201
    password = made.json()["password"]
    assert password and len(password) >= 24
    assert "password" not in made.json()["user"]
    login = api.client.post("/api/auth/login", json={"username": "dana", "password": password})
    assert login.status_code == 200
    again = api.client.post("/api/users", json={"username": "dana", "role": "lead"}, headers=admin)
    assert again.status_code == 409
    weak = api.client.post(
        "/api/users",
        json={"username": "eve", "role": "lead", "password": "administrator"},
        headers=admin,
    )
    assert weak.status_code == 422 and weak.json()["detail"][0]["loc"] == ["body", "password"]
    listed = api.client.get(
        "/api/users", params={"role": "investigator", "sort": "-username"}, headers=admin
    ).json()
    assert [u["username"] for u in listed["items"]] == ["investigator", "dana"]
    found = api.client.get("/api/users", params={"q": "DAN"}, headers=admin).json()
    assert [u["username"] for u in found["items"]] == ["dana"]
    uid = made.json()["user"]["id"]
    first = api.client.patch(
        f"/api/users/{uid}", json={"version": 1, "role": "lead"}, headers=admin
    )
    assert first.status_code == 200 and first.json()["version"] == 2
    stale = api.client.patch(
        f"/api/users/{uid}", json={"version": 1, "disabled": True}, headers=admin
    )
    assert stale.status_code == 409
    now = api.client.get(f"/api/users/{uid}", headers=admin).json()
    assert (now["role"], now["disabled"]) == ("lead", False)
    assert api.client.get("/api/users/99999", headers=admin).status_code == 404
