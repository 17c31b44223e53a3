"""The case service on SQLite and PostgreSQL: creation, need-to-know, stale versions, the
workflow and its outcomes, notes, tasks and links — each change and each read audited."""

from __future__ import annotations

from pathlib import Path

import pytest

from custodes.access.principal import Principal
from custodes.audit import verify
from custodes.cases import CaseService, Outcome, Status
from custodes.cases.views import CaseCreate, CaseUpdate, TaskCreate, TaskUpdate, parse
from custodes.config import Settings
from custodes.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from custodes.privacy.pseudonyms import is_pseudonym
from custodes.store.cases import CaseStore
from tests.cases.helpers import audit_actions

People = dict[str, Principal]


def _case(service: CaseService, who: Principal, **fields: object) -> int:
    data = parse(CaseCreate, {"title": "Snooping on VIP accounts", "subjects": ["m042"], **fields})
    return service.create(who, data).id


def test_a_case_shows_pseudonyms_and_reading_it_is_audited(
    service: CaseService, cases: CaseStore, people: People
) -> None:
    ana = people["ana"]
    created = service.create(
        ana,
        parse(
            CaseCreate,
            {
                "title": " VIP snooping ",
                "subjects": ["m042", "m042", "m007"],
                "category": "unjustified_access",
                "severity": "high",
                "tags": ["VIP", "vip", "night"],
            },
        ),
    )
    assert created.title == "VIP snooping"
    assert created.status is Status.new and created.version == 1
    assert created.tags == ["vip", "night"]
    assert len(created.subjects) == 2
    assert all(is_pseudonym(s.pseudonym) and s.actor_id is None for s in created.subjects)
    assert "m042" not in created.model_dump_json()
    assert [u.username for u in created.members] == ["ana"]

    detail = service.get(ana, created.id)
    assert detail.id == created.id
    assert audit_actions(cases) == [
        ("ana", "case.create", str(created.id)),
        ("ana", "case.read", str(created.id)),
    ]
    assert verify(cases).ok


def test_bad_input_names_the_field(service: CaseService, people: People) -> None:
    with pytest.raises(InputError) as bad:
        parse(CaseCreate, {"title": "x", "category": "gossip"})
    assert bad.value.field == "category"
    with pytest.raises(InputError) as empty:
        parse(CaseCreate, {"title": "   "})
    assert empty.value.field == "title"
    with pytest.raises(InputError) as extra:
        parse(CaseCreate, {"title": "x", "owner": "me"})
    assert extra.value.field == "owner"
    with pytest.raises(InputError) as who:
        service.create(people["lead"], parse(CaseCreate, {"title": "x", "assignee_id": 999}))
    assert who.value.field == "assignee_id"
    with pytest.raises(InputError) as sort:
        service.list(people["lead"], sort="-nonsense")
    assert sort.value.field == "sort"


def test_need_to_know(service: CaseService, people: People) -> None:
    open_case = _case(service, people["ana"])
    secret = _case(service, people["lead"], restricted=True)
    # Ivo is on neither case: they do not exist for him (not found, never forbidden).
    for case_id in (open_case, secret):
        with pytest.raises(NotFoundError):
            service.get(people["ivo"], case_id)
    assert service.list(people["ivo"]).total == 0
    # A lead and an auditor read every unrestricted case; a restricted one only its members.
    assert [c.id for c in service.list(people["aud"]).items] == [open_case]
    with pytest.raises(NotFoundError):
        service.get(people["aud"], secret)
    assert {c.id for c in service.list(people["admin"]).items} == {open_case, secret}
    # Granting need-to-know per person.
    service.add_member(people["lead"], secret, people["ivo"].user_id)
    assert service.get(people["ivo"], secret).restricted
    with pytest.raises(PermissionDeniedError):
        service.list(people["tri"])
    with pytest.raises(PermissionDeniedError):
        service.add_member(people["ana"], open_case, people["ivo"].user_id)


