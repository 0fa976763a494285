"""Repayment allocation, as properties: never more than paid, never more than due in any
slot, nothing lost, and the product's order respected (a slot gets something only when every
slot before it in the sequence is paid in full)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lendbridge.products.schemas import AllocationStrategy, Component
from lendbridge.servicing.allocation import COMPONENTS, Due, allocate, slots

amounts = st.integers(min_value=0, max_value=10**12)
dues = st.lists(
    st.builds(
        Due,
        number=st.just(0),
        penalty=st.integers(0, 10**9),
        fee=st.integers(0, 10**9),
        interest=st.integers(0, 10**9),
        principal=st.integers(0, 10**9),
    ),
    max_size=12,
).map(lambda rows: [row._replace(number=i + 1) for i, row in enumerate(rows)])
orders = st.permutations(list(COMPONENTS))
strategies = st.sampled_from(list(AllocationStrategy))


@given(amounts, dues, orders, strategies)
def test_allocation_pays_at_most_what_is_paid_and_due(amount, owed, order, strategy):
    paid, remaining = allocate(amount, owed, order, strategy)
    assert [p.number for p in paid] == [d.number for d in owed]
    total = sum(p.total for p in paid)
    assert total + remaining == amount  # nothing lost, nothing made up
    assert 0 <= remaining <= amount
    for p, d in zip(paid, owed, strict=True):
        for component in COMPONENTS:
            assert 0 <= p.of(component) <= d.of(component)
    # Money is left over only when everything due is paid.
    if remaining:
        assert total == sum(d.total for d in owed)


@given(amounts, dues, orders, strategies)
def test_allocation_respects_the_order(amount, owed, order, strategy):
    paid, _ = allocate(amount, owed, order, strategy)
    sequence = list(slots(len(owed), order, strategy))
    short = False  # some earlier slot was not paid in full
    for index, component in sequence:
        got, due = paid[index].of(component), owed[index].of(component)
        if short:
            assert got == 0, (index, component)
        if got < due:
            short = True


def test_default_order_oldest_installment_first():
    owed = [Due(1, penalty=5, fee=10, interest=100, principal=1000), Due(2, interest=100)]
    paid, rest = allocate(120, owed)
    assert paid[0] == Due(1, penalty=5, fee=10, interest=100, principal=5)
    assert paid[1] == Due(2)
    assert rest == 0


def test_due_first_pays_one_component_everywhere_before_the_next():
    owed = [Due(1, interest=100, principal=1000), Due(2, interest=100, principal=1000)]
    order = [Component.INTEREST, Component.PRINCIPAL, Component.FEE, Component.PENALTY]
    paid, rest = allocate(250, owed, order, AllocationStrategy.DUE_FIRST)
    assert (paid[0].interest, paid[1].interest) == (100, 100)
    assert (paid[0].principal, paid[1].principal) == (50, 0)
    assert rest == 0


def test_overpayment_is_left_over():
    paid, rest = allocate(500, [Due(1, interest=100, principal=300)])
    assert paid[0].total == 400
    assert rest == 100


@pytest.mark.parametrize(
    ("amount", "owed", "order"),
    [
        (-1, [], COMPONENTS),
        (1, [Due(1, principal=-1)], COMPONENTS),
        (1, [], (Component.FEE, Component.FEE, Component.INTEREST, Component.PRINCIPAL)),
    ],
)
def test_bad_input_is_a_programming_error(amount, owed, order):
    with pytest.raises(ValueError, match=r"negative|order"):
        allocate(amount, owed, order)
