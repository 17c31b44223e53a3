"""The API's route table (read from the routers themselves) and a way to call each route
successfully as any role, for the authorisation matrix tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from custodes.access.principal import Principal
from custodes.access.roles import Permission, Role
from custodes.cases.service import CaseService
from custodes.cases.views import CaseCreate, EvidenceCreate, TaskCreate
from custodes.config import Settings
from custodes.privacy import unmasking
from custodes.sql.saved import ChartChoice, SavedQueries
from custodes.store.events import EventStore
from custodes.triage import attachments, lifecycle
from custodes.triage.intake import EscalationService
from custodes.web.app import ROUTERS
from custodes.web.deps import get_auth, permission_of
from tests.web.conftest import Api
from tests.web.world import ACTORS, add_alert

Guard = Permission | Literal["public", "login"]
Route = tuple[str, str]


def _guard(dependant: Dependant) -> Guard:
    found: Guard = "public"
    for dep in dependant.dependencies:
        if dep.call is not None and (perm := permission_of(dep.call)) is not None:
            return perm
        if dep.call is get_auth:
            found = "login"
        inner = _guard(dep)
        if inner != "public":
            if isinstance(inner, Permission):
                return inner
            found = inner
    return found


def route_table() -> dict[Route, Guard]:
    """(method, path) → the permission the route requires, "login" when any logged-in user
    may call it, "public" when anyone may."""
    table: dict[Route, Guard] = {}
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            for method in sorted(set(route.methods or ()) - {"HEAD"}):
                table[(method, "/api" + route.path)] = _guard(route.dependant)
    return table


@dataclass
class Call:
    path: str
    body: dict[str, Any] | None = None
    params: dict[str, Any] | None = None


class World:
    """Creates, per call, whatever a route needs to succeed for ``role``."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.service = CaseService(api.store, api.settings)
        self.who = {
            role: Principal(api.ids[role], role.value.replace("_", "-"), role) for role in Role
        }
        self.admin = self.who[Role.admin]
        self.requester = Principal(api.ids[Role.investigator], "investigator", Role.investigator)
        self._n = itertools.count(1)

    @property
    def settings(self) -> Settings:
        return self.api.settings

    def case(self, role: Role) -> int:
        """An open case ``role``'s user is assigned to, about ACTORS[0]."""
        made = self.service.create(
            self.admin,
            CaseCreate(
                title=f"case {next(self._n)}",
                subjects=[ACTORS[0]],
                assignee_id=self.api.ids[role],
            ),
        )
        return made.id

    def task(self, case_id: int) -> int:
        return self.service.add_task(self.admin, case_id, TaskCreate(title="check logs")).id

    def evidence(self, case_id: int) -> int:
        with EventStore.open(self.settings.data_dir, read_only=True) as events:
            ids = [r[0] for r in events.fetch_all("SELECT event_id FROM events LIMIT 2")]
            return self.service.add_evidence(
                self.admin,
                case_id,
                EvidenceCreate(kind="events", title="views", event_ids=ids),
                events,
            ).id

    def alert(self) -> str:
        return add_alert(self.settings.data_dir, ACTORS[0], 10 + next(self._n)).alert_id

    def pseudonym(self) -> str:
        return self.service.pseudonyms.of(ACTORS[0])

    def pending_grant(self) -> int:
        """A pending request by someone other than whoever will decide on it."""
        self.case(Role.investigator)
        with self.api.store.write() as session:
            grant = unmasking.request(
                session,
                self.requester,
                self.pseudonym(),
                "checking the alert by hand",
                settings=self.settings,
            )
            return grant.id

    def active_grant(self, role: Role) -> int:
        """An active grant held by ``role``'s user (approved by another admin or lead)."""
        self.case(Role.investigator)
        holder = self.who[role]
        approver = self.who[Role.lead if role is Role.admin else Role.admin]
        with self.api.store.write() as session:
            grant = unmasking.request(
                session,
                holder,
                self.pseudonym(),
                "checking the alert by hand",
                settings=self.settings,
            )
            session.flush()
            unmasking.approve(session, approver, grant.id, settings=self.settings)
            return grant.id

    def escalation(self) -> tuple[int, int]:
        """A stored escalation (its id and version), submitted by an admin."""
        made, _ = EscalationService(self.api.store).submit(
            self.admin, escalation_record(f"matrix-{next(self._n)}")
        )
        return made.id, made.version

    def acknowledged_escalation(self) -> tuple[int, int]:
        """A stored escalation an admin has acknowledged (its id and version)."""
        pk, version = self.escalation()
        made = lifecycle.acknowledge(EscalationService(self.api.store), self.admin, pk, version)
        return made.id, made.version

    def attachment(self) -> tuple[int, int]:
        """An escalation with one attachment: (escalation id, attachment id)."""
        pk, _ = self.escalation()
        made, _ = attachments.add(
            EscalationService(self.api.store), self.admin, pk, b"order", filename="order.txt"
        )
        return pk, made.id

    def saved_query(self, role: Role) -> tuple[int, int]:
        """A shared saved query owned by ``role``'s user: (id, version)."""
        made = SavedQueries(self.api.store).save_query(
            self.who[role],
            name=f"query {next(self._n)}",
            sql="SELECT subject, count(*) AS n FROM events GROUP BY ALL",
            chart=ChartChoice(),
            shared=True,
        )
        return made.id, made.version

    def dashboard(self, role: Role) -> tuple[int, int]:
        """A shared dashboard owned by ``role``'s user: (id, version)."""
        query_id, _ = self.saved_query(role)
        made = SavedQueries(self.api.store).save_dashboard(
            self.who[role], name=f"board {next(self._n)}", query_ids=[query_id], shared=True
        )
        return made.id, made.version

    def username(self) -> str:
        return f"user{next(self._n)}"

    def user(self) -> int:
        from custodes.access import users

        with self.api.store.write() as session:
            return users.add_user(session, username=self.username(), role=Role.auditor).user.id