def test_list_filters_sorts_and_pages(service: CaseService, people: People) -> None:
    lead = people["lead"]
    ids = [
        _case(service, lead, title=f"case {i}", severity=sev, tags=[tag])
        for i, (sev, tag) in enumerate(
            [("low", "a"), ("critical", "b"), ("medium", "a"), ("high", "a_b")]
        )
    ]
    page = service.list(lead, sort="-severity", limit=2)
    assert page.total == 4 and [c.id for c in page.items] == [ids[1], ids[3]]
    page2 = service.list(lead, sort="-severity", limit=2, offset=2)
    assert [c.id for c in page2.items] == [ids[2], ids[0]]
    assert [c.id for c in service.list(lead, tag="a", sort="id").items] == [ids[0], ids[2]]
    assert [c.id for c in service.list(lead, q="CASE 3").items] == [ids[3]]
    pseudonym = service.list(lead).items[0].subjects[0].pseudonym
    assert service.list(lead, q=pseudonym.lower()).total == 4
    assert service.list(lead, status="closed").total == 0
    with pytest.raises(InputError) as bad:
        service.list(lead, status="done")
    assert bad.value.field == "status"


def test_a_stale_version_is_a_conflict(service: CaseService, people: People) -> None:
    ana = people["ana"]
    case_id = _case(service, ana)
    first = service.update(ana, case_id, 1, CaseUpdate(title="Renamed by Ana"))
    assert first.version == 2 and first.title == "Renamed by Ana"
    # Ivo... is not on the case; the lead read version 1 before Ana's change.
    with pytest.raises(ConflictError, match="version 1"):
        service.update(people["lead"], case_id, 1, CaseUpdate(severity="low"))  # type: ignore[arg-type]
    with pytest.raises(ConflictError):
        service.transition(ana, case_id, 1, "triage")
    assert service.get(ana, case_id).title == "Renamed by Ana"
    # Only set fields change; setting nothing new changes nothing.
    same = service.update(ana, case_id, 2, CaseUpdate(title="Renamed by Ana"))
    assert same.version == 2


def test_assignment_and_restriction_need_assign(service: CaseService, people: People) -> None:
    ana, ivo, lead = people["ana"], people["ivo"], people["lead"]
    case_id = _case(service, lead)
    with pytest.raises(NotFoundError):  # not on it, so it does not exist for her
        service.update(ana, case_id, 1, CaseUpdate(assignee_id=ana.user_id))
    taken = service.update(lead, case_id, 1, CaseUpdate(assignee_id=ana.user_id))
    assert taken.assignee is not None and taken.assignee.username == "ana"
    assert ana.user_id in {m.id for m in taken.members}
    with pytest.raises(PermissionDeniedError):
        service.update(ana, case_id, taken.version, CaseUpdate(assignee_id=ivo.user_id))
    with pytest.raises(PermissionDeniedError):
        service.update(ana, case_id, taken.version, CaseUpdate(restricted=True))
    mine = _case(service, ana)
    assert service.update(ana, mine, 1, CaseUpdate(assignee_id=ana.user_id)).assignee


def test_the_workflow_and_closing(service: CaseService, cases: CaseStore, people: People) -> None:
    ana = people["ana"]
    case_id = _case(service, ana)
    with pytest.raises(ConflictError, match="from new to pending_decision"):
        service.transition(ana, case_id, 1, Status.pending_decision)
    detail = service.transition(ana, case_id, 1, "triage")
    detail = service.transition(ana, case_id, detail.version, "investigating")
    detail = service.transition(ana, case_id, detail.version, "triage")  # one step back
    detail = service.transition(ana, case_id, detail.version, "investigating")
    detail = service.transition(ana, case_id, detail.version, "pending_decision")
    with pytest.raises(InputError) as no_outcome:
        service.transition(ana, case_id, detail.version, "closed")
    assert no_outcome.value.field == "outcome"
    with pytest.raises(InputError) as early:
        service.transition(ana, case_id, detail.version, "investigating", outcome="referred")
    assert early.value.field == "outcome"
    with pytest.raises(InputError) as unknown:
        service.transition(ana, case_id, detail.version, "closed", outcome="guilty")
    assert unknown.value.field == "outcome"
    closed = service.transition(
        ana, case_id, detail.version, "closed", outcome="policy_gap", reason="no rule covers it"
    )
    assert closed.status is Status.closed and closed.outcome is Outcome.policy_gap
    assert closed.closed_at is not None
    with pytest.raises(ConflictError):
        service.transition(ana, case_id, closed.version, "investigating")
    with pytest.raises(ConflictError, match="closed"):
        service.add_note(ana, case_id, "too late")
    actions = [a for _, a, _ in audit_actions(cases)]
    assert actions.count("case.move") == 5 and actions[-1] == "case.close"
    assert verify(cases).ok


