"""Properties of every schedule, over all methods x frequencies x day counts x interest
periods, with grace and fees: principal sums to the amount exactly, no negative amounts, the
balance falls to exactly zero, totals are the sums of their parts, the APR is the IRR."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal, localcontext
from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lendbridge.servicing.schedule import (
    DayCount,
    Frequency,
    InterestPeriod,
    Method,
    Schedule,
    Terms,
    apr,
    build_schedule,
    reamortise,
    term_for_installment,
)
from lendbridge.servicing.schedule.terms import AMORTISING, PERIODS_PER_YEAR

rates = st.integers(min_value=0, max_value=60_000).map(lambda n: Decimal(n).scaleb(-3))
percents = st.integers(min_value=0, max_value=500).map(lambda n: Decimal(n).scaleb(-2))
starts = st.dates(min_value=dt.date(1999, 1, 1), max_value=dt.date(2101, 12, 31))


@st.composite
def any_terms(draw: st.DrawFn) -> Terms:
    frequency = draw(st.sampled_from(Frequency))
    method = draw(st.sampled_from(Method))
    single = frequency is Frequency.SINGLE
    term = draw(st.integers(1, 400 if single else 120))
    amortising = method in AMORTISING and not single
    principal_grace = draw(st.integers(0, term - 1)) if amortising else 0
    principal = draw(st.integers(1, 10**13))
    upfront_fixed = draw(st.integers(0, principal // 4))
    return Terms(
        principal=principal,
        annual_rate_percent=draw(rates),
        term=term,
        start=draw(starts),
        frequency=frequency,
        method=method,
        day_count=draw(st.sampled_from(DayCount)),
        interest_period=draw(st.sampled_from(InterestPeriod)),
        principal_grace=principal_grace,
        interest_grace=draw(st.integers(0, 1 if single else term)),
        installment_multiple=(
            draw(st.sampled_from([1, 1, 100, 1_000])) if method is Method.EQUAL_INSTALLMENT else 1
        ),
        upfront_fee_fixed=upfront_fixed,
        upfront_fee_percent=draw(percents),
        upfront_fee_deducted=draw(st.booleans()),
        installment_fee_fixed=draw(st.integers(0, 10_000)),
        installment_fee_percent=draw(percents),
    )


def check_invariants(terms: Terms, schedule: Schedule) -> None:
    rows = schedule.installments
    assert len(rows) == terms.installments
    assert [r.number for r in rows] == list(range(1, len(rows) + 1))
    assert sum(r.principal for r in rows) == terms.principal
    previous_date, previous_balance = terms.start, terms.principal
    for row in rows:
        assert min(row.principal, row.interest, row.fee, row.total, row.balance) >= 0
        assert row.total == row.principal + row.interest + row.fee
        assert row.balance == previous_balance - row.principal <= previous_balance
        assert row.due_date > previous_date
        previous_date, previous_balance = row.due_date, row.balance
    assert rows[-1].balance == 0
    assert schedule.total_principal == terms.principal
    assert schedule.total_interest == sum(r.interest for r in rows)
    assert schedule.total_fees == schedule.upfront_fee + sum(r.fee for r in rows)
    assert schedule.total_repayment == sum(r.total for r in rows)
    assert all(type(v) is int for r in rows for v in (r.principal, r.interest, r.fee, r.balance))


@settings(max_examples=400, deadline=None)
@given(any_terms())
def test_every_schedule_keeps_its_invariants(terms: Terms) -> None:
    schedule = build_schedule(terms)
    check_invariants(terms, schedule)
    if terms.interest_grace and (
        terms.method is not Method.BULLET or terms.frequency is Frequency.SINGLE
    ):
        assert all(r.interest == 0 for r in schedule.installments[: terms.interest_grace])
    elif terms.interest_grace == terms.term:  # a bullet whose every period is waived
        assert schedule.total_interest == 0


@settings(max_examples=150, deadline=None)
@given(any_terms())
def test_apr_is_the_irr_of_the_cash_flows(terms: Terms) -> None:
    schedule = build_schedule(terms)
    rates = apr(schedule)
    assert rates.apr >= 0
    assert rates.ear >= rates.apr or len(schedule.installments) == 1 or rates.apr == 0
    received = Decimal(terms.principal - schedule.upfront_fee)
    with localcontext() as context:
        context.prec = 40
        discount = 1 / (1 + rates.periodic_rate)
        value = sum(
            Decimal(row.total) * discount**k for k, row in enumerate(schedule.installments, 1)
        )
        # Exact to a millionth of a fen per unit lent: far below what 4 places can show.
        assert abs(value - received) <= received * Decimal("1e-18") + Decimal("1e-9")


@settings(max_examples=300, deadline=None)
@given(
    principal=st.integers(10_000, 10**13),
    rate=rates,
    term=st.integers(1, 360),
    frequency=st.sampled_from([Frequency.MONTHLY, Frequency.BIWEEKLY, Frequency.WEEKLY]),
    start=starts,
    multiple=st.sampled_from([1, 100]),
)
def test_equal_installments_are_equal_except_the_last(
    principal: int, rate: Decimal, term: int, frequency: Frequency, start: dt.date, multiple: int
) -> None:
    # The domain where equal installments are possible at all: the first payment repays at
    # least a multiple of principal (else rounding down could not cover the interest), and
    # interest rounding (half a minor unit a period, compounding) cannot outgrow the last
    # installment. Outside it the engine still keeps every other invariant.
    periodic = Fraction(rate) / 100 / PERIODS_PER_YEAR[frequency]
    if periodic == 0:
        payment, drift = Fraction(principal, term), Fraction(term, 2)
    else:
        grown = (1 + periodic) ** term
        payment = principal * periodic * grown / (grown - 1)
        drift = (grown - 1) / (2 * periodic)
    assume(payment - principal * periodic >= multiple + 1)
    assume(drift < payment / (1 + periodic))
    terms = Terms(
        principal=principal,
        annual_rate_percent=rate,
        term=term,
        start=start,
        frequency=frequency,
        installment_multiple=multiple,
    )
    schedule = build_schedule(terms)
    check_invariants(terms, schedule)
    totals = {row.total for row in schedule.installments[:-1]}
    assert len(totals) <= 1
    if totals:
        assert totals.pop() % multiple == 0


@settings(max_examples=200, deadline=None)
@given(any_terms(), st.data())
def test_reamortised_rest_of_a_loan_keeps_the_invariants(terms: Terms, data: st.DataObject) -> None:
    assume(terms.frequency is not Frequency.SINGLE and terms.method is not Method.BULLET)
    schedule = build_schedule(terms)
    paid = data.draw(st.integers(0, len(schedule.installments) - 1))
    balance = terms.principal if paid == 0 else schedule.installments[paid - 1].balance
    assume(balance > 0)
    since = terms.start if paid == 0 else schedule.installments[paid - 1].due_date
    rest = reamortise(terms, balance, since, term=terms.term - paid)
    check_invariants(rest.terms, rest)
    if terms.frequency is Frequency.MONTHLY:
        # Due dates stay on the loan's day of month (clamped), not the restart's.
        original = {r.due_date for r in schedule.installments}
        assert all(r.due_date in original for r in rest.installments)


@settings(max_examples=150, deadline=None)
@given(
    balance=st.integers(10_000, 10**12),
    rate=rates,
    installment_share=st.integers(1, 100),
)
def test_term_for_installment_is_the_fewest_that_fit(
    balance: int, rate: Decimal, installment_share: int
) -> None:
    terms = Terms(principal=balance, annual_rate_percent=rate, term=12, start=dt.date(2024, 1, 31))
    first_interest = balance * rate / 1200
    installment = int(first_interest) + balance * installment_share // 100 + 1
    count = term_for_installment(terms, balance, installment)
    fitted = build_schedule(dataclasses.replace(terms, term=count))
    assert fitted.installments[0].total <= installment
    if count > 1:
        longer = build_schedule(dataclasses.replace(terms, term=count - 1))
        assert longer.installments[0].total > installment - 1
