"""Small helpers shared by the command-line sub-applications of the domains."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session

from lendbridge.kit.db import make_engine, make_session_factory, unit_of_work
from lendbridge.kit.errors import DomainError


def parse_day(value: str | None, option: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` option value as a date (None stays None); a usage error names the
    option otherwise."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


@contextlib.contextmanager
def command_transaction(console: Console, database_url: str) -> Iterator[Session]:
    """A command's unit of work on ``database_url``: committed when the block succeeds. A
    domain refusal is printed (its title, then each field's error or its detail) and the
    command exits with code 1."""
    engine = make_engine(database_url, pool_size=2)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    except DomainError as refusal:
        console.print(f"[bold red]error[/]: {escape(refusal.title)}")
        for error in refusal.errors or []:
            console.print(f"  {escape(error.field)}: {escape(error.message)}")
        if not refusal.errors:
            console.print(f"  {escape(refusal.detail)}")
        raise typer.Exit(code=1) from None
    finally:
        engine.dispose()
