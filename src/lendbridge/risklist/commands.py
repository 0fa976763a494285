"""``lendbridge risk-list ...``: the risk list from the command line (add, remove, list),
acting as the platform (``system:cli`` in the audit trail). Each command is one transaction;
a refused value exits 1 naming the field. Output is masked, as in the API."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from lendbridge.config import get_settings
from lendbridge.kit.actor import system_actor
from lendbridge.kit.cli_options import all_pages, command_transaction
from lendbridge.kit.db import make_engine
from lendbridge.risklist import service
from lendbridge.risklist.models import RiskListKind, RiskListSource

risk_list_app = typer.Typer(
    help="The risk list (黑名单): add, remove and list resident ids, phones and bank cards.",
    no_args_is_help=True,
)
console = Console(highlight=False, soft_wrap=True)
ACTOR = system_actor("cli")
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept with the entry).")]


@contextlib.contextmanager
def _transaction() -> Iterator[Session]:
    """The command's unit of work, with the keyring installed: values are looked up by the
    identity domain's keyed blind indexes."""
    from lendbridge.runtime import configure_keyring

    settings = get_settings()
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        configure_keyring(settings, engine)
    finally:
        engine.dispose()
    with command_transaction(console, settings.database_url) as session:
        yield session


@risk_list_app.command("add")
def add_command(
    kind: Annotated[RiskListKind, typer.Option("--kind", help="What the value is.")],
    value: Annotated[str, typer.Option("--value", help="Resident id, mobile or card number.")],
    reason: ReasonOpt,
    source: Annotated[RiskListSource, typer.Option("--source")] = RiskListSource.MANUAL,
) -> None:
    """List a value; checked and normalised as at real-name verification."""
    with _transaction() as session:
        entry = service.add(session, ACTOR, kind=kind, value=value, reason=reason, source=source)
        entry_id, masked = entry.id, entry.value_masked
    console.print(f"listed {kind.value} {masked} as entry {entry_id}")


@risk_list_app.command("remove")
def remove_command(
    entry_id: Annotated[uuid.UUID, typer.Argument(help="The entry's id.")], reason: ReasonOpt
) -> None:
    """Take an entry off the list (it is kept, marked removed)."""
    with _transaction() as session:
        entry = service.remove(session, ACTOR, entry_id, reason=reason)
        masked = entry.value_masked
    console.print(f"removed entry {entry_id} ({masked})")


@risk_list_app.command("list")
def list_command(
    kind: Annotated[RiskListKind | None, typer.Option("--kind")] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--removed", help="Default: both.", show_default=False)
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Default: all.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Entries, newest first, masked."""
    with _transaction() as session:
        rows = all_pages(
            lambda size, cursor: service.listing(
                session, kind=kind, active=active, limit=size, cursor=cursor
            ),
            limit,
        )
    if as_json:
        typer.echo(json.dumps([row.model_dump(mode="json") for row in rows], indent=2))
        return
    table = Table("id", "kind", "value", "source", "active", "added", "reason")
    for row in rows:
        table.add_row(
            str(row.id),
            row.kind.value,
            row.value_masked,
            row.source.value,
            "yes" if row.active else "removed",
            row.added_at.isoformat(timespec="seconds"),
            escape(row.reason),
        )
    console.print(table)
