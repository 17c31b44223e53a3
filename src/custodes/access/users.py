"""Custodes' own users: adding, listing, changing, disabling, and checking a password.

Every function works inside the caller's transaction (a ``Session`` from ``CaseStore.write``
or ``read``) and writes its audit row there, so a change and its record commit together.

There is no default password: a user gets the password given (checked by
``passwords.check_new_password``) or a random one shown once. Only in development does
``ensure_demo_admin`` create a first admin, with a random password it returns for printing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from custodes import audit
from custodes.access import passwords
from custodes.access.principal import Principal
from custodes.access.roles import Role
from custodes.clock import utc_now_aware
from custodes.config import Settings
from custodes.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from custodes.store.schema import ApiToken, User, WebSession

USERNAME: Final = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
USERNAME_RULE: Final = (
    "2-64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter"
)
UserSort = Literal["username", "-username", "created_at", "-created_at", "role", "-role"]


@dataclass(frozen=True)
class NewUser:
    user: User
    password: str | None  # the generated password, when none was given (show it once)


def check_username(username: str) -> str:
    if not USERNAME.fullmatch(username):
        raise InputError(f"username {username!r} is not valid: {USERNAME_RULE}", field="username")
    return username


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InputError(f"unknown role {role!r}; one of {allowed}", field="role") from None


def add_user(
    session: Session,
    *,
    username: str,
    role: Role | str,
    password: str | None = None,
    display_name: str = "",
    by: str = "system",
) -> NewUser:
    """Create a user; without ``password`` one is generated and returned once."""
    check_username(username)
    checked_role = check_role(role)
    generated = None
    if password is None:
        password = generated = passwords.generate_password()
    passwords.check_new_password(password, username=username)
    if session.execute(select(User.id).where(User.username == username)).first():
        raise ConflictError(f"user {username!r} already exists")
    user = User(
        username=username,
        display_name=display_name.strip(),
        role=checked_role.value,
        password_hash=passwords.hash_password(password),
        disabled=False,
        created_at=utc_now_aware(),
    )
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=by,
        action="user.add",
        target_type="user",
        target_id=user.id,
        detail={"username": username, "role": checked_role.value},
    )
    return NewUser(user, generated)


def list_users(
    session: Session,
    *,
    role: Role | None = None,
    disabled: bool | None = None,
    q: str | None = None,
    sort: UserSort = "username",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[User], int]:
    """One page of users and how many match in all."""
    query = select(User)
    if role is not None:
        query = query.where(User.role == role.value)
    if disabled is not None:
        query = query.where(User.disabled == disabled)
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(
            func.lower(User.username).like(pattern) | func.lower(User.display_name).like(pattern)
        )
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    column = {"username": User.username, "created_at": User.created_at, "role": User.role}[
        sort.lstrip("-")
    ]
    order = column.desc() if sort.startswith("-") else column.asc()
    rows = session.execute(query.order_by(order, User.id).limit(limit).offset(offset)).scalars()
    return list(rows), int(total)


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    return user


def find_user(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


def update_user(
    session: Session,
    user_id: int,
    version: int,
    *,
    role: Role | None = None,
    display_name: str | None = None,
    disabled: bool | None = None,
    password: str | None = None,
    by: str,
) -> User:
    """Change a user; ``version`` must be the one the caller read (else ConflictError)."""
    user = get_user(session, user_id)
    if user.version != version:
        raise ConflictError(
            f"user {user_id} changed since you read it (version {user.version}, not {version})"
        )
    changes: dict[str, object] = {}
    if role is not None and role.value != user.role:
        if user.role == Role.admin.value:
            _keep_an_admin(session, user)
        changes["role"] = role.value
        user.role = role.value
    if display_name is not None and display_name.strip() != user.display_name:
        changes["display_name"] = display_name.strip()
        user.display_name = display_name.strip()
    if disabled is not None and disabled != user.disabled:
        if disabled and user.role == Role.admin.value:
            _keep_an_admin(session, user)
        changes["disabled"] = disabled
        user.disabled = disabled
    if password is not None:
        passwords.check_new_password(password, username=user.username)
        user.password_hash = passwords.hash_password(password)
        changes["password_changed"] = True
    if changes.get("disabled") or "password_changed" in changes:
        end_logins(session, user.id, tokens=bool(changes.get("disabled")))
    if changes:
        session.flush()
        audit.append(
            session,
            actor=by,
            action="user.update",
            target_type="user",
            target_id=user.id,
            detail={"username": user.username, **changes},
        )
    return user


def disable_user(session: Session, username: str, *, by: str) -> User:
    user = find_user(session, username)
    return update_user(session, user.id, user.version, disabled=True, by=by)


def end_logins(session: Session, user_id: int, *, tokens: bool) -> None:
    """End every browser session of a user, and revoke their API tokens if asked."""
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    if tokens:
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utc_now_aware())
        )


def _keep_an_admin(session: Session, leaving: User) -> None:
    others = session.execute(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.admin.value, User.disabled.is_(False), User.id != leaving.id)
    ).scalar_one()
    if not others:
        raise ConflictError("this is the last active admin; make another admin first")


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, username=user.username, role=Role(user.role))


def authenticate(session: Session, username: str, password: str) -> Principal | None:
    """The user's principal if the password is right and the user enabled; else None,
    taking the same time whether or not the user exists. Upgrades an outdated hash (needs
    a write session)."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        passwords.burn_time()
        return None
    if not passwords.verify_password(user.password_hash, password) or user.disabled:
        return None
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return principal_of(user)


