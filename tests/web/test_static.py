"""Vendored JavaScript and the templates: what is served is what vendor.json records (the
npm builds, byte for byte, with their licences), every script and stylesheet a template
names exists, and nothing is fetched from anywhere but this server."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import altair as alt

from custodes.web.pages.base import CHART_SCRIPTS, SCRIPTS, STATIC_DIR, TEMPLATES_DIR

VENDOR = STATIC_DIR / "vendor"


def _manifest() -> dict[str, dict[str, object]]:
    loaded: dict[str, dict[str, object]] = json.loads((VENDOR / "vendor.json").read_text())
    return loaded


def test_vendored_files_are_the_recorded_builds_with_their_licences() -> None:
    listed: set[Path] = set()
    for name, entry in _manifest().items():
        files = entry["files"]
        assert isinstance(files, dict)
        assert str(entry["tarball"]).startswith(f"https://registry.npmjs.org/{name}/-/")
        for relative, sha256 in files.items():
            path = VENDOR / relative
            listed.add(path)
            assert path.is_file(), relative
            if sha256 is not None:
                assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256, relative
        folder = VENDOR / f"{name.removesuffix('.org')}-{entry['version']}"
        assert (folder / "LICENSE").read_text().strip(), name
    on_disk = {p for p in VENDOR.rglob("*") if p.is_file()} - {
        VENDOR / "vendor.json",
        VENDOR / "README.md",
    }
    assert on_disk == listed  # nothing vendored without a record


def test_pages_load_only_vendored_and_own_files() -> None:
    for script in (*SCRIPTS, *CHART_SCRIPTS):
        assert (STATIC_DIR / script).is_file(), script
    for template in TEMPLATES_DIR.rglob("*.html"):
        text = template.read_text()
        assert "http://" not in text and "https://" not in text, template  # no CDN
        assert "<script>" not in text and "onclick" not in text, template  # CSP: no inline
        for name in re.findall(r"static\('([^']+)'\)", text):
            assert (STATIC_DIR / name).is_file(), (template, name)


def test_vega_lite_major_is_the_one_altair_writes() -> None:
    """Altair's specs name a Vega-Lite major version; the vendored build must be that one."""
    vendored = str(_manifest()["vega-lite"]["version"])
    assert vendored.split(".")[0] == alt.SCHEMA_VERSION.lstrip("v").split(".")[0]
