"""docs/permissions.md shows the permission matrix; it must say what the code does."""

from __future__ import annotations

from pathlib import Path

from custodes.access.roles import MATRIX, Permission, Role

DOC = Path(__file__).parents[2] / "docs" / "permissions.md"


def _table() -> dict[Role, set[Permission]]:
    lines = [line for line in DOC.read_text().splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header[0] == "permission"
    roles = [Role(name) for name in header[1:]]
    granted: dict[Role, set[Permission]] = {role: set() for role in roles}
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        permission = Permission(cells[0].strip("`"))
        for role, cell in zip(roles, cells[1:], strict=True):
            assert cell in ("yes", "\u2013"), f"{permission} / {role}: {cell!r}"
            if cell == "yes":
                granted[role].add(permission)
    return granted


def test_doc_matrix_equals_code_matrix() -> None:
    documented = _table()
    assert set(documented) == set(Role)
    assert {r: frozenset(p) for r, p in documented.items()} == MATRIX


def test_every_permission_is_documented_once() -> None:
    rows = [
        line.split("|")[1].strip().strip("`")
        for line in DOC.read_text().splitlines()
        if line.startswith("| `")
    ]
    assert sorted(rows) == sorted(p.value for p in Permission)
