"""API tokens for machine clients: ``Authorization: Bearer cst_…``.

The token is shown once, when created; the store keeps only its SHA-256 (a token is 256
random bits, so a fast hash is enough: there is nothing to brute-force). A token stops
working when it expires, is revoked, or its user is disabled.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from custodes import audit
from custodes.access.principal import Principal
from custodes.access.roles import Role
from custodes.clock import utc_now_aware
from custodes.errors import InputError, NotFoundError
from custodes.store.schema import ApiToken, Base, User

PREFIX: Final = "cst_"
# last_used_at is a hint, not an audit record: refresh it at most this often.
TOUCH_EVERY: Final = timedelta(minutes=5)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    plaintext: str  # show once; never stored


def digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_token(
    session: Session,
    user: User,
    *,
    name: str,
    expires_days: float | None = 90.0,
    by: str,
) -> NewToken:
    if not name.strip():
        raise InputError("a token needs a name (what uses it)", field="name")
    if expires_days is not None and expires_days <= 0:
        raise InputError("expiry must be a positive number of days", field="expires_days")
    if user.disabled:
        raise InputError(f"user {user.username!r} is disabled", field="username")
    plaintext = PREFIX + secrets.token_urlsafe(32)
    now = utc_now_aware()
    token = ApiToken(
        user_id=user.id,
        name=name.strip()[:200],
        token_hash=digest(plaintext),
        created_at=now,
        expires_at=now + timedelta(days=expires_days) if expires_days is not None else None,
    )
    session.add(token)
    session.flush()
    audit.append(
        session,
        actor=by,
        action="token.create",
        target_type="token",
        target_id=token.id,
        detail={"username": user.username, "name": token.name},
    )
    return NewToken(token, plaintext)


def revoke_token(session: Session, token_id: int, *, by: str) -> None:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utc_now_aware()
        audit.append(
            session, actor=by, action="token.revoke", target_type="token", target_id=token.id
        )


@dataclass(frozen=True)
class TokenUse:
    principal: Principal
    token_id: int
    touch: bool  # last_used_at is older than TOUCH_EVERY: worth a write


_TOKENS: Final[Table] = Base.metadata.tables["api_tokens"]
_USERS: Final[Table] = Base.metadata.tables["users"]
_BY_DIGEST: Final = (
    select(
        _TOKENS.c.id.label("token_id"),
        _TOKENS.c.revoked_at,
        _TOKENS.c.expires_at,
        _TOKENS.c.last_used_at,
        _USERS.c.id.label("user_id"),
        _USERS.c.username,
        _USERS.c.role,
        _USERS.c.disabled,
    )
    .join_from(_TOKENS, _USERS, _USERS.c.id == _TOKENS.c.user_id)
    .where(_TOKENS.c.token_hash == bindparam("digest"))
)


def resolve_token(session: Session, plaintext: str) -> TokenUse | None:
    """Who a bearer token belongs to, or None if it is unknown, revoked, expired or its
    user disabled."""
    if not plaintext.startswith(PREFIX):
        return None
    # Every API request asks this: a Core statement (the ORM loading two objects cost more
    # than the query), after the flush the ORM query would have done, so a change pending in
    # the caller's session (a revocation, a disabled user) counts as before.
    if session.autoflush:
        session.flush()
    row = session.connection().execute(_BY_DIGEST, {"digest": digest(plaintext)}).first()
    if row is None:
        return None
    now = utc_now_aware()
    if row.revoked_at is not None or row.disabled:
        return None
    if row.expires_at is not None and as_utc(row.expires_at) <= now:
        return None
    last = row.last_used_at
    stale = last is None or now - as_utc(last) > TOUCH_EVERY
    principal = Principal(user_id=row.user_id, username=row.username, role=Role(row.role))
    return TokenUse(principal, row.token_id, stale)


def touch(session: Session, token_id: int) -> None:
    session.execute(
        update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utc_now_aware())
    )


def as_utc(ts: datetime) -> datetime:
    """SQLite hands timestamps back naive; they were written as UTC."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
