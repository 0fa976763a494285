"""``lendbridge collections ...``: the collector queue from the command line (read-only).
Each command is an edge: it owns its transaction."""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from lendbridge.config import get_settings
from lendbridge.kit.cli_options import all_pages, command_transaction
from lendbridge.kit.money import to_major
from lendbridge.servicing.collections.queue import QueueBucket, queue
from lendbridge.servicing.collections.schemas import QueueItemOut

collections_app = typer.Typer(help="Collections: the queue of overdue loans.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)


def _transaction() -> contextlib.AbstractContextManager[Session]:
    return command_transaction(console, get_settings().database_url)


@collections_app.command("queue")
def queue_command(
    bucket: Annotated[
        QueueBucket | None, typer.Option(help="Only this delinquency bucket.")
    ] = None,
    assignee: Annotated[
        uuid.UUID | None, typer.Option(help="Only loans assigned to this collector.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Overdue loans, the most days past due first."""
    with _transaction() as session:
        items: list[QueueItemOut] = all_pages(
            lambda size, cursor: queue(
                session, bucket=bucket, assignee=assignee, limit=size, cursor=cursor
            ),
            limit,
        )
    if as_json:
        typer.echo(json.dumps([item.model_dump(mode="json") for item in items], indent=2))
        return
    table = Table()
    table.add_column("loan", no_wrap=True, min_width=36)
    for column in ("dpd", "bucket", "overdue", "assignee", "last contact", "promise"):
        table.add_column(column)
    for item in items:
        contact = item.last_contact
        promise = item.open_promise
        table.add_row(
            str(item.loan_id),
            str(item.dpd),
            item.bucket.value,
            f"{to_major(item.amount_overdue, item.currency)} {item.currency}",
            str(item.assignee or "-"),
            f"{contact.business_date} {contact.outcome.value}" if contact else "-",
            f"{to_major(promise.amount, promise.currency)} by {promise.promised_date}"
            if promise
            else "-",
        )
    console.print(table)
    console.print(f"{len(items)} loans")
