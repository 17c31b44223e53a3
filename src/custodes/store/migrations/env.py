"""Alembic environment: run migrations on the connection the case store hands over."""

from __future__ import annotations

from alembic import context

from custodes.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only the gateway runs migrations
    raise RuntimeError("run migrations through custodes.store.cases.CaseStore")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
