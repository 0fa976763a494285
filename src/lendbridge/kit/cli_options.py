"""Small helpers shared by the command-line sub-applications of the domains."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, Protocol, TypeVar

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


Item = TypeVar("Item", covariant=True)
PAGE_SIZE = 500


class Page(Protocol, Generic[Item]):
    @property
    def items(self) -> Sequence[Item]: ...
    @property
    def next_cursor(self) -> str | None: ...


def all_pages(
    fetch: Callable[[int, str | None], Page[Item]], limit: int | None = None
) -> list[Item]:
    """Every item of a cursor-paged listing, up to ``limit`` (None: all): ``fetch(page size,
    cursor)`` returns one page, asked for in pages of at most 500."""
    items: list[Item] = []
    cursor = None
    while limit is None or len(items) < limit:
        size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(items))
        page = fetch(size, cursor)
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return items


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
