"""Alembic environment: always runs on a connection handed in by focusdesk.server.migrate."""

from __future__ import annotations

from alembic import context

from focusdesk.server.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through focusdesk.server.migrate, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds tables when a migration needs it.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
