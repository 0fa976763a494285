"""Interest recognition, as properties: accrued day by day, an installment's interest adds up
to exactly the schedule's interest for its period — in every method, frequency, day count
and interest period — and it never goes backwards."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from lendbridge.servicing.accrual import accrued, share_after
from lendbridge.servicing.schedule import (
    DayCount,
    Frequency,
    InterestPeriod,
    Method,
    Terms,
    build_schedule,
)

DAY = dt.timedelta(days=1)
day_counts = st.sampled_from(list(DayCount))
dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))


def daily(interest, base, start, due, day_count):
    """What a daily close books: the cumulative amount each day, and the differences."""
    previous, deltas, day = base, [], start
    while day < due:
        day += DAY
        now = accrued(interest, base, start, due, day, day_count)
        deltas.append(now - previous)
        previous = now
    return previous, deltas


@given(
    st.integers(0, 10**10),
    st.integers(0, 10**10),
    dates,
    st.integers(1, 400),
    day_counts,
)
def test_a_period_accrues_exactly_its_interest_and_never_backwards(
    interest, base_seed, start, days, day_count
):
    base = base_seed % (interest + 1)
    due = start + dt.timedelta(days=days)
    total, deltas = daily(interest, base, start, due, day_count)
    assert total == interest
    assert sum(deltas) == interest - base
    assert all(d >= 0 for d in deltas)
    assert accrued(interest, base, start, due, start, day_count) == base


terms_strategy = st.builds(
    Terms,
    principal=st.integers(1_000_00, 500_000_00),
    annual_rate_percent=st.decimals(
        min_value=Decimal("0"), max_value=Decimal("36"), places=2, allow_nan=False
    ),
    term=st.integers(1, 24),
    start=dates,
    frequency=st.sampled_from([Frequency.MONTHLY, Frequency.BIWEEKLY, Frequency.WEEKLY]),
    method=st.sampled_from(list(Method)),
    day_count=day_counts,
    interest_period=st.sampled_from(list(InterestPeriod)),
)


@settings(max_examples=60, deadline=None)
@given(terms_strategy)
def test_daily_accrual_over_a_loan_equals_the_schedules_interest(terms):
    schedule = build_schedule(terms)
    previous = terms.start
    recognised = 0
    for row in schedule.installments:
        total, deltas = daily(row.interest, 0, previous, row.due_date, terms.day_count)
        assert total == row.interest
        assert all(d >= 0 for d in deltas)
        recognised += sum(deltas)
        previous = row.due_date
    assert recognised == schedule.total_interest


@given(st.integers(0, 10**10), dates, st.integers(1, 400), st.integers(0, 400), day_counts)
def test_the_share_after_a_split_shrinks_to_nothing_at_the_due_date(
    amount, start, days, offset, day_count
):
    due = start + dt.timedelta(days=days)
    split = start + dt.timedelta(days=min(offset, days))
    share = share_after(amount, start, split, due, day_count)
    assert 0 <= share <= amount
    assert share_after(amount, start, start, due, day_count) == amount
    assert share_after(amount, start, due, due, day_count) == 0
    later = min(split + DAY, due)
    assert share_after(amount, start, later, due, day_count) <= share


def test_a_month_of_interest_recognised_day_by_day():
    # 100.00 of interest over January (31 days, ACT/365F), as a monthly schedule has it for a
    # 10,000.00 loan at 12 %: about 3.23 a day, the rounding settled as it goes.
    start, due = dt.date(2026, 1, 1), dt.date(2026, 2, 1)
    first = accrued(10_000, 0, start, due, start + DAY, DayCount.ACT_365F)
    assert first == 323  # 10000 / 31, half up
    assert accrued(10_000, 0, start, due, dt.date(2026, 1, 16), DayCount.ACT_365F) == 4839
    total, deltas = daily(10_000, 0, start, due, DayCount.ACT_365F)
    assert total == 10_000
    assert set(deltas) == {322, 323}
