"""Alembic's entry point for tutor's progress schema: runs on the connection tutor.db hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from tutor.db import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` run by hand with -x url=...: open one ourselves
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("give the database as: alembic -x url=postgresql+psycopg://... upgrade head")
    with create_engine(url).connect() as own:
        context.configure(connection=own, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        own.commit()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