def test_who_may_close(service: CaseService, people: People) -> None:
    case_id = _case(service, people["lead"])
    service.add_member(people["lead"], case_id, people["aud"].user_id)
    with pytest.raises(PermissionDeniedError):
        service.transition(people["aud"], case_id, 1, "closed", outcome="referred")


def test_notes_tasks_and_links(service: CaseService, cases: CaseStore, people: People) -> None:
    ana = people["ana"]
    one, two = _case(service, ana), _case(service, ana, title="Second")
    note = service.add_note(ana, one, "  **Found** the ticket gap.  ")
    assert (
        note.body == "**Found** the ticket gap." and note.author and note.author.username == "ana"
    )
    with pytest.raises(InputError) as empty:
        service.add_note(ana, one, "  ")
    assert empty.value.field == "body"
    task = service.add_task(ana, one, TaskCreate(title="Pull badge logs"))
    done = service.update_task(ana, one, task.id, task.version, TaskUpdate(done=True))
    assert done.done and done.version == task.version + 1
    with pytest.raises(ConflictError):
        service.update_task(ana, one, task.id, task.version, TaskUpdate(title="stale"))
    with pytest.raises(NotFoundError):
        service.update_task(ana, two, task.id, done.version, TaskUpdate(done=False))
    service.link(ana, one, two, "duplicate")
    with pytest.raises(InputError) as self_link:
        service.link(ana, one, one)
    assert self_link.value.field == "other_id"
    with pytest.raises(InputError) as kind:
        service.link(ana, one, two, "cousin")
    assert kind.value.field == "kind"
    first, second = service.get(ana, one), service.get(ana, two)
    assert [n.body for n in first.notes] == ["**Found** the ticket gap."]
    assert [t.done for t in first.tasks] == [True]
    assert [(lk.case_id, lk.kind.value, lk.direction) for lk in first.links] == [
        (two, "duplicate", "out")
    ]
    assert [(lk.case_id, lk.direction) for lk in second.links] == [(one, "in")]
    # Notes, tasks and links do not bump the case's version (no spurious conflicts).
    assert first.version == 1
    assert verify(cases).ok


def test_a_generated_pseudonym_key_works_inside_a_write(
    cases: CaseStore, people: People, tmp_path: Path
) -> None:
    """The key is created on first use; that must not wait on the service's own write lock."""
    service = CaseService(cases, Settings(data_dir=tmp_path))
    case = service.create(people["ana"], CaseCreate(title="first ever", subjects=["m042"]))
    again = CaseService(cases, Settings(data_dir=tmp_path)).get(people["ana"], case.id)
    assert again.subjects == case.subjects


def test_list_totals_stop_counting_at_the_cap(
    service: CaseService, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past COUNT_CAP a list says how far it counted and that there are more."""
    from custodes.cases import service as module

    lead = people["lead"]
    for i in range(4):
        _case(service, lead, title=f"case {i}")
    assert service.list(lead).total_exact and service.list(lead).total == 4
    monkeypatch.setattr(module, "COUNT_CAP", 3)
    page = service.list(lead, limit=2)
    assert (page.total, page.total_exact, len(page.items)) == (3, False, 2)
    monkeypatch.setattr(module, "COUNT_CAP", 4)
    assert service.list(lead).total_exact
