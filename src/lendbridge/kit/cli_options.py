"""Small helpers shared by the command-line sub-applications of the domains."""

from __future__ import annotations

import datetime as dt

import typer


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
