"""Escalations come from every source, in three languages, with varied text and truth."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from custodes.model.vocabulary import ESCALATION_SOURCES
from custodes.simulate import SimulationConfig
from custodes.simulate.accounts import build_accounts
from custodes.simulate.escalations import Escalations
from custodes.simulate.phrases import CATEGORIES

# Words that only one of the three languages uses, all over the templates.
MARKERS = {
    "en": (" the ", " and ", " is ", " please", "report"),
    "es": (" el ", " una ", " de ", " para ", "denuncio", "solicitamos", " se "),
    "pt": (" uma ", " da ", " do ", " para ", "denuncio", "solicitamos", "ção"),
}
ONLY = {"en": (" the ",), "es": (" el ", " y ", "ción "), "pt": ("ção", " não ", " uma ", " da ")}


@pytest.fixture(scope="module")
def rows() -> list[dict[str, object]]:
    cfg = SimulationConfig(staff=300, days=30, seed=4)
    esc = Escalations(cfg, build_accounts(cfg, np.random.default_rng(1), np.zeros(300, np.int16)))
    for day in range(cfg.days):
        esc.day(day, np.random.default_rng([4, day]))
    table = esc.table()
    out: list[dict[str, object]] = table.to_pylist()
    for r in out:
        r["attrs"] = json.loads(str(r["attrs"]))
    return out


def test_volume_scales_with_staff(rows: list[dict[str, object]]) -> None:
    # staff / 15 a day by default: 20 a day for 30 days, plus campaigns and updates.
    assert 450 <= len(rows) <= 900


def test_languages_are_roughly_a_third_each(rows: list[dict[str, object]]) -> None:
    shares = Counter(r["attrs"]["true_language"] for r in rows)  # type: ignore[index]
    assert set(shares) == {"en", "es", "pt"}
    for lang, n in shares.items():
        assert 0.25 < n / len(rows) < 0.42, (lang, n)


def test_text_is_written_in_its_language(rows: list[dict[str, object]]) -> None:
    for r in rows:
        lang = r["attrs"]["true_language"]  # type: ignore[index]
        body = f" {str(r['body']).lower()} "
        others = [o for o in ONLY if o != lang]
        hits = {o: any(m in body for m in ONLY[o]) for o in others}
        assert not all(hits.values()), (lang, body)
        if r["language"] is not None:
            assert r["language"] == lang


def test_texts_vary(rows: list[dict[str, object]]) -> None:
    bodies = [str(r["body"]) for r in rows]
    assert len(set(bodies)) > 0.9 * len(bodies)
    openings = Counter(b.split(" ")[0].lower() for b in bodies)
    assert len(openings) >= 12


def test_sources_categories_and_ground_truth(rows: list[dict[str, object]]) -> None:
    assert {r["source"] for r in rows} == set(ESCALATION_SOURCES)
    truth = [r["attrs"] for r in rows]
    assert {t["true_category"] for t in truth} <= set(CATEGORIES)  # type: ignore[index]
    assert {t["true_priority"] for t in truth} >= {"P0", "P1", "P2", "P3"}  # type: ignore[index]
    hinted = [r for r in rows if r["reported_category"] is not None]
    right = sum(r["reported_category"] == r["attrs"]["true_category"] for r in hinted)  # type: ignore[index]
    assert 0.55 < right / len(hinted) < 0.95


def test_deadlines_repeats_clusters_and_updates(rows: list[dict[str, object]]) -> None:
    with_deadline = [r for r in rows if r["deadline"] is not None]
    assert with_deadline
    assert all(r["deadline"] > r["received_at"] for r in with_deadline)  # type: ignore[operator]
    assert any(r["source"] == "law_enforcement" for r in with_deadline)
    subjects = Counter(str(s[0]) for s in (r["subject_ids"] for r in rows) if s)  # type: ignore[index]
    assert max(subjects.values()) >= 3
    assert any("cluster_id" in r["attrs"] for r in rows)  # type: ignore[operator]
    ids = Counter(str(r["escalation_id"]) for r in rows)
    repeated = [i for i, n in ids.items() if n > 1]
    for i in repeated:
        versions = sorted((r for r in rows if r["escalation_id"] == i),
                          key=lambda r: r["received_at"])  # type: ignore[arg-type,return-value]  # fmt: skip
        assert versions[-1]["attrs"]["is_update"]  # type: ignore[index]
    received = [r["received_at"] for r in rows]
    assert received == sorted(received)  # type: ignore[type-var]
