"""Fixtures for report tests: the team, a settable clock, settings, and the poppler tools
(``pdftotext``, ``pdfimages``) that read the PDFs back.

PDF tests skip when poppler-utils is missing, unless CUSTODES_REQUIRE_REPORTS=1 (set by
CI), which turns that skip into a failure, as CUSTODES_REQUIRE_POSTGRES does for
PostgreSQL: a report that cannot be read back must not pass unnoticed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from custodes.access.principal import Principal
from custodes.config import Settings
from custodes.store.cases import CaseStore
from tests.cases.helpers import team
from tests.reports.world import Clock, patch_clock


def require_poppler() -> None:
    """Skip, or fail under CUSTODES_REQUIRE_REPORTS=1, without pdftotext and pdfimages."""
    missing = [tool for tool in ("pdftotext", "pdfimages") if shutil.which(tool) is None]
    if not missing:
        return
    message = f"{', '.join(missing)} not found (apt-get install poppler-utils)"
    if os.environ.get("CUSTODES_REQUIRE_REPORTS") == "1":
        pytest.fail(f"{message} and CUSTODES_REQUIRE_REPORTS=1")
    pytest.skip(message)


def pdf_text(path: Path, *, raw: bool = False) -> str:
    """The PDF's text as pdftotext gives it: laid out as on the page (table rows on one
    line), or ``raw``, in the order it was drawn (a wrapped table cell's lines together)."""
    require_poppler()
    done = subprocess.run(
        ["pdftotext", "-raw" if raw else "-layout", str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
    )
    return done.stdout


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return patch_clock(monkeypatch)


@pytest.fixture
def people(cases: CaseStore) -> dict[str, Principal]:
    return team(cases)


@pytest.fixture
def settings(tmp_path: Path, case_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=case_url, pseudonym_key="k" * 32)
