"""Alembic environment: the connection and metadata come from the Flask app (panel/migrate.py)."""

from __future__ import annotations

from alembic import context

import panel.models  # noqa: F401 - the core tables; plugin.py modules import their own
from panel.extensions import db

config = context.config
app = config.attributes["app"]

with app.app_context():
    connection = config.attributes.get("connection")
    if connection is None:
        with db.engine.connect() as connection:
            context.configure(connection=connection, target_metadata=db.metadata,
                              render_as_batch=connection.dialect.name == "sqlite",
                              compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
    else:
        context.configure(connection=connection, target_metadata=db.metadata,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
