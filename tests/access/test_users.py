"""Users, tokens and sessions on a real case store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from custodes.access import sessions, tokens, users
from custodes.access.roles import Role
from custodes.clock import utc_now_aware
from custodes.config import Settings
from custodes.errors import ConflictError, InputError
from custodes.store.cases import CaseStore
from custodes.store.schema import ApiToken, AuditEntry, User, WebSession

PASSWORD = "correct horse battery staple"


def _add(store: CaseStore, username: str, role: Role = Role.investigator) -> int:
    with store.write() as session:
        return users.add_user(session, username=username, role=role, password=PASSWORD).user.id


def test_add_stores_only_an_argon2id_hash_and_audits(cases: CaseStore) -> None:
    _add(cases, "alice")
    with cases.read() as session:
        user = session.execute(select(User)).scalar_one()
        assert user.password_hash is not None
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        entry = session.execute(select(AuditEntry)).scalar_one()
        assert (entry.action, entry.target_id, entry.actor) == ("user.add", str(user.id), "system")


def test_without_a_password_one_is_generated_once(cases: CaseStore) -> None:
    with cases.write() as session:
        created = users.add_user(session, username="bob", role=Role.lead)
    assert created.password is not None
    with cases.write() as session:
        assert users.authenticate(session, "bob", created.password) is not None


@pytest.mark.parametrize("name", ["A", "x", "1abc", "has space", "ü-user", "a" * 65, "admin!"])
def test_bad_usernames_are_refused(cases: CaseStore, name: str) -> None:
    with pytest.raises(InputError, match="username"), cases.write() as session:
        users.add_user(session, username=name, role=Role.lead, password=PASSWORD)


def test_duplicate_username_conflicts(cases: CaseStore) -> None:
    _add(cases, "alice")
    with pytest.raises(ConflictError), cases.write() as session:
        users.add_user(session, username="alice", role=Role.lead, password=PASSWORD)


def test_authenticate(cases: CaseStore) -> None:
    uid = _add(cases, "alice")
    with cases.write() as session:
        principal = users.authenticate(session, "alice", PASSWORD)
        assert principal is not None
        assert (principal.user_id, principal.role) == (uid, Role.investigator)
        assert users.authenticate(session, "alice", PASSWORD + "x") is None
        assert users.authenticate(session, "nobody", PASSWORD) is None
    with cases.write() as session:
        users.disable_user(session, "alice", by="tests")
    with cases.write() as session:
        assert users.authenticate(session, "alice", PASSWORD) is None


def test_stale_version_conflicts_and_changes_nothing(cases: CaseStore) -> None:
    uid = _add(cases, "alice")
    with cases.write() as session:
        users.update_user(session, uid, 1, display_name="Alice A.", by="tests")
    with pytest.raises(ConflictError, match="changed since"), cases.write() as session:
        users.update_user(session, uid, 1, display_name="Lost update", by="tests")
    with cases.read() as session:
        user = users.get_user(session, uid)
        assert (user.display_name, user.version) == ("Alice A.", 2)


def test_the_last_admin_cannot_be_disabled_or_demoted(cases: CaseStore) -> None:
    uid = _add(cases, "root", Role.admin)
    with pytest.raises(ConflictError, match="last active admin"), cases.write() as session:
        users.update_user(session, uid, 1, disabled=True, by="tests")
    with pytest.raises(ConflictError, match="last active admin"), cases.write() as session:
        users.update_user(session, uid, 1, role=Role.lead, by="tests")
    _add(cases, "root2", Role.admin)
    with cases.write() as session:
        assert users.update_user(session, uid, 1, role=Role.lead, by="tests").role == "lead"


def test_tokens_hash_only_and_stop_when_revoked_expired_or_disabled(cases: CaseStore) -> None:
    uid = _add(cases, "robot")
    with cases.write() as session:
        user = users.get_user(session, uid)
        first = tokens.create_token(session, user, name="ci", by="tests")
        second = tokens.create_token(session, user, name="etl", by="tests")
        third = tokens.create_token(session, user, name="old", by="tests")
    assert first.plaintext.startswith("cst_") and len(first.plaintext) > 40
    with cases.read() as session:
        stored = {t.token_hash for t in session.execute(select(ApiToken)).scalars()}
        assert tokens.digest(first.plaintext) in stored
        assert all(p.plaintext not in stored for p in (first, second, third))
        found = tokens.resolve_token(session, first.plaintext)
        assert found is not None and found.principal.username == "robot" and found.touch
        assert tokens.resolve_token(session, "cst_not-a-token") is None
        assert tokens.resolve_token(session, tokens.digest(first.plaintext)) is None
    with cases.write() as session:
        tokens.revoke_token(session, second.token.id, by="tests")
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == third.token.id)
            .values(expires_at=third.token.created_at - timedelta(seconds=1))
        )
    with cases.read() as session:
        assert tokens.resolve_token(session, second.plaintext) is None
        assert tokens.resolve_token(session, third.plaintext) is None
        assert tokens.resolve_token(session, first.plaintext) is not None
    with cases.write() as session:
        users.disable_user(session, "robot", by="tests")
    with cases.read() as session:
        assert tokens.resolve_token(session, first.plaintext) is None


def test_sessions_store_a_hash_expire_and_end(cases: CaseStore) -> None:
    _add(cases, "alice")
    with cases.write() as session:
        principal = users.authenticate(session, "alice", PASSWORD)
        assert principal is not None
        started = sessions.start(session, principal, hours=8)
        expiring = sessions.start(session, principal, hours=8)
    with cases.read() as session:
        hashes = {w.token_hash for w in session.execute(select(WebSession)).scalars()}
        assert started.cookie not in hashes and tokens.digest(started.cookie) in hashes
        active = sessions.resolve(session, started.cookie)
        assert active is not None and active.csrf_ok(started.csrf_token)
        assert not active.csrf_ok(None) and not active.csrf_ok("x" + started.csrf_token)
    with cases.write() as session:
        session.execute(
            update(WebSession)
            .where(WebSession.token_hash == tokens.digest(expiring.cookie))
            .values(expires_at=utc_now_aware() - timedelta(seconds=1))
        )
        sessions.end(session, started.cookie)
    with cases.read() as session:
        assert sessions.resolve(session, started.cookie) is None
        assert sessions.resolve(session, expiring.cookie) is None


def test_password_change_and_disable_end_sessions(cases: CaseStore) -> None:
    uid = _add(cases, "alice")
    with cases.write() as session:
        principal = users.authenticate(session, "alice", PASSWORD)
        assert principal is not None
        started = sessions.start(session, principal, hours=8)
    with cases.write() as session:
        users.update_user(session, uid, 1, password="another long password", by="tests")
    with cases.read() as session:
        assert sessions.resolve(session, started.cookie) is None


def test_demo_admin_only_in_development(cases: CaseStore) -> None:
    with cases.write() as session:
        assert users.ensure_demo_admin(session, Settings(environment="production")) is None
    with cases.write() as session:
        made = users.ensure_demo_admin(session, Settings(environment="development"))
    assert made is not None and made[0] == "admin" and len(made[1]) >= 24
    with cases.write() as session:
        assert users.authenticate(session, "admin", made[1]) is not None
        # Once there are users, nothing more is created.
        assert users.ensure_demo_admin(session, Settings(environment="development")) is None
