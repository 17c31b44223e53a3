"""Case list indexes: ordering by update or creation time, by category, unrestricted cases.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_cases_updated_at": ["updated_at"],
    "ix_cases_created_at": ["created_at"],
    "ix_cases_category_updated": ["category", "updated_at"],
    "ix_cases_restricted": ["restricted"],
    "ix_cases_status_restricted": ["status", "restricted"],
    "ix_cases_category_restricted": ["category", "restricted"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "cases", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="cases")
