"""The documents themselves: real PDFs read back with pdftotext, charts present and not
blank (SVG marks in the HTML, PNG images with varying pixels in the PDF), the report's own
numbers in the text, and no real identity anywhere in a pseudonymised document.

The stores' behaviour on both databases is covered by the builders' tests; rendering does
not depend on the database, so these run on SQLite only.
"""

from __future__ import annotations

import base64
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from custodes.access.principal import Principal
from custodes.config import Settings
from custodes.privacy import unmasking
from custodes.privacy.pseudonyms import Pseudonyms
from custodes.reports import documents, escalations, integrity
from custodes.reports.case import build as build_case
from custodes.reports.documents import Written
from custodes.store.cases import CaseStore
from custodes.store.events import EventStore
from custodes.triage.policy import load_policy
from tests.conftest import case_store_url
from tests.reports.conftest import pdf_text, require_poppler
from tests.reports.world import WEEK, Clock, escalation_world, integrity_world
from tests.web.world import ACTORS

SVG_URI = re.compile(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')
PNG_URI = re.compile(r'src="data:image/png;base64,')


@pytest.fixture
def case_url(tmp_path: Path) -> Iterator[str]:
    yield from case_store_url("sqlite", tmp_path)


def words(text: str) -> str:
    """Text with every run of whitespace made one space (PDF lines wrap anywhere)."""
    return " ".join(text.split())


def files(written: Written) -> dict[str, Path]:
    return {p.suffix.lstrip("."): p for p in written.files}


def pdf_images(pdf: Path, into: Path) -> list[Image.Image]:
    """Every raster image embedded in ``pdf``, decoded (not their transparency masks,
    which pdfimages lists and extracts as images of type ``smask``)."""
    require_poppler()
    listed = subprocess.run(
        ["pdfimages", "-list", str(pdf)], capture_output=True, check=True, text=True
    ).stdout.splitlines()[2:]
    kinds = [line.split()[2] for line in listed]
    into.mkdir()
    subprocess.run(["pdfimages", "-png", str(pdf), str(into / "img")], check=True)
    extracted = sorted(into.glob("img-*.png"))
    assert len(extracted) == len(kinds)
    return [
        Image.open(p).convert("L") for p, k in zip(extracted, kinds, strict=True) if k == "image"
    ]


def test_escalation_report_pdf_has_its_numbers_and_real_charts(
    cases: CaseStore, people: dict[str, Principal], clock: Clock, tmp_path: Path
) -> None:
    escalation_world(cases, people["tri"], clock)
    report = escalations.build(people["admin"], cases, WEEK, load_policy())
    written = documents.write_escalations(report, tmp_path / "out")
    out = files(written)
    assert written.name == "escalations-week-2026-W10" and set(out) == {"html", "pdf"}
    text = words(pdf_text(out["pdf"]))
    assert "Escalations report: week 10 of 2026" in text
    for h in report.highlights:
        assert words(h.text) in text, h.rule
    assert f"{report.totals.received} escalations received" in text
    source = next(c for c in report.by_source if c.value == "law_enforcement")
    assert f"law enforcement {source.count} {round(100 * (source.share or 0))}%" in text
    ack = report.clock("acknowledge")
    assert ack is not None
    assert f"Acknowledge {ack.steps} {ack.late} {round(100 * (ack.on_time_share or 0))}%" in text
    cause = report.breach_causes[0]
    assert cause.cause in text
    # Charts: SVG in the HTML, with marks drawn; PNG in the PDF, not blank.
    page = out["html"].read_text()
    svgs = [base64.b64decode(s).decode() for s in SVG_URI.findall(page)]
    assert len(svgs) == 7 and not PNG_URI.search(page)
    for svg in svgs:
        assert 'class="mark-rect role-mark' in svg
        assert re.search(r'<path[^>]* d="M[^"]+"', svg)
    images = pdf_images(out["pdf"], tmp_path / "images")
    assert len(images) == 7
    for image in images:
        assert image.width >= 600 and image.height >= 100
        assert ImageStat.Stat(image).stddev[0] > 10, "a blank chart"
        darkest, _lightest = image.getextrema()
        assert isinstance(darkest, int) and darkest < 100  # dark marks on white


def test_an_empty_period_renders_without_charts(
    cases: CaseStore, people: dict[str, Principal], tmp_path: Path
) -> None:
    report = escalations.build(people["admin"], cases, WEEK, load_policy())
    out = files(documents.write_escalations(report, tmp_path))
    text = words(pdf_text(out["pdf"]))
    assert "No escalations this week or the one before." in text
    assert "No escalation was resolved this period." in text
    assert not SVG_URI.search(out["html"].read_text())
    assert pdf_images(out["pdf"], tmp_path / "images") == []


def test_integrity_documents_carry_pseudonyms_only(
    cases: CaseStore,
    settings: Settings,
    people: dict[str, Principal],
    clock: Clock,
    tmp_path: Path,
) -> None:
    integrity_world(cases, settings, people, clock)
    pseudonyms = Pseudonyms.load(cases, settings)
    with EventStore.open(settings.data_dir, read_only=True) as events:
        report = integrity.build(people["admin"], cases, events, WEEK, pseudonyms)
    out = files(documents.write_integrity(report, tmp_path / "out"))
    page, text = out["html"].read_text(), pdf_text(out["pdf"])
    for actor in ACTORS:
        assert actor not in page and actor not in text
        assert actor.split("-")[1] not in page.lower()  # not even the name part
    assert pseudonyms.of(ACTORS[0]) in text and pseudonyms.of(ACTORS[0]) in page
    flat = words(text)
    assert "Integrity report: week 10 of 2026" in flat
    assert f"{report.totals.alerts} alerts whose window started this period" in flat
    assert "unjustified access 5 0 5 2" in flat  # family, alerts, muted, high, staff
    assert len(pdf_images(out["pdf"], tmp_path / "images")) == 5


def test_case_documents_pseudonymised_then_unmasked(
    cases: CaseStore,
    settings: Settings,
    people: dict[str, Principal],
    clock: Clock,
    tmp_path: Path,
) -> None:
    world = integrity_world(cases, settings, people, clock)
    pseudonyms = Pseudonyms.load(cases, settings)
    mallory = pseudonyms.of(ACTORS[0])
    with EventStore.open(settings.data_dir, read_only=True) as events:
        masked = build_case(people["lead"], cases, events, world.closed_case, pseudonyms)
        plain = files(documents.write_case(masked, tmp_path / "out"))
        page, text = plain["html"].read_text(), pdf_text(plain["pdf"])
        for actor in ACTORS:
            assert actor not in page and actor not in text
        flat = words(text)
        assert f"Case {world.closed_case}: unjustified access: {mallory}" in flat
        assert f"Interviewed the team lead; {mallory} admitted it." in flat
        assert "Forensic timeline" in flat and "view_profile" in flat
        evidence = masked.evidence[0].content_hash
        raw = "".join(pdf_text(plain["pdf"], raw=True).split())
        assert evidence in raw  # the whole hash, however its cell wrapped it
        assert "Left out: the audit log is shown to holders of audit.read" in flat
        assert f"Making this document is audit row {masked.audit_seq}" in flat
        assert not plain["pdf"].name.endswith("-unmasked.pdf")

        with cases.write() as session:
            unmasking.request(
                session,
                people["admin"],
                mallory,
                "the tribunal asked for the name",
                world.closed_case,
                settings=settings,
            )
        shown = build_case(people["admin"], cases, events, world.closed_case, pseudonyms)
    named = files(documents.write_case(shown, tmp_path / "out"))
    assert named["pdf"].name.endswith("-unmasked.pdf")
    flat = words(pdf_text(named["pdf"]))
    assert f"{mallory} = {ACTORS[0]}" in flat
    assert "contains real identities" in flat
    assert "Audit trail" in flat and "case.close" in flat and "unmask.request" in flat
    assert ACTORS[1] not in flat  # only the unmasked subject is named


def test_files_are_written_whole_and_owner_only(
    cases: CaseStore, people: dict[str, Principal], tmp_path: Path
) -> None:
    report = escalations.build(people["admin"], cases, WEEK, load_policy())
    written = documents.write_escalations(report, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in written.files
    )  # no .part file left behind
    for path in written.files:
        assert path.stat().st_mode & 0o077 == 0
