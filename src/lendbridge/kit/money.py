"""Money: integer minor units (fen) with an ISO 4217 currency code. No floats, anywhere."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import Field, StrictInt

# The largest amount a 64-bit signed column holds; anything past it is refused as input.
MAX_MINOR_UNITS = 2**63 - 1

# Minor units per major unit for the currencies the platform books; others default to 2.
MINOR_DIGITS: dict[str, int] = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "JPY": 0, "KRW": 0}

PositiveMinorUnits = Annotated[
    StrictInt,
    Field(gt=0, le=MAX_MINOR_UNITS, description="Amount in integer minor units (fen for CNY)."),
]
CurrencyCode = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code.", examples=["CNY"])
]


def minor_digits(currency: str) -> int:
    return MINOR_DIGITS.get(currency, 2)


def to_major(amount: int, currency: str) -> Decimal:
    """Minor units as an exact decimal amount of major units (1234 CNY fen -> 12.34)."""
    return Decimal(amount).scaleb(-minor_digits(currency))


def convert(amount: int, rate: Decimal, source: str, target: str) -> int:
    """Convert minor units at ``rate`` (target major units per source major unit), rounding
    half-even to the target's minor unit; the caller books the difference explicitly."""
    major = to_major(amount, source) * rate
    quantum = Decimal(1).scaleb(-minor_digits(target))
    return int(major.quantize(quantum, rounding=ROUND_HALF_EVEN).scaleb(minor_digits(target)))