Make = Callable[[World, Role], Call]


def _c(path: str, body: dict[str, Any] | None = None) -> Make:
    return lambda _w, _r: Call(path, body)


def _delete(base: str, made: tuple[int, int]) -> Call:
    """Delete what was just made (id, version), at the version read."""
    return Call(f"{base}/{made[0]}", params={"version": made[1]})


# (method, path) → (what to send for it to succeed, the success status).
REQUESTS: dict[Route, tuple[Make, int]] = {
    ("GET", "/api/health"): (_c("/api/health"), 200),
    ("POST", "/api/auth/login"): (
        lambda _w, r: Call(
            "/api/auth/login",
            {"username": r.value.replace("_", "-"), "password": "correct horse battery staple"},
        ),
        200,
    ),
    ("POST", "/api/auth/logout"): (_c("/api/auth/logout"), 204),
    ("GET", "/api/auth/me"): (_c("/api/auth/me"), 200),
    ("GET", "/api/users"): (_c("/api/users"), 200),
    ("POST", "/api/users"): (
        lambda w, _r: Call("/api/users", {"username": w.username(), "role": "auditor"}),
        201,
    ),
    ("GET", "/api/users/{user_id}"): (lambda w, _r: Call(f"/api/users/{w.user()}"), 200),
    ("PATCH", "/api/users/{user_id}"): (
        lambda w, _r: Call(f"/api/users/{w.user()}", {"version": 1, "display_name": "A"}),
        200,
    ),
    ("POST", "/api/users/{user_id}/tokens"): (
        lambda w, _r: Call(f"/api/users/{w.user()}/tokens", {"name": "etl"}),
        201,
    ),
    ("GET", "/api/cases"): (_c("/api/cases"), 200),
    ("POST", "/api/cases"): (_c("/api/cases", {"title": "new", "subjects": [ACTORS[1]]}), 201),
    ("POST", "/api/cases/from-alerts"): (
        lambda w, _r: Call("/api/cases/from-alerts", {"alert_ids": [w.alert()]}),
        201,
    ),
    ("GET", "/api/cases/{case_id}"): (lambda w, r: Call(f"/api/cases/{w.case(r)}"), 200),
    ("PATCH", "/api/cases/{case_id}"): (
        lambda w, r: Call(f"/api/cases/{w.case(r)}", {"version": 1, "title": "renamed"}),
        200,
    ),
    ("POST", "/api/cases/{case_id}/transition"): (
        lambda w, r: Call(
            f"/api/cases/{w.case(r)}/transition", {"version": 1, "to_status": "triage"}
        ),
        200,
    ),
    ("POST", "/api/cases/{case_id}/notes"): (
        lambda w, r: Call(f"/api/cases/{w.case(r)}/notes", {"body": "seen"}),
        201,
    ),
    ("POST", "/api/cases/{case_id}/tasks"): (
        lambda w, r: Call(f"/api/cases/{w.case(r)}/tasks", {"title": "check"}),
        201,
    ),
    ("PATCH", "/api/cases/{case_id}/tasks/{task_id}"): (
        lambda w, r: (
            lambda c: Call(f"/api/cases/{c}/tasks/{w.task(c)}", {"version": 1, "done": True})
        )(w.case(r)),
        200,
    ),
    ("POST", "/api/cases/{case_id}/links"): (
        lambda w, r: Call(f"/api/cases/{w.case(r)}/links", {"other_id": w.case(r)}),
        201,
    ),
    ("POST", "/api/cases/{case_id}/members"): (
        lambda w, r: Call(f"/api/cases/{w.case(r)}/members", {"user_id": w.api.ids[Role.auditor]}),
        204,
    ),
    ("GET", "/api/cases/{case_id}/timeline"): (
        lambda w, r: Call(f"/api/cases/{w.case(r)}/timeline"),
        200,
    ),
    ("GET", "/api/cases/{case_id}/evidence"): (
        lambda w, r: Call(f"/api/cases/{w.case(r)}/evidence"),
        200,
    ),
    ("POST", "/api/cases/{case_id}/evidence"): (
        lambda w, r: Call(
            f"/api/cases/{w.case(r)}/evidence",
            {
                "kind": "query",
                "title": "all",
                "query": {
                    "subject": w.pseudonym(),
                    "start": "2026-03-01T00:00:00Z",
                    "end": "2026-03-05T00:00:00Z",
                },
            },
        ),
        201,
    ),
    ("GET", "/api/cases/{case_id}/evidence/{evidence_id}/check"): (
        lambda w, r: (lambda c: Call(f"/api/cases/{c}/evidence/{w.evidence(c)}/check"))(w.case(r)),
        200,
    ),
    ("GET", "/api/alerts"): (_c("/api/alerts"), 200),
    ("GET", "/api/alerts/{alert_id}"): (lambda w, _r: Call(f"/api/alerts/{w.alert()}"), 200),
    ("POST", "/api/alerts/{alert_id}/verdict"): (
        lambda w, _r: Call(
            f"/api/alerts/{w.alert()}/verdict", {"verdict": "false_positive", "reason": "ok"}
        ),
        200,
    ),
    ("POST", "/api/unmask"): (
        lambda w, _r: (
            w.case(Role.investigator),
            Call(
                "/api/unmask",
                {"pseudonym": w.pseudonym(), "justification": "needed for the interview"},
            ),
        )[1],
        201,
    ),
    ("GET", "/api/unmask/pending"): (_c("/api/unmask/pending"), 200),
    ("POST", "/api/unmask/{grant_id}/approve"): (
        lambda w, _r: Call(f"/api/unmask/{w.pending_grant()}/approve"),
        200,
    ),
    ("POST", "/api/unmask/{grant_id}/deny"): (
        lambda w, _r: Call(f"/api/unmask/{w.pending_grant()}/deny", {"reason": "no"}),
        200,
    ),
    ("POST", "/api/unmask/{grant_id}/revoke"): (
        lambda w, r: Call(f"/api/unmask/{w.active_grant(r)}/revoke"),
        200,
    ),
    ("GET", "/api/unmask/reveal/{pseudonym}"): (
        lambda w, r: (w.active_grant(r), Call(f"/api/unmask/reveal/{w.pseudonym()}"))[1],
        200,
    ),
    ("GET", "/api/audit"): (_c("/api/audit"), 200),
    ("GET", "/api/audit/verify"): (_c("/api/audit/verify"), 200),
    ("GET", "/api/escalations"): (_c("/api/escalations"), 200),
    ("POST", "/api/escalations"): (
        lambda w, _r: Call("/api/escalations", escalation_record(f"new-{next(w._n)}")),
        201,
    ),
    ("GET", "/api/escalations/{id}"): (
        lambda w, _r: Call(f"/api/escalations/{w.escalation()[0]}"),
        200,
    ),
    ("POST", "/api/escalations/{id}/override"): (
        lambda w, _r: (
            lambda made: Call(
                f"/api/escalations/{made[0]}/override",
                {"version": made[1], "band": "P1", "reason": "confirmed by the requester"},
            )
        )(w.escalation()),
        200,
    ),
    ("POST", "/api/escalations/{id}/acknowledge"): (
        lambda w, _r: (
            lambda made: Call(f"/api/escalations/{made[0]}/acknowledge", {"version": made[1]})
        )(w.escalation()),
        200,
    ),
    ("POST", "/api/escalations/{id}/action"): (
        lambda w, _r: (
            lambda made: Call(
                f"/api/escalations/{made[0]}/action",
                {"version": made[1], "note": "asked the host to preserve the data"},
            )
        )(w.acknowledged_escalation()),
        200,
    ),
    ("POST", "/api/escalations/{id}/resolve"): (
        lambda w, _r: (
            lambda made: Call(
                f"/api/escalations/{made[0]}/resolve",
                {"version": made[1], "resolution": "no_action"},
            )
        )(w.acknowledged_escalation()),
        200,
    ),
    ("POST", "/api/escalations/{id}/attachments"): (
        lambda w, _r: Call(
            f"/api/escalations/{w.escalation()[0]}/attachments",
            {"order": "preserve"},
            {"filename": "order.json"},
        ),
        201,
    ),
    ("GET", "/api/escalations/{id}/attachments"): (
        lambda w, _r: Call(f"/api/escalations/{w.escalation()[0]}/attachments"),
        200,
    ),
    ("GET", "/api/escalations/{id}/attachments/{attachment_id}"): (
        lambda w, _r: (lambda made: Call(f"/api/escalations/{made[0]}/attachments/{made[1]}"))(
            w.attachment()
        ),
        200,
    ),
    ("POST", "/api/sql"): (
        _c("/api/sql", {"sql": "SELECT subject, count(*) AS n FROM events GROUP BY ALL"}),
        200,
    ),
    ("GET", "/api/sql/saved"): (_c("/api/sql/saved"), 200),
    ("POST", "/api/sql/saved"): (
        lambda w, _r: Call(
            "/api/sql/saved",
            {"name": f"saved {next(w._n)}", "sql": "SELECT count(*) AS n FROM events"},
        ),
        201,
    ),
    ("GET", "/api/sql/saved/{query_id}"): (
        lambda w, _r: Call(f"/api/sql/saved/{w.saved_query(Role.admin)[0]}"),
        200,
    ),
    ("DELETE", "/api/sql/saved/{query_id}"): (
        lambda w, r: _delete("/api/sql/saved", w.saved_query(r)),
        204,
    ),
    ("GET", "/api/sql/dashboards"): (_c("/api/sql/dashboards"), 200),
    ("POST", "/api/sql/dashboards"): (
        lambda w, _r: Call(
            "/api/sql/dashboards",
            {"name": f"board {next(w._n)}", "query_ids": [w.saved_query(Role.admin)[0]]},
        ),
        201,
    ),
    ("GET", "/api/sql/dashboards/{dashboard_id}"): (
        lambda w, _r: Call(f"/api/sql/dashboards/{w.dashboard(Role.admin)[0]}"),
        200,
    ),
    ("DELETE", "/api/sql/dashboards/{dashboard_id}"): (
        lambda w, r: _delete("/api/sql/dashboards", w.dashboard(r)),
        204,
    ),
}


def escalation_record(escalation_id: str) -> dict[str, Any]:
    return {
        "escalation_id": escalation_id,
        "received_at": "2026-11-20T10:00:00Z",
        "source": "ngo",
        "body": "Coordinated accounts are posting the home address of a reporter.",
        "subject_ids": ["acct:7"],
    }
