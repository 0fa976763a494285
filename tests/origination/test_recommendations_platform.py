"""Affordability counts the customer's own loans on the platform: the next unpaid installment
of each loan that owes (pending disbursement, active, overdue, restructured), not a cancelled
loan, not another customer's, and never an upfront fee (installment 0)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from sqlalchemy.orm import Session

from lendbridge.decisions import policies
from lendbridge.kit.actor import system_actor
from lendbridge.origination.needs import Need
from lendbridge.origination.recommendations import platform_monthly_installments, recommend
from lendbridge.servicing import loans
from lendbridge.servicing.loan_schemas import LoanDetailOut
from tests.payments.conftest import payments  # noqa: F401  (the fixture)
from tests.servicing.conftest import Book, book  # noqa: F401  (the fixture)


def first_installment(loan: LoanDetailOut) -> int:
    [row] = [i for i in loan.installments if i.number == 1]
    return row.principal_due + row.interest_due + row.fee_due


def test_the_next_installment_of_each_owing_loan_is_counted(book: Book) -> None:  # noqa: F811
    book.run(lambda s: policies.ensure_default_policy(s, system_actor("setup")))
    book.product(
        code="FEE-EI",
        upfront_fee={"fixed": 0, "percent": "1", "deducted": False},
        installment_fee={"fixed": 100, "percent": "0"},
    )
    zhang, li = book.customer("zhang"), book.customer("li")
    assert book.run(lambda s: platform_monthly_installments(s, zhang, "CNY")) == 0

    pending = book.create(zhang, 12_000_00, 12, product_code="FEE-EI")
    assert any(i.number == 0 for i in pending.installments)  # the upfront fee: not monthly
    active = book.disburse(book.create(zhang, 6_000_00, 6).id)
    assert active.status == "active"
    cancelled = book.create(zhang, 3_000_00, 3)
    book.run(lambda s: loans.cancel_loan(s, cancelled.id, reason=None, actor=system_actor("t")))
    book.create(li, 20_000_00, 12)  # another customer's

    expected = first_installment(pending) + first_installment(active)
    assert book.run(lambda s: platform_monthly_installments(s, zhang, "CNY")) == expected
    assert book.run(lambda s: platform_monthly_installments(s, zhang, "USD")) == 0

    need = Need(
        amount=10_000_00, term_months=12, monthly_income=20_000_00, monthly_obligations=500_00
    )

    def recommended(session: Session) -> object:
        return recommend(session, zhang, need, None)

    result = book.run(recommended)
    assert result.platform_monthly_installments == expected
    item = next(r for r in result.recommendations if r.product_code == "LOAN-EI")
    burden = Decimal(500_00 + expected + item.monthly_payment) / Decimal(20_000_00)
    assert item.debt_to_income == str(burden.quantize(Decimal("0.0001")))

    # With a smaller income the platform's installments make the same loan unaffordable.
    low = dataclasses.replace(
        need, monthly_income=(500_00 + expected + item.monthly_payment) * 2 - 1
    )
    tight = book.run(lambda s: recommend(s, zhang, low, None))
    assert "LOAN-EI" in {i.product_code for i in tight.ineligible}
    assert "LOAN-EI" not in {r.product_code for r in tight.recommendations}
    enough = dataclasses.replace(low, monthly_income=low.monthly_income + 1)  # exactly 50 %
    fits = book.run(lambda s: recommend(s, zhang, enough, None))
    assert (
        next(r for r in fits.recommendations if r.product_code == "LOAN-EI").fit.affordability == 20
    )
