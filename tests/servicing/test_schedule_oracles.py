"""Published and hand-checked examples of every method, frequency and day count."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import numpy_financial as npf
import pytest

from lendbridge.kit.errors import ValidationFailed
from lendbridge.servicing.schedule import (
    DayCount,
    Frequency,
    InterestPeriod,
    Method,
    Terms,
    apr,
    build_schedule,
    reamortise,
    term_for_installment,
)
from lendbridge.servicing.schedule.dates import add_months, due_dates
from lendbridge.servicing.schedule.daycount import year_fraction
from lendbridge.servicing.schedule.methods import level_payment
from tests.servicing.factories import terms

D = Decimal


def test_equal_installment_published_example() -> None:
    """280,000.00 at 8.4 % a year over 20 months: 15,051.72 a month (a textbook example;
    numpy-financial's pmt agrees)."""
    schedule = build_schedule(terms(principal=28_000_000, rate="8.4", term=20))
    totals = [row.total for row in schedule.installments]
    assert totals[:19] == [1_505_172] * 19
    assert totals[19] == 1_505_177  # the last absorbs the rounding of the other nineteen
    assert schedule.installments[0].interest == 196_000  # 280,000 x 0.7 %
    assert schedule.total_interest == sum(totals) - 28_000_000 == 2_103_445
    pmt = D(str(npf.pmt(0.084 / 12, 20, -280_000.00)))
    assert pmt.quantize(D("0.01"), ROUND_HALF_UP) == D("15051.72")


@pytest.mark.parametrize(
    ("principal", "rate", "term", "frequency"),
    [
        (28_000_000, "8.4", 20, Frequency.MONTHLY),
        (500_000, "12", 18, Frequency.MONTHLY),
        (123_456_789, "4.35", 360, Frequency.MONTHLY),
        (1_000_000, "36", 26, Frequency.BIWEEKLY),
        (777_777, "18.25", 52, Frequency.WEEKLY),
    ],
)
def test_level_payment_agrees_with_numpy_financial(
    principal: int, rate: str, term: int, frequency: Frequency
) -> None:
    periods = {Frequency.MONTHLY: 12, Frequency.BIWEEKLY: 26, Frequency.WEEKLY: 52}[frequency]
    exact = level_payment(principal, term, (int(D(rate) * 10_000), 1_000_000 * periods))
    # numpy works in binary floating point: an independent check to a hundredth of a fen.
    reference = D(str(npf.pmt(float(D(rate) / 100 / periods), term, -principal)))
    assert abs(D(exact) - reference) <= D("0.51")
    schedule = build_schedule(terms(principal=principal, rate=rate, term=term, frequency=frequency))
    assert schedule.installments[0].total == exact


def test_equal_principal_first_period_interest() -> None:
    """120,000.00 at 6 % over 12 months: 10,000.00 principal a month; interest 600.00 in the
    first month (120,000 x 0.5 %), falling by 50.00 a month: 3,900.00 in all."""
    schedule = build_schedule(
        terms(principal=12_000_000, rate="6", term=12, method=Method.EQUAL_PRINCIPAL)
    )
    assert [row.principal for row in schedule.installments] == [1_000_000] * 12
    assert [row.interest for row in schedule.installments] == [
        60_000 - 5_000 * k for k in range(12)
    ]
    assert schedule.total_interest == 390_000


def test_equal_principal_remainder_goes_to_the_last_installment() -> None:
    schedule = build_schedule(terms(principal=1_000, rate="0", term=3, method="equal_principal"))
    assert [row.principal for row in schedule.installments] == [333, 333, 334]


def test_flat_total_interest_is_principal_times_rate_times_years() -> None:
    """等本等息: 10,000.00 at 12 % a year over 24 months: 100.00 interest every month on the
    original principal, 2,400.00 = 10,000 x 12 % x 2 years."""
    schedule = build_schedule(terms(principal=1_000_000, rate="12", term=24, method="flat"))
    assert {row.interest for row in schedule.installments} == {10_000}
    assert schedule.total_interest == 1_000_000 * 12 * 2 // 100
    # Its APR is far above the quoted flat rate (the classic flat-rate disclosure gap).
    assert D("21") < apr(schedule).apr < D("23")


def test_interest_only_pays_the_principal_last() -> None:
    schedule = build_schedule(
        terms(principal=1_000_000, rate="12", term=12, method=Method.INTEREST_ONLY)
    )
    assert [row.total for row in schedule.installments] == [10_000] * 11 + [1_010_000]
    assert apr(schedule).apr == D("12.0000")


def test_bullet_is_one_payment_of_simple_interest_at_maturity() -> None:
    """到期还本付息: 10,000.00 at 12 % for 6 months: 10,600.00 once, six months later."""
    schedule = build_schedule(
        terms(principal=1_000_000, rate="12", term=6, method=Method.BULLET, start="2024-01-31")
    )
    [row] = schedule.installments
    assert (row.due_date, row.principal, row.interest, row.balance) == (
        dt.date(2024, 7, 31),
        1_000_000,
        60_000,
        0,
    )
    assert apr(schedule).apr == D("12.0000")  # one interval: the whole term


def test_bullet_daily_interest_on_actual_days() -> None:
    """10,000.00 at 7.3 % ACT/365F from 2024-01-01 to 2024-07-01 (182 days): 364.00."""
    schedule = build_schedule(
        terms(
            principal=1_000_000,
            rate="7.3",
            term=6,
            method=Method.BULLET,
            start="2024-01-01",
            interest_period=InterestPeriod.DAILY,
        )
    )
    assert schedule.installments[0].interest == 36_400


def test_bullet_interest_grace_waives_the_first_periods() -> None:
    schedule = build_schedule(
        terms(principal=1_000_000, rate="12", term=6, method="bullet", interest_grace=2)
    )
    assert schedule.installments[0].interest == 40_000  # four of six months


def test_single_payment_term_is_days() -> None:
    """1,000.00 at 36.5 % for 30 days: 30.00 of interest, APR 36.5 %."""
    schedule = build_schedule(
        terms(principal=100_000, rate="36.5", term=30, frequency=Frequency.SINGLE)
    )
    [row] = schedule.installments
    assert (row.due_date, row.interest, row.total) == (dt.date(2024, 1, 31), 3_000, 103_000)
    rates = apr(schedule)
    assert rates.apr == D("36.5000")
    expected_ear = (D("1.03") ** (D(365) / D(30)) - 1) * 100
    assert rates.ear == expected_ear.quantize(D("0.0001"), ROUND_HALF_UP)


def test_daily_interest_uses_the_actual_days_of_each_period() -> None:
    """36,000.00 at 3.65 % ACT/365F: a 29-day February and a 31-day March."""
    schedule = build_schedule(
        terms(
            principal=3_600_000,
            rate="3.65",
            term=3,
            method="equal_principal",
            start="2024-01-31",
            interest_period="daily",
        )
    )
    first, second, third = schedule.installments
    assert [first.due_date, second.due_date, third.due_date] == [
        dt.date(2024, 2, 29),
        dt.date(2024, 3, 31),
        dt.date(2024, 4, 30),
    ]
    assert first.interest == 10_440  # 36,000 x 3.65 % x 29 / 365 = 104.40
    assert second.interest == 7_440  # 24,000 x 3.65 % x 31 / 365 = 74.40
    assert third.interest == 3_600  # 12,000 x 3.65 % x 30 / 365 = 36.00


def test_interest_is_rounded_half_up() -> None:
    # 150 fen at 4 % for a month: 0.5 fen, rounded up to 1 (half-even would give 0).
    schedule = build_schedule(terms(principal=150, rate="4", term=1))
    assert schedule.installments[0].interest == 1


def test_installment_rounded_to_whole_yuan_last_absorbs() -> None:
    schedule = build_schedule(
        terms(principal=28_000_000, rate="8.4", term=20, installment_multiple=100)
    )
    totals = [row.total for row in schedule.installments]
    assert totals[:19] == [1_505_200] * 19
    assert totals[19] < 1_505_200
    assert sum(row.principal for row in schedule.installments) == 28_000_000


def test_principal_grace_then_amortise_over_the_rest() -> None:
    schedule = build_schedule(
        terms(principal=1_200_000, rate="12", term=12, method="equal_principal", principal_grace=2)
    )
    rows = schedule.installments
    assert [r.principal for r in rows[:2]] == [0, 0]
    assert [r.interest for r in rows[:2]] == [12_000, 12_000]
    assert [r.principal for r in rows[2:]] == [120_000] * 10


def test_principal_grace_with_equal_installment() -> None:
    schedule = build_schedule(terms(principal=28_000_000, rate="8.4", term=23, principal_grace=3))
    rows = schedule.installments
    assert [r.total for r in rows[:3]] == [196_000] * 3
    assert [r.total for r in rows[3:22]] == [1_505_172] * 19


def test_interest_grace_is_waived_not_capitalised() -> None:
    plain = build_schedule(terms(principal=500_000, rate="12", term=6))
    waived = build_schedule(terms(principal=500_000, rate="12", term=6, interest_grace=2))
    assert [r.interest for r in waived.installments[:2]] == [0, 0]
    assert [r.principal for r in waived.installments] == [r.principal for r in plain.installments]
    assert waived.total_interest == plain.total_interest - sum(
        r.interest for r in plain.installments[:2]
    )


def test_fees_fixed_and_percent_and_their_apr() -> None:
    """10,000.00 at 12 % over 12 months, 2 % upfront fee deducted, 10.00 per installment."""
    schedule = build_schedule(
        terms(
            principal=1_000_000,
            rate="12",
            term=12,
            upfront_fee_percent=D("2"),
            installment_fee_fixed=1_000,
        )
    )
    assert schedule.upfront_fee == 20_000
    assert schedule.disbursed == 980_000
    assert {row.fee for row in schedule.installments} == {1_000}
    assert schedule.total_fees == 20_000 + 12_000
    flows = [-9_800.00] + [row.total / 100 for row in schedule.installments]
    reference = D(str(npf.irr(flows))) * 12 * 100
    assert abs(apr(schedule).apr - reference) < D("0.0001")
    paid = build_schedule(
        terms(
            principal=1_000_000,
            rate="12",
            term=12,
            upfront_fee_fixed=20_000,
            upfront_fee_deducted=False,
            installment_fee_fixed=1_000,
        )
    )
    assert paid.disbursed == 1_000_000
    assert apr(paid).apr == apr(schedule).apr  # the same use of money


def test_percent_fee_rounds_half_up() -> None:
    schedule = build_schedule(
        terms(principal=250, rate="0", term=1, installment_fee_percent=D("1"))
    )
    assert schedule.installments[0].fee == 3  # 2.5 fen


def test_apr_of_a_plain_loan_is_its_nominal_rate() -> None:
    rates = apr(build_schedule(terms(principal=500_000, rate="12", term=12)))
    assert rates.apr == D("12.0000")
    assert rates.ear == D("12.6825")  # 1.01^12 - 1


def test_zero_rate_schedule_and_apr() -> None:
    schedule = build_schedule(terms(principal=1_000, rate="0", term=3))
    assert [row.total for row in schedule.installments] == [333, 333, 334]
    assert apr(schedule).apr == D("0.0000")


@pytest.mark.parametrize(
    ("start", "end", "day_count", "fraction"),
    [
        ("2024-01-31", "2024-02-29", DayCount.ACT_365F, (29, 365)),
        ("2024-01-31", "2024-02-29", DayCount.ACT_360, (29, 360)),
        ("2024-01-31", "2024-02-29", DayCount.ACT_ACT, (29, 366)),
        # ISDA: 17 days of 2023 over 365, 14 days of 2024 over 366.
        ("2023-12-15", "2024-01-15", DayCount.ACT_ACT, (17 * 366 + 14 * 365, 365 * 366)),
        ("2023-01-31", "2023-02-28", DayCount.THIRTY_360, (28, 360)),
        ("2023-02-28", "2023-03-31", DayCount.THIRTY_360, (32, 360)),
        ("2023-01-15", "2024-01-15", DayCount.THIRTY_360, (360, 360)),
    ],
)
def test_day_counts(start: str, end: str, day_count: DayCount, fraction: tuple[int, int]) -> None:
    got = year_fraction(dt.date.fromisoformat(start), dt.date.fromisoformat(end), day_count)
    assert got == fraction


def test_monthly_due_dates_clamp_to_month_end_and_recover() -> None:
    dates = due_dates(dt.date(2024, 1, 31), Frequency.MONTHLY, 4)
    assert dates == [
        dt.date(2024, 2, 29),
        dt.date(2024, 3, 31),
        dt.date(2024, 4, 30),
        dt.date(2024, 5, 31),
    ]
    assert add_months(dt.date(2023, 1, 31), 1) == dt.date(2023, 2, 28)
    assert due_dates(dt.date(2024, 1, 1), Frequency.BIWEEKLY, 2) == [
        dt.date(2024, 1, 15),
        dt.date(2024, 1, 29),
    ]
    assert due_dates(dt.date(2024, 12, 30), Frequency.WEEKLY, 1) == [dt.date(2025, 1, 6)]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"principal": 0}, "principal"),
        ({"rate": "-1"}, "annual_rate_percent"),
        ({"rate": "1001"}, "annual_rate_percent"),
        ({"term": 0}, "term"),
        ({"term": 601}, "term"),
        ({"principal_grace": 12}, "principal_grace"),
        ({"principal_grace": 1, "method": "bullet"}, "principal_grace"),
        ({"interest_grace": 13}, "interest_grace"),
        ({"installment_multiple": 100, "method": "flat"}, "installment_multiple"),
        ({"upfront_fee_fixed": 1_000_000}, "upfront_fee_fixed"),
        ({"installment_fee_percent": D("101")}, "installment_fee_percent"),
        ({"currency": "cny"}, "currency"),
        ({"frequency": "daily"}, "frequency"),
        ({"start": "9999-01-01"}, "term"),
        ({"anchor_day": 32}, "anchor_day"),
    ],
)
def test_invalid_terms_name_the_field(changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"principal": 1_000_000, "rate": "12", "term": 12}
    values.update(changes)
    with pytest.raises(ValidationFailed) as refused:
        terms(**values)  # type: ignore[arg-type]
    assert [e.field for e in refused.value.errors] == [field]


