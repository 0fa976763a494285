"""Every amortisation method and frequency through a loan's life on both databases: the first
installment paid on its due date, principal prepaid in the middle of a period (each
prepayment mode), then a payoff at the quote — the sub-ledger equal to the ledger after every
step, and nothing owed at the end."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from lendbridge.servicing.models import RepaymentPurpose
from tests.servicing.conftest import Book

CASES: list[tuple[str, dict[str, Any], int]] = [
    ("equal-installment-daily", {"interest_period": "daily"}, 12),
    ("equal-principal-30-360", {"method": "equal_principal", "day_count": "30/360"}, 6),
    ("flat-reduce-term", {"method": "flat", "prepayment": {"mode": "reduce_term"}}, 12),
    ("interest-only", {"method": "interest_only"}, 6),
    ("bullet", {"method": "bullet", "allowed_terms": [6]}, 6),
    ("single", {"frequency": "single", "method": "bullet", "allowed_terms": [90]}, 90),
    ("biweekly-grace", {"frequency": "biweekly", "principal_grace": 2, "interest_grace": 1}, 6),
    (
        "weekly-fees",
        {
            "frequency": "weekly",
            "min_amount": 5_000_00,
            "installment_fee": {"fixed": 1_00},
            "allocation": {
                "order": ["principal", "interest", "fee", "penalty"],
                "strategy": "due_first",
            },
        },
        12,
    ),
]


@pytest.mark.parametrize(("name", "changes", "term"), CASES, ids=[c[0] for c in CASES])
def test_a_loan_life_in_every_method(
    book: Book, name: str, changes: dict[str, Any], term: int
) -> None:
    code = "M-" + name.upper()[:28]
    book.product(code=code, **({"allowed_terms": [term]} | changes))
    loan = book.disburse(book.create(book.customer(), 10_000_00, term, product_code=code).id)
    assert loan.status == "active"
    book.check()
    first = loan.installments[0]
    if len(loan.installments) > 1:
        book.set_date(first.due_date)
        owed = first.principal_due + first.interest_due + first.fee_due
        if owed:  # nothing is owed in a grace period
            book.repay(loan.id, owed)
            assert book.loan(loan.id).installments[0].state == "paid"
        book.check()
        second = book.loan(loan.id).installments[1]
        middle = second.start_date + (second.due_date - second.start_date) // 2
    else:
        middle = first.start_date + (first.due_date - first.start_date) // 2
    book.set_date(middle)
    before = book.loan(loan.id)
    prepaid = book.repay(loan.id, 2_000_00, RepaymentPurpose.PREPAYMENT)
    after = book.loan(loan.id)
    assert prepaid.applied == 2_000_00
    assert after.outstanding.principal < before.outstanding.principal
    assert after.maturity_date <= before.maturity_date
    open_principal = sum(
        r.principal_due - r.principal_paid for r in after.installments if r.state == "pending"
    )
    assert open_principal == after.outstanding.principal
    book.check()
    later = middle + dt.timedelta(days=3)
    book.set_date(later)
    quote = book.quote(loan.id, later)
    paid = book.repay(loan.id, None, RepaymentPurpose.PAYOFF)
    assert (paid.applied, paid.to_credit) == (quote.total, 0)
    closed = book.loan(loan.id)
    assert closed.status == "paid_off"
    assert closed.outstanding.total == 0
    book.check()
