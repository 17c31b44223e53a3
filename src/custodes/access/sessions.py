"""Server-side browser sessions.

The cookie holds a random token; the store keeps its SHA-256 and the session's CSRF token.
A session ends at logout, at expiry (``settings.session_hours`` after login), or when its
user is disabled or changes password (``users.end_logins``).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from custodes.access.principal import Principal
from custodes.access.tokens import as_utc, digest
from custodes.access.users import principal_of
from custodes.clock import utc_now_aware
from custodes.store.schema import User, WebSession

COOKIE: Final = "custodes_session"
CSRF_HEADER: Final = "X-CSRF-Token"


@dataclass(frozen=True)
class NewSession:
    cookie: str  # goes in the cookie; never stored
    csrf_token: str
    max_age: int  # seconds


@dataclass(frozen=True)
class ActiveSession:
    principal: Principal
    csrf_token: str

    def csrf_ok(self, header: str | None) -> bool:
        # Bytes: compare_digest refuses str with non-ASCII characters (a 500, not a 403).
        return header is not None and hmac.compare_digest(
            header.encode("utf-8", "surrogateescape"), self.csrf_token.encode()
        )


def start(session: Session, principal: Principal, hours: float) -> NewSession:
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utc_now_aware()
    lifetime = timedelta(hours=hours)
    # Expired sessions of this user are dropped as they log in again.
    session.execute(
        delete(WebSession).where(
            WebSession.user_id == principal.user_id, WebSession.expires_at <= now
        )
    )
    session.add(
        WebSession(
            user_id=principal.user_id,
            token_hash=digest(cookie),
            csrf_token=csrf,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return NewSession(cookie, csrf, int(lifetime.total_seconds()))


def resolve(session: Session, cookie: str) -> ActiveSession | None:
    """The live session a cookie names, or None (unknown, expired, user disabled)."""
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == digest(cookie))
    ).first()
    if row is None:
        return None
    web, user = row
    if user.disabled or as_utc(web.expires_at) <= utc_now_aware():
        return None
    return ActiveSession(principal_of(user), web.csrf_token)


def end(session: Session, cookie: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == digest(cookie)))
