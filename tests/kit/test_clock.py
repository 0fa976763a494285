from __future__ import annotations

import datetime as dt

import pytest

from lendbridge.kit import clock
from lendbridge.kit.models import UTCDateTime


def test_use_clock_replaces_and_restores_now():
    instant = dt.datetime(2030, 5, 1, 8, 0, tzinfo=dt.UTC)
    before = clock.now()
    with clock.use_clock(clock.fixed(instant)):
        assert clock.now() == instant
    assert clock.now() >= before


def test_naive_datetimes_are_refused_everywhere():
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.fixed(dt.datetime(2030, 1, 1))  # noqa: DTZ001
    naive = dt.datetime(2030, 1, 1)  # noqa: DTZ001
    with clock.use_clock(lambda: naive), pytest.raises(ValueError, match="naive"):
        clock.now()
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(dt.datetime(2030, 1, 1), None)  # noqa: DTZ001  # type: ignore[arg-type]


def test_stored_datetimes_come_back_in_utc():
    shanghai = dt.timezone(dt.timedelta(hours=8))
    stored = UTCDateTime().process_bind_param(dt.datetime(2030, 1, 1, 8, tzinfo=shanghai), None)  # type: ignore[arg-type]
    assert stored == dt.datetime(2030, 1, 1, 0, tzinfo=dt.UTC)
    loaded = UTCDateTime().process_result_value(dt.datetime(2030, 1, 1), None)  # noqa: DTZ001  # type: ignore[arg-type]
    assert loaded is not None
    assert loaded.tzinfo is dt.UTC
