"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lendbridge.kit.migrate import current_revision, head_revision, include_object
from lendbridge.models_registry import Base


def test_schema_is_at_head_and_matches_the_models(engine):
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_object": include_object(engine.dialect.name), "compare_type": True},
        )
        assert compare_metadata(context, Base.metadata) == []
