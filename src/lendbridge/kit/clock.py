"""Time. Business logic asks the clock, never the operating system, so runs can be replayed.

``now()`` is the platform's idea of the current instant (timezone-aware, UTC). Tests and
simulations install a fixed or stepping clock with :func:`use_clock`. The *business date*
(the accounting day, advanced by the daily close) is stored in the database and read with
:func:`lendbridge.kit.calendar.business_date`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_clock: Clock = system_clock


def now() -> dt.datetime:
    value = _clock()
    if value.tzinfo is None:
        raise ValueError("the clock returned a naive datetime")
    return value


def set_clock(clock: Clock) -> None:
    global _clock
    _clock = clock


@contextlib.contextmanager
def use_clock(clock: Clock) -> Iterator[None]:
    previous = _clock
    set_clock(clock)
    try:
        yield
    finally:
        set_clock(previous)


def fixed(instant: dt.datetime) -> Clock:
    if instant.tzinfo is None:
        raise ValueError("a fixed clock needs a timezone-aware instant")
    return lambda: instant
