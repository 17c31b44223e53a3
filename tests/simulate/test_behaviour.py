"""Honest behaviour looks like a real review operation, including its harmless oddities."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from statistics import median
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from tests.simulate.conftest import Run


def _action(run: Run, action: str) -> pa.Table:
    ev = run.events
    return ev.filter(pc.equal(ev["action"], action))


def _insiders(run: Run) -> set[str]:
    return set(run.table("labels").column("actor_id").to_pylist())


def test_volume_is_about_sixty_events_per_person_per_day(full_volume: Run) -> None:
    per_day = full_volume.summary.events / full_volume.config.staff / full_volume.config.days
    assert 45 <= per_day <= 75


def test_qa_agrees_about_nine_times_in_ten(full_volume: Run) -> None:
    outcomes = Counter(_action(full_volume, "qa_review").column("outcome").to_pylist())
    assert 0.85 <= outcomes["agree"] / sum(outcomes.values()) <= 0.95


def test_appeals_overturn_a_minority_varying_by_policy(full_volume: Run) -> None:
    rows = _action(full_volume, "appeal_decision").to_pylist()
    by_policy: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        by_policy[json.loads(r["attrs"])["policy"]].append(r["outcome"] == "overturn")
    overall = sum(sum(v) for v in by_policy.values()) / len(rows)
    assert 0.04 <= overall <= 0.16
    rates = {p: sum(v) / len(v) for p, v in by_policy.items() if len(v) >= 100}
    assert max(rates.values()) > 1.5 * min(rates.values())


def test_moderators_mostly_but_not_always_follow_the_classifier(full_volume: Run) -> None:
    rows = _action(full_volume, "review_decision").select(["outcome", "attrs", "duration_ms"])
    follow, seconds = [], defaultdict(list)
    for r in rows.to_pylist():
        attrs = json.loads(r["attrs"])
        follow.append(attrs["suggested_label"] == r["outcome"])
        seconds[attrs["policy"]].append(r["duration_ms"] / 1000)
    assert 0.75 <= sum(follow) / len(follow) <= 0.93
    assert median(seconds["spam"]) * 4 < median(seconds["child_safety"])
    assert 8 < median(seconds["spam"]) < 20


def test_shifts_follow_local_time_across_daylight_saving(full_volume: Run) -> None:
    people = {p["actor_id"]: p for p in full_volume.table("people").to_pylist()}
    chicago = ZoneInfo("America/Chicago")
    local: dict[str, list[int]] = {"before": [], "after": []}
    utc_hour: dict[str, list[int]] = {"before": [], "after": []}
    switch = date(2026, 3, 8)
    for r in _action(full_volume, "login").select(["actor_id", "ts"]).to_pylist():
        p = people[r["actor_id"]]
        if p["site"] != "austin" or p["shift_start"] != "06:00":
            continue
        ts = r["ts"].replace(tzinfo=UTC)
        if ts.hour > 14:
            continue  # not a morning-shift login (swap, on-call, second session)
        when = "before" if ts.date() < switch else "after"
        at = ts.astimezone(chicago)
        local[when].append(at.hour * 60 + at.minute)
        utc_hour[when].append(ts.hour)
    assert local["before"] and local["after"]
    for when in ("before", "after"):
        assert abs(median(local[when]) - 6 * 60) <= 20, when
    assert median(utc_hour["before"]) - median(utc_hour["after"]) == 1


def test_weekends_are_quieter_but_not_empty(full_volume: Run) -> None:
    days = Counter(
        datetime.fromisoformat(str(d)).weekday()
        for d in pc.strftime(full_volume.events["ts"], format="%Y-%m-%d").to_pylist()
    )
    weekday = sum(days[d] for d in range(5)) / 5
    weekend = (days[5] + days[6]) / 2
    assert 0.1 < weekend / weekday < 0.6


def test_honest_people_also_do_things_that_look_suspicious(org300: Run) -> None:
    """The noise a naive detector trips over must exist among people with no label."""
    honest = pa.array(sorted(set(org300.table("people").column("actor_id").to_pylist())
                             - _insiders(org300)))  # fmt: skip
    ev = org300.events.filter(pc.is_in(org300.events["actor_id"], honest))
    private = ev.filter(pc.equal(ev["action"], "view_private_data"))
    assert private.filter(pc.is_null(private["ticket_id"])).num_rows > 10
    home = {p["actor_id"]: p["country"] for p in org300.table("people").to_pylist()}
    logins = ev.filter(pc.equal(ev["action"], "login")).to_pylist()
    abroad = {r["actor_id"] for r in logins if r["country"] != home[r["actor_id"]]}
    assert len(abroad) >= 3
    emails = ev.filter(pc.equal(ev["action"], "email_send")).column("attrs").to_pylist()
    assert any(json.loads(a)["recipient_domain"] == "gmail.com" for a in emails)
    grants = ev.filter(pc.equal(ev["action"], "role_grant")).num_rows
    assert grants > 10
    exports = ev.filter(pc.equal(ev["action"], "export_data")).column("records").to_pylist()
    assert max(exports) > 100_000
