"""A case's audit trail on SQLite and PostgreSQL: its own rows and its subjects' unmasking,
in chain order, staff ids masked in free text; for ``audit.read`` holders who may see the
case, and itself audited."""

from __future__ import annotations

import pytest

from custodes.access.principal import Principal
from custodes.cases import CaseService
from custodes.cases.views import CaseCreate, parse
from custodes.errors import NotFoundError, PermissionDeniedError
from custodes.privacy import unmasking
from custodes.store.cases import CaseStore
from tests.cases.helpers import audit_actions

People = dict[str, Principal]


def test_the_trail_of_a_case(service: CaseService, cases: CaseStore, people: People) -> None:
    ana, audrey, admin = people["ana"], people["aud"], people["admin"]
    case = service.create(ana, parse(CaseCreate, {"title": "VIP", "subjects": ["m042"]}))
    other = service.create(ana, parse(CaseCreate, {"title": "Other", "subjects": ["m007"]}))
    service.add_note(ana, case.id, "spoke to m007")
    pseudonym = case.subjects[0].pseudonym
    with cases.write() as session:
        unmasking.request(
            session, ana, pseudonym, "m042 and m007 share a desk", settings=service.settings
        )
    trail = service.audit_trail(audrey, case.id, staff=["m007"])
    assert [(t.action, t.target) for t in trail] == [
        ("case.create", f"case {case.id}"),
        ("note.create", f"case {case.id}"),
        ("unmask.request", pseudonym),
    ]
    assert [t.seq for t in trail] == sorted(t.seq for t in trail)
    assert all(len(t.hash) == 64 for t in trail)
    request = trail[-1]
    assert "m042" not in request.reason and "m007" not in request.reason
    assert pseudonym in request.reason
    assert "subjects=" in trail[0].detail and "m042" not in trail[0].detail
    assert audit_actions(cases)[-1] == ("audrey", "audit.read", str(case.id))
    assert str(other.id) not in {t.target.removeprefix("case ") for t in trail}
    with pytest.raises(PermissionDeniedError):
        service.audit_trail(ana, case.id)  # investigators do not read the audit log
    restricted = service.create(admin, parse(CaseCreate, {"title": "HR", "restricted": True}))
    with pytest.raises(NotFoundError):
        service.audit_trail(audrey, restricted.id)  # need-to-know still holds
