"""Migration environment: runs on the connection the service hands over."""

from __future__ import annotations

from alembic import context

from service.store.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
