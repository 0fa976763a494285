"""``lendbridge products ...``: the product catalogue from the command line. Each command is an
edge: it owns its transaction. ``save`` reads the same JSON document as ``POST /v1/products``."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from lendbridge.config import get_settings
from lendbridge.kit.actor import system_actor
from lendbridge.kit.cli_options import all_pages, command_transaction
from lendbridge.kit.money import to_major
from lendbridge.products import service
from lendbridge.products.schemas import ProductIn, ProductOut, ProductStatus, RetireIn

products_app = typer.Typer(
    help="Loan products: list, show, save (a new version), retire.", no_args_is_help=True
)
console = Console(highlight=False, soft_wrap=True)
ACTOR = system_actor("cli")


def _transaction() -> contextlib.AbstractContextManager[Session]:
    return command_transaction(console, get_settings().database_url)


def _major(amount: int, currency: str) -> str:
    return f"{to_major(amount, currency)}"


@products_app.command("list")
def list_command(
    status: Annotated[
        ProductStatus | None, typer.Option(help="Only active or only retired products.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The newest version of every product."""
    with _transaction() as session:
        items: list[ProductOut] = all_pages(
            lambda size, cursor: service.list_products(
                session, status=status, limit=size, cursor=cursor
            )
        )
    if as_json:
        typer.echo(json.dumps([p.model_dump(mode="json") for p in items], indent=2))
        return
    table = Table()
    for column in ("code", "v", "status", "rate %", "max APR %"):
        table.add_column(column, no_wrap=True)
    for column in ("name", "amounts", "terms", "method"):
        table.add_column(column)
    for p in items:
        unit = "d" if p.frequency == "single" else f" {p.frequency}"
        table.add_row(
            p.code,
            str(p.version),
            p.status,
            p.annual_rate_percent,
            p.max_apr_percent,
            escape(p.name),
            f"{_major(p.min_amount, p.currency)}-{_major(p.max_amount, p.currency)} {p.currency}",
            ", ".join(str(t) for t in p.allowed_terms) + unit,
            p.method,
        )
    console.print(table)


@products_app.command("show")
def show_command(
    code: Annotated[str, typer.Argument(help="Product code.")],
    version: Annotated[
        int | None, typer.Option(min=1, help="A version (default: the newest).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """A product version, exactly as saved (``--json``: the document ``save`` reads, plus
    the version and the product's state)."""
    with _transaction() as session:
        product = service.get_product(session, code, version)
    if as_json:
        typer.echo(product.model_dump_json(indent=2))
        return
    table = Table("field", "value", show_header=False)
    document = product.model_dump(mode="json")
    for key, value in document.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        table.add_row(key, escape(str(shown)))
    console.print(table)


@products_app.command("save")
def save_command(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="Product JSON (as POST /v1/products)."),
    ],
) -> None:
    """Create a product, or save a new version of it, from a JSON file (validated: every
    rule and the APR cap). Saving the newest version's definition again writes nothing."""
    try:
        request = ProductIn.model_validate_json(file.read_bytes())
    except ValidationError as exc:
        console.print(f"[bold red]error[/]: {escape(str(file))} is not a valid product")
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "(document)"
            console.print(f"  {escape(field)}: {escape(error['msg'])}")
        raise typer.Exit(code=1) from None
    with _transaction() as session:
        out, created = service.save_product(session, request, ACTOR)
    if created:
        console.print(f"product {out.code} version {out.version} saved")
    else:
        console.print(f"product {out.code} unchanged: version {out.version} is the same")


@products_app.command("retire")
def retire_command(
    code: Annotated[str, typer.Argument(help="Product code.")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit trail).")] = None,
) -> None:
    """Retire a product: no new loans, no new versions; loans made under it are unchanged."""
    try:
        RetireIn(reason=reason)
    except ValidationError:
        raise typer.BadParameter("must be 1-200 characters", param_hint="--reason") from None
    with _transaction() as session:
        out = service.retire_product(session, code, ACTOR, reason)
    console.print(f"product {out.code} retired (newest version {out.latest_version})")
