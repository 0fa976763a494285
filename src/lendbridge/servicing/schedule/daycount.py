"""Day-count conventions: the fraction of a year between two dates, as an exact integer
fraction ``(numerator, denominator)`` so that interest can be rounded once, exactly."""

from __future__ import annotations

import datetime as dt

from lendbridge.servicing.schedule.terms import DayCount

_LEAP_YEAR_DENOMINATOR = 365 * 366


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def year_fraction(start: dt.date, end: dt.date, day_count: DayCount) -> tuple[int, int]:
    """The year fraction from ``start`` (included) to ``end`` (excluded), ``start <= end``.

    Every convention here is additive: the fractions of consecutive periods sum to the
    fraction of the whole span (30E/360 adjusts each date on its own, so it telescopes).
    """
    if day_count is DayCount.ACT_365F:
        return end.toordinal() - start.toordinal(), 365
    if day_count is DayCount.ACT_360:
        return end.toordinal() - start.toordinal(), 360
    if day_count is DayCount.THIRTY_360:
        days = (
            360 * (end.year - start.year)
            + 30 * (end.month - start.month)
            + min(end.day, 30)
            - min(start.day, 30)
        )
        return days, 360
    return _act_act_isda(start, end)


def _act_act_isda(start: dt.date, end: dt.date) -> tuple[int, int]:
    """ACT/ACT ISDA: the days falling in a leap year count 1/366, the others 1/365."""
    if start.year == end.year:
        return end.toordinal() - start.toordinal(), 366 if is_leap(start.year) else 365
    leap_days = common_days = 0
    cursor = start.toordinal()
    for year in range(start.year, end.year + 1):
        # The span's last year ends at ``end``; the others at the next 1 January.
        stop = end.toordinal() if year == end.year else dt.date(year + 1, 1, 1).toordinal()
        if is_leap(year):
            leap_days += stop - cursor
        else:
            common_days += stop - cursor
        cursor = stop
    return common_days * 366 + leap_days * 365, _LEAP_YEAR_DENOMINATOR
