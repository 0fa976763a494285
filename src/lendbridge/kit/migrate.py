"""Run the schema migrations programmatically (``lendbridge init`` and the tests)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


# On PostgreSQL these posting foreign keys are enforced set-wise by triggers (revision 0002),
# which also own the transient table ledger_commit_check; schema comparison skips them.
TRIGGER_ENFORCED_FOREIGN_KEYS = frozenset(
    {"fk_ledger_posting_entry_id_ledger_entry", "fk_ledger_posting_account_id_ledger_account"}
)
TRIGGER_OWNED_TABLES = frozenset({"ledger_commit_check"})


def include_object(dialect_name: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Alembic's ``include_object`` hook for schema comparison on ``dialect_name``."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        if (
            dialect_name == "postgresql"
            and type_ == "foreign_key_constraint"
            and name in TRIGGER_ENFORCED_FOREIGN_KEYS
        ):
            return False
        return name not in TRIGGER_OWNED_TABLES

    return include
