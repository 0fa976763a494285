"""``lendbridge loans ...``: loans from the command line (read-only for now). Each command is an
edge: it owns its transaction."""

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
from lendbridge.servicing import loans
from lendbridge.servicing.loan_schemas import LoanOut
from lendbridge.servicing.models import LoanStatus

loans_app = typer.Typer(help="Loans: show one with its schedule, list them.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)


def _transaction() -> contextlib.AbstractContextManager[Session]:
    return command_transaction(console, get_settings().database_url)


def _money(amount: int, currency: str) -> str:
    return str(to_major(amount, currency))


@loans_app.command("show")
def show_command(
    loan_id: Annotated[uuid.UUID, typer.Argument(help="The loan's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """A loan: terms, status, balances and its schedule."""
    with _transaction() as session:
        out = loans.get_loan(session, loan_id)
    if as_json:
        typer.echo(out.model_dump_json(indent=2))
        return
    c = out.currency
    console.print(
        f"loan {out.id}  [bold]{out.status}[/]  product {out.product_code} "
        f"v{out.product_version}  customer {out.customer_id}"
    )
    console.print(
        f"principal {_money(out.principal, c)} {c} at {out.annual_rate_percent} %, term "
        f"{out.term}; paid out {_money(out.disbursement_amount, c)} on "
        f"{out.disbursed_on or '-'}; matures {out.maturity_date}"
    )
    o = out.outstanding
    console.print(
        f"outstanding: principal {_money(o.principal, c)}, interest {_money(o.interest, c)} "
        f"(accrued to {out.interest_accrued_to or '-'}), fees {_money(o.fee, c)}, penalties "
        f"{_money(o.penalty, c)}; total {_money(o.total, c)}"
    )
    console.print(
        f"days past due {out.dpd} (overdue since {out.overdue_since or '-'}), bucket "
        f"{out.delinquency_bucket}, classification {out.classification}; as of "
        f"{out.delinquency_as_of or '-'}"
    )
    table = Table()
    for column in ("#", "due", "principal", "interest", "fee", "paid", "state"):
        table.add_column(column, justify="right" if column != "state" else "left")
    for row in out.installments:
        due = row.principal_due + row.interest_due + row.fee_due + row.penalty_due
        paid = row.principal_paid + row.interest_paid + row.fee_paid + row.penalty_paid
        table.add_row(
            str(row.number),
            row.due_date.isoformat(),
            _money(row.principal_due, c),
            _money(row.interest_due, c),
            _money(row.fee_due, c),
            f"{_money(paid, c)} / {_money(due, c)}",
            row.state,
        )
    console.print(table)


@loans_app.command("list")
def list_command(
    customer: Annotated[uuid.UUID | None, typer.Option(help="Only this customer's loans.")] = None,
    status: Annotated[LoanStatus | None, typer.Option(help="Only loans in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Loans, newest first (with --json: every field, the customer among them)."""
    with _transaction() as session:
        items: list[LoanOut] = all_pages(
            lambda size, cursor: loans.list_loans(
                session, customer_id=customer, status=status, limit=size, cursor=cursor
            ),
            limit,
        )
    if as_json:
        typer.echo(json.dumps([item.model_dump(mode="json") for item in items], indent=2))
        return
    table = Table()
    table.add_column("id", no_wrap=True, min_width=36)
    for column in ("product", "principal", "outstanding", "status"):
        table.add_column(column)
    for item in items:
        table.add_row(
            str(item.id),
            f"{item.product_code} v{item.product_version}",
            f"{_money(item.principal, item.currency)} {item.currency}",
            _money(item.outstanding.total, item.currency),
            item.status,
        )
    console.print(table)
    console.print(f"{len(items)} loans")
