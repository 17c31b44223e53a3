"""Escalation lifecycle: who acknowledged, first acted on and resolved each escalation (and
how it was resolved), the clocks' causes, breaches recorded when a step came late, staff
subjects, and attachment bytes stored in the case store, once per SHA-256 and per escalation.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# New escalation columns; the two JSON ones get a default so existing rows stay valid.
_COLUMNS = (
    ("clock_causes", sa.JSON(), "{}"),
    ("acknowledged_at", sa.DateTime(timezone=True), None),
    ("acknowledged_by", sa.String(length=64), None),
    ("actioned_at", sa.DateTime(timezone=True), None),
    ("actioned_by", sa.String(length=64), None),
    ("action_note", sa.Text(), None),
    ("resolved_at", sa.DateTime(timezone=True), None),
    ("resolved_by", sa.String(length=64), None),
    ("resolution", sa.String(length=32), None),
    ("resolution_note", sa.Text(), None),
    ("staff_subject_ids", sa.JSON(), "[]"),
)


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD COLUMN on both databases (no table copy on SQLite).
    for name, type_, default in _COLUMNS:
        op.add_column(
            "escalations",
            sa.Column(name, type_, nullable=default is None, server_default=default),
        )
    op.add_column(
        "escalation_attachments",
        sa.Column("added_by", sa.String(length=64), nullable=False, server_default=""),
    )
    op.create_index(
        "ix_escalation_attachments_content",
        "escalation_attachments",
        ["escalation_pk", "sha256"],
        unique=True,
    )
    op.create_table(
        "escalation_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_escalation_blobs")),
    )
    op.create_table(
        "escalation_breaches",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("escalation_pk", _ID, nullable=False),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("overdue_seconds", sa.Float(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_pk"],
            ["escalations.id"],
            name=op.f("fk_escalation_breaches_escalation_pk_escalations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_breaches")),
        sa.UniqueConstraint(
            "escalation_pk", "clock", name=op.f("uq_escalation_breaches_escalation_pk")
        ),
    )


def downgrade() -> None:
    op.drop_table("escalation_breaches")
    op.drop_table("escalation_blobs")
    op.drop_index("ix_escalation_attachments_content", table_name="escalation_attachments")
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+): a batch copy of `escalations`
    # would drop the old table, which its child rows' foreign keys refuse.
    op.drop_column("escalation_attachments", "added_by")
    for name, _type, _default in reversed(_COLUMNS):
        op.drop_column("escalations", name)
