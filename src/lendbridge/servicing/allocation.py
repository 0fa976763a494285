"""Repayment allocation (还款冲抵): how a payment is split over what is due. Pure
calculation: no database, no ledger.

The product's ``allocation`` says in which order the four components are paid (default
penalty → fee → interest → principal) and the strategy:

* ``oldest_installment_first``: installment by installment, oldest first; each one is paid in
  full, component by component in the order, before the next one gets anything;
* ``due_first``: component by component: the first component of the order on every
  installment (oldest first), then the next component, and so on.

Either way the payment walks one fixed sequence of (installment, component) slots and fills
each slot completely before the next: it never pays more than is due in a slot, never more
than the amount, and what is left (``remaining``) is the caller's to keep (the customer's
credit balance, or a prepayment).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

from lendbridge.products.schemas import AllocationStrategy, Component

COMPONENTS = (Component.PENALTY, Component.FEE, Component.INTEREST, Component.PRINCIPAL)


class Amounts(NamedTuple):
    """Per component, for one installment: what is owed (``Due``) or what a payment pays."""

    number: int
    penalty: int = 0
    fee: int = 0
    interest: int = 0
    principal: int = 0

    def of(self, component: Component) -> int:
        value: int = getattr(self, component.value)
        return value

    @property
    def total(self) -> int:
        return self.penalty + self.fee + self.interest + self.principal


Due = Amounts
Paid = Amounts


def slots(
    count: int, order: Sequence[Component], strategy: AllocationStrategy
) -> Iterator[tuple[int, Component]]:
    """The (installment index, component) sequence a payment fills, first to last."""
    if strategy is AllocationStrategy.OLDEST_INSTALLMENT_FIRST:
        for index in range(count):
            for component in order:
                yield index, component
    else:
        for component in order:
            for index in range(count):
                yield index, component


def allocate(
    amount: int,
    dues: Sequence[Due],
    order: Sequence[Component] = COMPONENTS,
    strategy: AllocationStrategy = AllocationStrategy.OLDEST_INSTALLMENT_FIRST,
) -> tuple[list[Paid], int]:
    """Split ``amount`` over ``dues`` (oldest installment first). Returns what each
    installment is paid (one row per due, in the same order; zeros included) and the
    amount left over."""
    if amount < 0:
        raise ValueError("the amount to allocate must not be negative")
    if sorted(order) != sorted(COMPONENTS):
        raise ValueError("the order must name penalty, fee, interest and principal once each")
    for due in dues:
        if min(due.penalty, due.fee, due.interest, due.principal) < 0:
            raise ValueError(f"installment {due.number} owes a negative amount")
    paid = [dict.fromkeys(COMPONENTS, 0) for _ in dues]
    remaining = amount
    for index, component in slots(len(dues), order, strategy):
        if remaining == 0:
            break
        take = min(dues[index].of(component), remaining)
        paid[index][component] = take
        remaining -= take
    rows = [
        Paid(
            due.number,
            penalty=p[Component.PENALTY],
            fee=p[Component.FEE],
            interest=p[Component.INTEREST],
            principal=p[Component.PRINCIPAL],
        )
        for due, p in zip(dues, paid, strict=True)
    ]
    return rows, remaining
