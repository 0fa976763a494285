"""Migration 0013 (products) goes down to 0012 and up again on both databases (passing
through the revisions after it)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect

from lendbridge.kit.migrate import alembic_config, current_revision, head_revision, upgrade


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_products_migration_down_and_up(engine: Engine) -> None:
    head = head_revision()
    assert current_revision(engine) == head
    try:
        downgrade(engine, "0012")
        assert current_revision(engine) == "0012"
        tables = set(inspect(engine).get_table_names())
        assert not tables & {"product", "product_version"}
    finally:
        upgrade(engine)
    assert current_revision(engine) == head
    assert {"product", "product_version"} <= set(inspect(engine).get_table_names())
