"""Alembic environment: the URL comes from the caller's config or LENDBRIDGE_DATABASE_URL."""

from __future__ import annotations

from typing import Any

from alembic import context

from lendbridge.config import get_settings
from lendbridge.kit.db import make_engine
from lendbridge.kit.migrate import include_object
from lendbridge.models_registry import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object(connection.dialect.name),
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
