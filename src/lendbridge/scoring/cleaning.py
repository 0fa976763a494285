"""Turning the messy cell values of a lender's export into numbers or categories.

Pure Python with no pandas, because the serving scorer cleans an application's raw values
with exactly the same rules the training data went through.

Rules (a cell is a string as read from CSV, or already a number):

* blank, or a sentinel such as ``N/A``, ``NULL``, ``?``, ``-999`` -> missing;
* ``"83.70%"`` -> 83.7 (the percentage number, not 0.837, so a column mixing ``83.7`` and
  ``"83.7%"`` stays on one scale);
* ``"1,234.50"``, ``"¥1,234"``, ``"$ 12 000"``, ``"1 234 CNY"`` -> 1234.5, 1234, 12000, 1234;
* ``"10+ years"`` -> 10, ``"< 1 year"`` -> 0, ``"3 years"`` -> 3, ``"6 months"`` -> 0.5
  (durations in years).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

# "none" is deliberately absent: it is a real category in many files (guarantors: none).
DEFAULT_SENTINELS = frozenset(
    {"n/a", "na", "null", "nan", "?", "-", "--", "-999", "-9999", "-99999", "#n/a", "missing"}
)
_CURRENCY = re.compile(r"^(?:[¥￥$€£]|cny|rmb|usd|eur)\s*|\s*(?:[¥￥$€£]|cny|rmb|usd|eur|元)$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:[, _]\d{3})+(?:\.\d+)?$")
_PLAIN = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$")
_DURATION = re.compile(
    r"^(?P<less><\s*)?(?P<n>\d+(?:\.\d+)?)\s*(?P<plus>\+)?\s*(?P<unit>years?|yrs?|months?|mos?)$"
)


class Change(StrEnum):
    """How a value was coerced (for the data-quality report)."""

    PERCENT = "percent"
    AMOUNT = "amount"
    DURATION = "duration"


@dataclass(frozen=True, slots=True)
class Parsed:
    """A cell read as a number: ``value`` None when it is not one; ``change`` says which
    messy format it was in (None for a plain number)."""

    value: float | None
    change: Change | None = None


def normalise_sentinels(extra: list[str] | tuple[str, ...] = ()) -> frozenset[str]:
    return DEFAULT_SENTINELS | {s.strip().lower() for s in extra}


def is_missing(raw: object, sentinels: frozenset[str] = DEFAULT_SENTINELS) -> bool:
    """Blank, None, NaN, or a sentinel value."""
    if raw is None:
        return True
    if isinstance(raw, float) and math.isnan(raw):
        return True
    if isinstance(raw, int | float):
        return _number_text(float(raw)) in sentinels
    text = str(raw).strip()
    return not text or text.lower() in sentinels


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


def parse_number(raw: object) -> Parsed:
    """The number a non-missing cell holds, recognising the messy formats above."""
    if isinstance(raw, bool):
        return Parsed(None)
    if isinstance(raw, int | float):
        return Parsed(float(raw)) if math.isfinite(raw) else Parsed(None)
    text = str(raw).strip().lower()
    if _PLAIN.match(text):
        return _finite(float(text), None)
    if text.endswith("%"):
        body = text[:-1].strip()
        inner = parse_number(body)
        return _finite(inner.value, Change.PERCENT) if inner.change is None else Parsed(None)
    duration = _DURATION.match(text)
    if duration:
        years = float(duration["n"])
        if duration["unit"].startswith("mo"):
            years /= 12.0
        return Parsed(0.0 if duration["less"] else years, Change.DURATION)
    amount = _CURRENCY.sub("", text).strip()
    if amount != text and _PLAIN.match(amount):
        return _finite(float(amount), Change.AMOUNT)
    if _GROUPED.match(amount):
        return _finite(float(re.sub(r"[, _]", "", amount)), Change.AMOUNT)
    return Parsed(None)


def _finite(value: float | None, change: Change | None) -> Parsed:
    if value is None or not math.isfinite(value):
        return Parsed(None)
    return Parsed(value, change)


def clean_category(raw: object) -> str:
    """A category as a trimmed string with inner whitespace collapsed; numbers as their text."""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return " ".join(str(raw).split())
