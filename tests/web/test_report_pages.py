"""The reports page: each report shown and served only to roles that may read its content,
a case report only under need-to-know, an unmasked one never; opening a file is audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from custodes.access.principal import Principal
from custodes.access.roles import Role
from custodes.cases.service import CaseService
from custodes.cases.views import CaseCreate
from tests.web.conftest import Api, running_api
from tests.web.pages import browser

WEEK = "escalations-week-2026-W10"
MONTH = "integrity-month-2026-02"


@pytest.fixture
def site(case_url: str, tmp_path: Path) -> Iterator[Api]:
    with running_api(case_url, tmp_path / "data") as api:
        yield api


def _write(folder: Path, name: str, body: bytes = b"<html>report</html>") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(body)


def test_reports_are_listed_and_served_by_what_they_contain(site: Api) -> None:
    admin = Principal(site.ids[Role.admin], "admin", Role.admin)
    cases = CaseService(site.store, site.settings)
    open_case = cases.create(admin, CaseCreate(title="Open to leads"))
    secret = cases.create(admin, CaseCreate(title="Need to know", restricted=True))
    root = site.settings.data_dir / "reports"
    _write(root / "2026", f"{WEEK}.html")
    _write(root / "2026", f"{WEEK}.pdf", b"%PDF-1.7 fake")
    _write(root / "2026", f"{MONTH}.html")
    _write(root / "cases", f"case-{open_case.id}-20261101T000000Z.html")
    _write(root / "cases", f"case-{secret.id}-20261101T000000Z.html")
    _write(root / "cases", f"case-{open_case.id}-20261102T000000Z-unmasked.html")

    def listed(role: Role) -> str:
        page = browser(site, role).get("/reports")
        assert page.status_code == 200
        return str(page.text)

    triage = listed(Role.triage_analyst)
    assert WEEK in triage and MONTH not in triage and "case-" not in triage
    lead = listed(Role.lead)
    assert WEEK in lead and MONTH in lead
    assert f"case-{open_case.id}-20261101T000000Z" in lead
    assert f"case-{secret.id}-" not in lead  # restricted, and the lead is not a member
    assert "-unmasked" not in lead and "-unmasked" not in listed(Role.admin)
    investigator = listed(Role.investigator)
    assert WEEK not in investigator and MONTH in investigator

    got = browser(site, Role.triage_analyst).get(f"/reports/{WEEK}.pdf")
    assert got.status_code == 200 and got.content == b"%PDF-1.7 fake"
    assert got.headers["content-type"] == "application/pdf"
    assert "attachment" in got.headers["content-disposition"]
    for role, name in (
        (Role.triage_analyst, f"{MONTH}.html"),  # not theirs to read: as if absent
        (Role.lead, f"case-{secret.id}-20261101T000000Z.html"),
        (Role.admin, f"case-{open_case.id}-20261102T000000Z-unmasked.html"),
        (Role.lead, f"{WEEK}.csv"),  # no such format
        (Role.lead, "..%2F..%2Fcases.sqlite.html"),
    ):
        assert browser(site, role).get(f"/reports/{name}").status_code == 404, name

    trail = site.client.get(
        "/api/audit?action=report.read&limit=10", headers=site.auth(Role.auditor)
    ).json()
    assert [e["target_id"] for e in trail["items"]] == [f"{WEEK}.pdf"]


def test_no_reports_yet_says_how_to_make_them(site: Api) -> None:
    page = browser(site, Role.lead).get("/reports")
    assert page.status_code == 200 and "custodes report scheduled" in page.text
