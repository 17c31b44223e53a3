"""Insiders are planted as labelled, and misconduct happens only inside the labels."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

import numpy as np
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custodes.model.vocabulary import SCENARIOS
from custodes.simulate import SimulationConfig
from custodes.simulate.accounts import build_accounts
from custodes.simulate.calendar import Calendar
from custodes.simulate.network import Network
from custodes.simulate.org import SITE_COUNTRY, build_org
from custodes.simulate.scenarios import plan_insiders
from custodes.simulate.world import World
from tests.simulate.conftest import Run


def _labels(run: Run) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = run.table("labels").to_pylist()
    for r in rows:
        r["attrs"] = json.loads(str(r["attrs"]))
    return rows


def _windows(run: Run) -> dict[tuple[str, str], list[tuple[datetime, datetime]]]:
    out: dict[tuple[str, str], list[tuple[datetime, datetime]]] = {}
    for r in _labels(run):
        key = (str(r["actor_id"]), str(r["scenario"]))
        out.setdefault(key, []).append((r["start"], r["end"]))  # type: ignore[arg-type]
    return out


def test_every_family_is_planted_at_300_staff(org300: Run) -> None:
    labels = _labels(org300)
    assert {r["scenario"] for r in labels} == set(SCENARIOS)
    counts = Counter(str(r["scenario"]) for r in labels)
    assert org300.summary.insiders == {s: counts.get(s, 0) for s in SCENARIOS}
    # The label counts as insiders: about insider_fraction of staff (a pair for collusion).
    assert 12 <= len(labels) <= 20
    for r in labels:
        attrs = r["attrs"]
        assert isinstance(attrs, dict)
        assert 0.0 < attrs["intensity"] <= 1.0
        assert r["start"] < r["end"]  # type: ignore[operator]


def test_insiders_have_a_spread_of_intensities_and_durations(org300: Run) -> None:
    labels = _labels(org300)
    intensity = [r["attrs"]["intensity"] for r in labels]  # type: ignore[index]
    days = [(r["end"] - r["start"]).days for r in labels]  # type: ignore[operator]
    assert min(intensity) < 0.3 < max(intensity)
    assert min(days) <= 10 and max(days) >= 20


def test_misconduct_events_fall_inside_their_labels(org300: Run) -> None:
    windows = _windows(org300)
    truth = org300.truth.to_pylist()
    assert {t["scenario"] for t in truth} == set(SCENARIOS)
    for t in truth:
        spans = windows[(t["actor_id"], t["scenario"])]
        assert any(start <= t["ts"] < end for start, end in spans), t


def test_misconduct_events_are_real_written_events(org300: Run) -> None:
    written = set(org300.events.column("event_id").to_pylist())
    assert set(org300.truth.column("event_id").to_pylist()) <= written


def test_unjustified_access_shows_as_unticketed_private_views_in_the_window(org300: Run) -> None:
    """Judged from the written data alone, as a detector would see it."""
    ev = org300.events
    private = ev.filter(pc.equal(ev["action"], "view_private_data"))
    for (actor, scenario), spans in _windows(org300).items():
        if scenario != "unjustified_access":
            continue
        mine = private.filter(pc.equal(private["actor_id"], actor))
        ts = np.array(mine["ts"].to_pylist(), dtype="datetime64[us]")
        inside = np.zeros(ts.size, dtype=bool)
        for start, end in spans:
            inside |= (ts >= np.datetime64(start)) & (ts < np.datetime64(end))
        unticketed = np.array(mine["ticket_id"].is_null().to_pylist())
        assert (unticketed & inside).sum() >= 1
        days_inside = sum((e - s).days + 1 for s, e in spans)
        days_outside = max(1, org300.config.days - days_inside)
        rate_inside = (unticketed & inside).sum() / days_inside
        rate_outside = (unticketed & ~inside).sum() / days_outside
        assert rate_inside > 2 * rate_outside, (rate_inside, rate_outside)


def test_exfiltration_moves_data_to_personal_places_only_in_the_window(org300: Run) -> None:
    truth = org300.truth.filter(pc.equal(org300.truth["scenario"], "data_exfiltration"))
    assert truth.num_rows > 0
    ev = org300.events
    rows = ev.filter(pc.is_in(ev["event_id"], truth["event_id"]))
    actions = set(rows.column("action").to_pylist())
    assert actions & {"export_data", "download_file", "copy_to_removable", "upload_external",
                      "email_send"}  # fmt: skip
    for r in rows.filter(pc.equal(rows["action"], "email_send")).to_pylist():
        attrs = json.loads(r["attrs"])
        assert attrs["external"] and attrs["recipient_domain"] in (
            "gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "proton.me"
        )  # fmt: skip


def test_collusion_pairs_a_qa_analyst_with_a_moderator(org300: Run) -> None:
    people = {p["actor_id"]: p["role"] for p in org300.table("people").to_pylist()}
    pairs = [r for r in _labels(org300) if r["scenario"] == "qa_collusion"]
    assert len(pairs) % 2 == 0 and pairs
    for r in pairs:
        attrs = r["attrs"]
        assert isinstance(attrs, dict)
        partner = attrs["partner_id"]
        expected = "qa_analyst" if attrs["role_in_scheme"] == "perpetrator" else "moderator"
        assert people[str(r["actor_id"])] == expected
        assert partner in people


def _plan(staff: int, seed: int) -> list[str]:
    cfg = SimulationConfig(staff=staff, days=40, seed=seed)
    rng = np.random.default_rng
    net = Network(rng([seed, 0]))
    org = build_org(cfg, rng([seed, 1]), net)
    accounts = build_accounts(cfg, rng([seed, 2]), SITE_COUNTRY[org.site.astype(np.int64)])
    w = World(cfg, org, accounts, Calendar(cfg, rng([seed, 3])), net)
    return [i.scenario for i in plan_insiders(w, rng([seed, 4]))]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(staff=st.integers(100, 600), seed=st.integers(0, 2**31))
def test_at_least_one_insider_per_family_from_100_staff(staff: int, seed: int) -> None:
    assert set(_plan(staff, seed)) == set(SCENARIOS)


@pytest.mark.parametrize("staff", [20, 60])
def test_small_organisations_get_insiders_in_proportion(staff: int) -> None:
    planted = _plan(staff, 5)
    assert len(planted) <= round(0.04 * staff) + 1
