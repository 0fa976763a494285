"""A channel's reconciliation settings, from its stored configuration.

The ``statement_layout`` JSON of a :class:`PaymentChannel` is the parser's
:class:`StatementLayout` (see ``channels/statement_csv.py``; empty = the simulated gateway's
columns) plus one optional key of reconciliation's own::

    {"date_format": "%Y%m%d", "amount_unit": "minor",
     "recon": {"date_tolerance_days": 1, "amount_tolerance": 0}}

Tolerances apply to matching by amount, date and account and to amounts of lines matched by
reference; an import may override them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lendbridge.kit.errors import ValidationFailed, field_error
from lendbridge.payments.channels.statement_csv import StatementLayout
from lendbridge.payments.models import PaymentChannel

RECON_KEY = "recon"
MAX_DATE_TOLERANCE = 31
MAX_AMOUNT_TOLERANCE = 10**12


class LayoutInvalid(ValidationFailed):
    code = "statement_layout_invalid"
    title = "The channel's statement layout configuration is not valid"


@dataclass(frozen=True)
class Tolerances:
    days: int = 0
    amount: int = 0  # minor units

    def __post_init__(self) -> None:
        if not 0 <= self.days <= MAX_DATE_TOLERANCE:
            raise field_error(
                ValidationFailed,
                "date_tolerance_days",
                f"must be between 0 and {MAX_DATE_TOLERANCE}",
            )
        if not 0 <= self.amount <= MAX_AMOUNT_TOLERANCE:
            raise field_error(
                ValidationFailed,
                "amount_tolerance",
                f"must be between 0 and {MAX_AMOUNT_TOLERANCE}",
            )


def layout_of(channel: PaymentChannel) -> StatementLayout:
    """The parser's layout for ``channel``; a configuration it cannot use is a 422 naming
    the channel's ``statement_layout``, never an internal error."""
    data = {k: v for k, v in (channel.statement_layout or {}).items() if k != RECON_KEY}
    try:
        return StatementLayout.from_dict(data)
    except (ValueError, TypeError, LookupError) as exc:
        raise field_error(
            LayoutInvalid, "statement_layout", f"channel {channel.name}: {exc}"
        ) from None


def tolerances_of(
    channel: PaymentChannel, *, days: int | None = None, amount: int | None = None
) -> Tolerances:
    """The channel's configured tolerances, each overridden when given."""
    stored: Mapping[str, Any] = (channel.statement_layout or {}).get(RECON_KEY) or {}
    if not isinstance(stored, Mapping):
        raise field_error(LayoutInvalid, "statement_layout.recon", "must be an object")
    unknown = set(stored) - {"date_tolerance_days", "amount_tolerance"}
    if unknown:
        raise field_error(
            LayoutInvalid, "statement_layout.recon", f"unknown keys: {', '.join(sorted(unknown))}"
        )
    configured_days = stored.get("date_tolerance_days", 0)
    configured_amount = stored.get("amount_tolerance", 0)
    for name, value, highest in (
        ("date_tolerance_days", configured_days, MAX_DATE_TOLERANCE),
        ("amount_tolerance", configured_amount, MAX_AMOUNT_TOLERANCE),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= highest:
            raise field_error(
                LayoutInvalid,
                f"statement_layout.recon.{name}",
                f"must be an integer between 0 and {highest}",
            )
    return Tolerances(
        days=configured_days if days is None else days,
        amount=configured_amount if amount is None else amount,
    )
