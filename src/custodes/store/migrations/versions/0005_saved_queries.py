"""Saved SQL workbench queries (their SQL and quick chart, owned, shareable) and dashboards
made of them, in order.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _owned(table: str) -> list[sa.Column[Any] | sa.Constraint]:
    """The columns and constraints saved queries and dashboards share."""
    return [
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("owner_id", _ID, nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f(f"fk_{table}_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("owner_id", "name", name=op.f(f"uq_{table}_owner_id")),
    ]


def upgrade() -> None:
    op.create_table(
        "saved_queries",
        *_owned("saved_queries"),
        sa.Column("sql", sa.Text(), nullable=False),
        sa.Column("chart", sa.String(length=8), nullable=False),
        sa.Column("chart_x", sa.String(length=256), nullable=True),
        sa.Column("chart_y", sa.String(length=256), nullable=True),
    )
    op.create_table(
        "dashboards",
        *_owned("dashboards"),
        sa.Column("description", sa.Text(), nullable=False),
    )
    op.create_table(
        "dashboard_items",
        sa.Column("dashboard_id", _ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("saved_query_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["dashboard_id"],
            ["dashboards.id"],
            name=op.f("fk_dashboard_items_dashboard_id_dashboards"),
        ),
        sa.ForeignKeyConstraint(
            ["saved_query_id"],
            ["saved_queries.id"],
            name=op.f("fk_dashboard_items_saved_query_id_saved_queries"),
        ),
        sa.PrimaryKeyConstraint("dashboard_id", "position", name=op.f("pk_dashboard_items")),
    )
    op.create_index(
        op.f("ix_dashboard_items_saved_query_id"),
        "dashboard_items",
        ["saved_query_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_dashboard_items_saved_query_id"), table_name="dashboard_items")
    op.drop_table("dashboard_items")
    op.drop_table("dashboards")
    op.drop_table("saved_queries")
