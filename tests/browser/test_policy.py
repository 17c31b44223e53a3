"""The browser policy itself: CI must fail, not skip, when chromium is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import conftest


def test_missing_chromium_fails_when_required(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(conftest, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CUSTODES_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="CUSTODES_REQUIRE_BROWSER"):
        conftest.require_browser()


def test_missing_chromium_skips_otherwise(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(conftest, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CUSTODES_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception):
        conftest.require_browser()


def test_the_browser_is_debians_never_a_download() -> None:
    assert str(conftest.CHROMIUM) == "/usr/bin/chromium"
    assert "--no-sandbox" in conftest.CHROMIUM_ARGS and "--headless" in conftest.CHROMIUM_ARGS