def test_a_date_time_is_not_a_start_date() -> None:
    with pytest.raises(ValidationFailed, match="start"):
        Terms(
            principal=1,
            annual_rate_percent=D(1),
            term=1,
            start=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        )


def test_single_payment_interest_grace_waives_its_interest() -> None:
    schedule = build_schedule(
        terms(principal=100_000, rate="36.5", term=30, frequency="single", interest_grace=1)
    )
    assert schedule.installments[0].total == 100_000
    assert apr(schedule).apr == D("0.0000")


def test_prepayment_reduce_installment_or_reduce_term() -> None:
    """5,000.00 at 12 % over 18 months: after six installments 3,431.80 is outstanding;
    1,000.00 prepaid on the sixth due date leaves 2,431.80."""
    loan = terms(principal=500_000, rate="12", term=18, start="2022-11-01")
    sixth = build_schedule(loan).installments[5]
    assert sixth.balance == 343_180
    lower = reamortise(loan, 243_180, sixth.due_date, term=12)
    assert lower.installments[0].due_date == dt.date(2023, 6, 1)
    assert lower.installments[-1].due_date == dt.date(2024, 5, 1)  # the original maturity
    assert lower.installments[0].total == 21_606 < 30_491
    count = term_for_installment(loan, 243_180, 30_491)
    assert count == 9
    shorter = reamortise(loan, 243_180, sixth.due_date, term=count)
    assert shorter.installments[0].total <= 30_491
    assert sum(r.principal for r in shorter.installments) == 243_180
