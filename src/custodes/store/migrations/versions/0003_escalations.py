"""Escalation intake: escalations with their current rating, the keys they name (subject
ids, URLs), their revision history, analysts' overrides and attachments.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "escalations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("escalation_id", sa.String(length=512), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("reported_category", sa.String(length=128), nullable=True),
        sa.Column("subject_ids", sa.JSON(), nullable=False),
        sa.Column("reach", sa.BigInteger(), nullable=True),
        sa.Column("jurisdiction", sa.String(length=2), nullable=True),
        sa.Column("requester", sa.String(length=512), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attrs", sa.JSON(), nullable=False),
        sa.Column("band", sa.String(length=2), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("rated_language", sa.String(length=8), nullable=False),
        sa.Column("route", sa.String(length=128), nullable=False),
        sa.Column("fast_lane", sa.String(length=64), nullable=True),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("factors", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("clocks", sa.JSON(), nullable=False),
        sa.Column("engine_sla_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("override_band", sa.String(length=2), nullable=True),
        sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_escalations_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("escalation_id", name=op.f("uq_escalations_escalation_id")),
    )
    op.create_index("ix_escalations_received_at", "escalations", ["received_at"], unique=False)
    op.create_index("ix_escalations_sla_due_at", "escalations", ["sla_due_at"], unique=False)
    op.create_index(
        "ix_escalations_status_due", "escalations", ["status", "sla_due_at"], unique=False
    )
    op.create_table(
        "escalation_attachments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "escalation_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_pk"],
            ["escalations.id"],
            name=op.f("fk_escalation_attachments_escalation_pk_escalations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_attachments")),
    )
    op.create_index(
        op.f("ix_escalation_attachments_escalation_pk"),
        "escalation_attachments",
        ["escalation_pk"],
        unique=False,
    )
    op.create_index(
        op.f("ix_escalation_attachments_sha256"), "escalation_attachments", ["sha256"], unique=False
    )
    op.create_table(
        "escalation_keys",
        sa.Column(
            "escalation_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_pk"],
            ["escalations.id"],
            name=op.f("fk_escalation_keys_escalation_pk_escalations"),
        ),
        sa.PrimaryKeyConstraint("escalation_pk", "key", name=op.f("pk_escalation_keys")),
    )
    op.create_index("ix_escalation_keys_key", "escalation_keys", ["key"], unique=False)
    op.create_table(
        "escalation_overrides",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "escalation_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "analyst_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("analyst", sa.String(length=64), nullable=False),
        sa.Column("band", sa.String(length=2), nullable=False),
        sa.Column("engine_band", sa.String(length=2), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["analyst_id"], ["users.id"], name=op.f("fk_escalation_overrides_analyst_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["escalation_pk"],
            ["escalations.id"],
            name=op.f("fk_escalation_overrides_escalation_pk_escalations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_overrides")),
    )
    op.create_index(
        op.f("ix_escalation_overrides_escalation_pk"),
        "escalation_overrides",
        ["escalation_pk"],
        unique=False,
    )
    op.create_table(
        "escalation_revisions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "escalation_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_pk"],
            ["escalations.id"],
            name=op.f("fk_escalation_revisions_escalation_pk_escalations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_revisions")),
        sa.UniqueConstraint(
            "escalation_pk", "seq", name=op.f("uq_escalation_revisions_escalation_pk")
        ),
    )


def downgrade() -> None:
    op.drop_table("escalation_revisions")
    op.drop_index(op.f("ix_escalation_overrides_escalation_pk"), table_name="escalation_overrides")
    op.drop_table("escalation_overrides")
    op.drop_index("ix_escalation_keys_key", table_name="escalation_keys")
    op.drop_table("escalation_keys")
    op.drop_index(op.f("ix_escalation_attachments_sha256"), table_name="escalation_attachments")
    op.drop_index(
        op.f("ix_escalation_attachments_escalation_pk"), table_name="escalation_attachments"
    )
    op.drop_table("escalation_attachments")
    op.drop_index("ix_escalations_status_due", table_name="escalations")
    op.drop_index("ix_escalations_sla_due_at", table_name="escalations")
    op.drop_index("ix_escalations_received_at", table_name="escalations")
    op.drop_table("escalations")
