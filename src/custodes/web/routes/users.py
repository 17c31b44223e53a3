"""Custodes' own users, and API tokens for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from custodes.access import tokens, users
from custodes.access.roles import Role
from custodes.web.deps import CanManageUsers, CanReadUsers, PageDep, StoreDep
from custodes.web.schemas.common import Page
from custodes.web.schemas.users import (
    TokenCreate,
    TokenCreated,
    UserCreate,
    UserCreated,
    UserPublic,
    UserUpdate,
)

router = APIRouter(prefix="/users", tags=["users"])

UserId = Annotated[int, Path(ge=1, le=2**53)]


@router.get("", response_model=Page[UserPublic])
def list_users(
    principal: CanReadUsers,
    store: StoreDep,
    page: PageDep,
    role: Role | None = None,
    disabled: bool | None = None,
    q: Annotated[str | None, Query(max_length=64, description="Part of a name.")] = None,
    sort: users.UserSort = "username",
) -> Page[UserPublic]:
    with store.read() as session:
        rows, total = users.list_users(
            session,
            role=role,
            disabled=disabled,
            q=q,
            sort=sort,
            limit=page.limit,
            offset=page.offset,
        )
        items = [UserPublic.model_validate(u) for u in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("", response_model=UserCreated, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, principal: CanManageUsers, store: StoreDep) -> UserCreated:
    with store.write() as session:
        created = users.add_user(
            session,
            username=body.username,
            role=body.role,
            password=body.password,
            display_name=body.display_name,
            by=principal.username,
        )
        public = UserPublic.model_validate(created.user)
    return UserCreated(user=public, password=created.password)


@router.get("/{user_id}", response_model=UserPublic)
def get_user(user_id: UserId, principal: CanReadUsers, store: StoreDep) -> UserPublic:
    with store.read() as session:
        return UserPublic.model_validate(users.get_user(session, user_id))


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(
    user_id: UserId, body: UserUpdate, principal: CanManageUsers, store: StoreDep
) -> UserPublic:
    with store.write() as session:
        user = users.update_user(
            session,
            user_id,
            body.version,
            role=body.role,
            display_name=body.display_name,
            disabled=body.disabled,
            password=body.password,
            by=principal.username,
        )
        return UserPublic.model_validate(user)


@router.post("/{user_id}/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(
    user_id: UserId, body: TokenCreate, principal: CanManageUsers, store: StoreDep
) -> TokenCreated:
    with store.write() as session:
        user = users.get_user(session, user_id)
        new = tokens.create_token(
            session, user, name=body.name, expires_days=body.expires_days, by=principal.username
        )
        return TokenCreated(
            id=new.token.id,
            name=new.token.name,
            token=new.plaintext,
            expires_at=new.token.expires_at,
        )
