"""``lendbridge payments ...``: channels, the manual queue, settlement and recovery from the
command line. Each command is an edge: it owns its transaction."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from lendbridge.config import get_settings
from lendbridge.kit.actor import system_actor
from lendbridge.kit.cli_options import command_transaction
from lendbridge.kit.money import to_major
from lendbridge.payments import channel_config, orders, settlement, submission
from lendbridge.payments.schemas import ChannelIn

payments_app = typer.Typer(
    help="Payments: channels, the manual queue, daily settlement, recovery.",
    no_args_is_help=True,
)
console = Console(highlight=False, soft_wrap=True)
ACTOR = system_actor("cli")


def _transaction() -> contextlib.AbstractContextManager[Session]:
    return command_transaction(console, get_settings().database_url)


@payments_app.command("channels")
def channels_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the payment channels."""
    with _transaction() as session:
        found = channel_config.list_channels(session)
    if as_json:
        typer.echo(json.dumps([c.model_dump(mode="json") for c in found], indent=2))
        return
    table = Table("name", "adapter", "base url", "status", "per order", "per day", "cut-off")
    for c in found:
        table.add_row(
            c.name,
            c.adapter,
            c.base_url or "-",
            c.status,
            str(to_major(c.per_order_limit, c.currency)),
            str(to_major(c.daily_limit, c.currency)),
            c.cutoff,
        )
    console.print(table)


@payments_app.command("channel-save")
def channel_save_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Channel JSON.")],
) -> None:
    """Create or reconfigure a channel from a JSON file (the body of PUT /v1/payments/channels)."""
    try:
        request = ChannelIn.model_validate_json(file.read_bytes())
    except ValidationError as exc:
        console.print(f"[bold red]error[/]: {file} is not a valid channel:\n{exc}")
        raise typer.Exit(code=1) from None
    with _transaction() as session:
        out = channel_config.save_channel(session, request, ACTOR)
    console.print(f"channel {out.name} saved ({out.status})")


@payments_app.command("manual-queue")
def manual_queue_command(
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """Orders waiting for staff."""
    with _transaction() as session:
        page = orders.list_orders(session, manual=True, limit=limit)
    table = Table("order", "kind", "channel", "amount", "status", "reason")
    for o in page.items:
        table.add_row(
            str(o.id),
            o.kind,
            o.channel,
            str(to_major(o.amount, o.currency)),
            o.status,
            o.manual_reason or "",
        )
    console.print(table)


@payments_app.command("settle")
def settle_command(
    channel: Annotated[str, typer.Option(help="Channel name.")],
    date: Annotated[
        str | None, typer.Option(help="Business date (YYYY-MM-DD); default the previous one.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Settle a channel's business day (once; again prints the first settlement)."""
    try:
        day = dt.date.fromisoformat(date) if date else None
    except ValueError:
        raise typer.BadParameter(f"{date!r} is not a date (YYYY-MM-DD)") from None
    with _transaction() as session:
        out, created = settlement.settle(session, channel, day, ACTOR)
    if as_json:
        typer.echo(out.model_dump_json(indent=2))
        return
    verb = "settled" if created else "already settled"
    console.print(
        f"{out.channel} {out.business_date} {verb}: collected {out.collected} "
        f"({out.collected_count}), paid {out.paid} ({out.paid_count}), reversals in "
        f"{out.reversed_in} / out {out.reversed_out}, fees {out.fees}, net {out.net} (minor units)"
    )


@payments_app.command("recover")
def recover_command() -> None:
    """Queue status queries for sends left without an answer by a process that died (the
    worker also does this every minute)."""
    with _transaction() as session:
        queued = submission.recover(session)
    console.print(f"{queued} orders queued for a status query")
