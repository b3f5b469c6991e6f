"""Alembic environment: runs on the connection rsad hands over, or on RSAD_DB_URL."""

from __future__ import annotations

from alembic import context

from rsad.data.orm import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    from rsad.config import get_settings
    from rsad.data.db import make_engine, migration_connection

    # Alembic run on its own (`alembic downgrade ...`): the same guarded connection as rsad's
    # upgrade, so that rebuilding a SQLite table cannot cascade into the rows that point at it.
    engine = make_engine(config.get_main_option("sqlalchemy.url") or get_settings().db_url)
    with migration_connection(engine) as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
