"""Logging in and out."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from custodes.access.roles import Permission, Role


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    id: int
    username: str
    role: Role
    permissions: list[Permission]
    csrf_token: str | None = Field(
        description="Send as the X-CSRF-Token header with every POST/PUT/PATCH/DELETE made "
        "with the session cookie (null when authenticated by a bearer token)."
    )


class HealthOut(BaseModel):
    status: str
    version: str
    environment: str
    case_store: str
