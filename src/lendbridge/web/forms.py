"""Reading a posted form (its fields, yuan typed by people) and showing its errors next to
its fields."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from fastapi import Request
from sqlalchemy.orm import Session

from lendbridge.kit.errors import DomainError
from lendbridge.web.i18n import N_

Result = TypeVar("Result")
_YUAN = re.compile(r"^[0-9]+(\.[0-9]*)?$")
_TYPED_EXTRAS = str.maketrans("", "", ",，¥￥ ")  # separators and signs people type with yuan


class BadInput(ValueError):
    """A field typed wrongly; ``message`` is an English message id."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_yuan(text: str, *, allow_zero: bool = False) -> int:
    """ "1,234.56" or "¥800" (yuan, as people type them) → fen; never through a float."""
    cleaned = text.translate(_TYPED_EXTRAS).strip()
    if not cleaned or not _YUAN.match(cleaned):
        raise BadInput(N_("Enter an amount in yuan, such as 1,234.56."))
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise BadInput(N_("Enter an amount in yuan, such as 1,234.56.")) from None
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise BadInput(N_("Use at most two decimals (fen)."))
    fen = int(amount.scaleb(2))
    if fen == 0 and not allow_zero:
        raise BadInput(N_("Enter an amount above zero."))
    if fen > 10**15:
        raise BadInput(N_("The amount is too large."))
    return fen


def yuan_text(fen: int) -> str:
    """Fen as a form shows them again (no grouping, two decimals)."""
    return str(Decimal(fen).scaleb(-2).quantize(Decimal("0.01")))


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


def attempt(session: Session, act: Callable[[], Result]) -> Result | DomainError:
    """Run a form's service call at the page (the edge): success commits and gives the
    service's result; a refusal rolls back, so nothing changed, and is given to show."""
    try:
        result = act()
    except DomainError as exc:
        session.rollback()
        return exc
    session.commit()
    return result
