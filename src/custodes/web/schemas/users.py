"""Users of Custodes itself (the analysts, not the staff they watch)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from custodes.access.roles import Role
from custodes.web.schemas.common import UtcDatetime


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    disabled: bool
    created_at: UtcDatetime
    version: int


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64, pattern=r"^[a-z][a-z0-9._-]{1,63}$")
    role: Role
    display_name: str = Field(default="", max_length=200)
    # Omit to have one generated and returned once.
    password: str | None = Field(default=None, min_length=12, max_length=1024)


class UserCreated(BaseModel):
    user: UserPublic
    password: str | None = Field(
        description="The generated password, shown this once (null when one was given)."
    )


class UserUpdate(BaseModel):
    """Only the fields given change; ``version`` is the one you read (stale: 409)."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=2**31)
    role: Role | None = None
    display_name: str | None = Field(default=None, max_length=200)
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=12, max_length=1024)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    expires_days: float | None = Field(default=90.0, gt=0, le=3650)


class TokenCreated(BaseModel):
    id: int
    name: str
    token: str = Field(description="Send as 'Authorization: Bearer <token>'; shown this once.")
    expires_at: UtcDatetime | None
