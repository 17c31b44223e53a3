"""Shapes every resource shares: pages of results and error bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, Field

T = TypeVar("T")


def _utc(value: datetime) -> datetime:
    """Stores hand back naive UTC (SQLite, DuckDB); answers always carry the offset."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class Page(BaseModel, Generic[T]):
    """One page of a list: ``items``, and ``total`` matching rows across all pages — exact
    when ``total_exact``; otherwise counting stopped at ``total`` (there are more)."""

    items: list[T]
    total: int = Field(ge=0)
    limit: int = Field(ge=1, le=500)
    offset: int = Field(ge=0)
    total_exact: bool = True


class ErrorOut(BaseModel):
    """Every error but a validation error (422) has this body."""

    detail: str


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    """A request that fails validation (422): each problem with where it is."""

    detail: list[ValidationIssue]
