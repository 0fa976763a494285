"""Due dates. The first installment falls one period after the start; monthly due dates keep
the anchor day of month, clamped to the month's end (Jan 31 -> Feb 28/29 -> Mar 31)."""

from __future__ import annotations

import datetime as dt

from lendbridge.servicing.schedule.terms import PERIOD_DAYS, Frequency

_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_in_month(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def add_months(start: dt.date, months: int, anchor_day: int | None = None) -> dt.date:
    """``months`` calendar months after ``start``, on ``anchor_day`` (default the start's
    day) or the month's last day when the month is shorter."""
    day = anchor_day or start.day
    year, month0 = divmod(start.year * 12 + start.month - 1 + months, 12)
    month = month0 + 1
    if day > 28:
        day = min(day, days_in_month(year, month))
    return dt.date(year, month, day)


def due_dates(
    start: dt.date, frequency: Frequency, count: int, anchor_day: int | None = None
) -> list[dt.date]:
    """The due dates of ``count`` periods after ``start`` (for ``SINGLE``, ``count`` is the
    number of days and there is one date)."""
    if frequency is Frequency.SINGLE:
        return [dt.date.fromordinal(start.toordinal() + count)]
    if frequency is Frequency.MONTHLY:
        day = anchor_day or start.day
        base = start.year * 12 + start.month - 1
        out = []
        for index in range(base + 1, base + count + 1):
            year, month0 = divmod(index, 12)
            month = month0 + 1
            # Clamping needs the month's length only for days past the 28th.
            out.append(
                dt.date(year, month, day if day <= 28 else min(day, days_in_month(year, month)))
            )
        return out
    step = PERIOD_DAYS[frequency]
    first = start.toordinal()
    fromordinal = dt.date.fromordinal
    return [fromordinal(first + step * k) for k in range(1, count + 1)]