def ensure_demo_admin(session: Session, settings: Settings) -> tuple[str, str] | None:
    """In development, with no users yet, create ``admin`` with a random password and return
    (username, password) to print once. Never anything in production."""
    if settings.environment != "development":
        return None
    if session.execute(select(func.count()).select_from(User)).scalar_one():
        return None
    created = add_user(session, username="admin", role=Role.admin, by="system")
    assert created.password is not None
    return created.user.username, created.password


DEMO_USER: Final = "demo"
DEMO_NAME: Final = "Demo login (development only)"


def reset_demo_user(session: Session, settings: Settings) -> tuple[str, str]:
    """Development only: the ``demo`` admin, created if missing, with a fresh random
    password returned to print once (each `custodes demo --serve` gives a new one, so a
    password from an old terminal stops working). Outside development: PermissionDenied."""
    if settings.environment != "development":
        raise PermissionDeniedError(
            "the demo login exists only in development (CUSTODES_ENVIRONMENT=development)"
        )
    password = passwords.generate_password()
    found = session.execute(select(User).where(User.username == DEMO_USER)).scalar_one_or_none()
    if found is None:
        add_user(
            session,
            username=DEMO_USER,
            role=Role.admin,
            password=password,
            display_name=DEMO_NAME,
            by="demo",
        )
    elif found.display_name != DEMO_NAME:
        raise ConflictError(f"user {DEMO_USER!r} exists and is not the demo login; leaving it be")
    else:
        update_user(
            session,
            found.id,
            found.version,
            role=Role.admin,
            disabled=False,
            password=password,
            by="demo",
        )
    return DEMO_USER, password


def retire_demo_user(session: Session, settings: Settings) -> bool:
    """Outside development, disable the demo login if `custodes demo --serve` left one in
    this store (a store promoted from a laptop). True when it was disabled now."""
    if settings.environment == "development":
        return False
    found = session.execute(
        select(User).where(
            User.username == DEMO_USER, User.display_name == DEMO_NAME, User.disabled.is_(False)
        )
    ).scalar_one_or_none()
    if found is None:
        return False
    try:
        update_user(session, found.id, found.version, disabled=True, by="system")
    except ConflictError:  # it is the last admin
        raise ConflictError(
            "the only admin is the development demo login; add a real admin first "
            "(`custodes user add NAME --role admin`)"
        ) from None
    return True
