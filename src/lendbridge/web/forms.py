"""Reading a posted form and showing its errors next to its fields."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request

from lendbridge.kit.errors import DomainError


async def fields(request: Request) -> dict[str, str]:
    """The form's text fields, trimmed (files and repeated names are not used by pages)."""
    form = await request.form()
    return {name: value.strip() for name, value in form.items() if isinstance(value, str)}


def errors_of(exc: DomainError, *, rename: Mapping[str, str] | None = None) -> dict[str, str]:
    """Field name → message, for the template's ``errors``; a refusal that names no field
    goes under ``""`` (shown above the form). ``rename`` maps a service's field names to the
    form's (``phone_index`` → ``phone``)."""
    rename = rename or {}
    found = {rename.get(e.field, e.field): e.message for e in exc.errors}
    return found or {"": exc.detail}
