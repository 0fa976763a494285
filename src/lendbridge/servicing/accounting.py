"""The loans' entries in the general ledger: which accounts each event debits and credits.

==============================  ==========================================================
event                           entry
==============================  ==========================================================
disbursement order sent         hold: Dr principal receivable / Cr channel clearing, for the
                                amount paid out (payments places it; the order's account is
                                the principal receivable)
disbursement succeeded          the hold is posted (payments); then, for a deducted upfront
                                fee, Dr principal receivable / Cr fee income: the borrower
                                owes the whole principal and the fee is earned
upfront fee paid at the start   Dr fee receivable / Cr fee income (installment 0, due at once)
disbursement failed             the hold is voided (payments); nothing else
interest accrual                Dr interest receivable / Cr interest income
installment fee falls due       Dr fee receivable / Cr fee income
penalty interest of a day       Dr penalty receivable / Cr penalty interest income
loan-loss provision raised      Dr provision expense / Cr loan-loss provision (the increase)
loan-loss provision released    Dr loan-loss provision / Cr provision expense (the decrease)
repayment order succeeded       Dr channel clearing / Cr customer balance (payments)
repayment applied               Dr customer balance / Cr penalty, fee, interest and principal
                                receivable (what was paid of each) and Cr fee income (a
                                prepayment fee)
==============================  ==========================================================

The receivables are the loan book's own accounts (``1303.002``, ``1132.003``, ``1122.002``,
``1132.004``), and so is the loan-loss provision (``1304.002``, a contra-asset), so that their
balances are exactly the sums over loans (``check.py``).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.orm import Session

from lendbridge.ledger import service as ledger
from lendbridge.ledger.models import Side
from lendbridge.ledger.schemas import EntryIn, PostingIn

PRINCIPAL = "1303.002"
INTEREST = "1132.003"
FEES = "1122.002"
PENALTY = "1132.004"
INTEREST_INCOME = "6011.001"
FEE_INCOME = "6021.001"
PENALTY_INCOME = "6011.002"
PROVISION = "1304.002"  # the loan book's loan-loss provision (contra-asset, credit normal)
PROVISION_EXPENSE = "6702.001"
CUSTOMER_BALANCES = "2241.001"  # the control account; each customer has a sub-account
WRITE_OFF_EXPENSE = "6702.002"  # the loss beyond the loan's provision
RECOVERY_INCOME = "6702.003"  # recoveries of loans written off (a contra-expense)
RECEIVABLES = {"principal": PRINCIPAL, "interest": INTEREST, "fee": FEES, "penalty": PENALTY}
EVENT_TYPE = "loan"

Line = tuple[str, Side, int]


def entry(
    lines: list[Line],
    *,
    currency: str,
    effective_date: dt.date,
    description: str,
    loan_id: uuid.UUID,
    event: str,
) -> EntryIn:
    """A balanced entry of the non-zero ``lines`` (event type ``loan.<event>``)."""
    return EntryIn(
        postings=[
            PostingIn(account=account, side=side, amount=amount, currency=currency)
            for account, side, amount in lines
            if amount
        ],
        effective_date=effective_date,
        description=description[:500],
        event_type=f"{EVENT_TYPE}.{event}",
        event_id=str(loan_id),
    )


def upfront_fee_lines(amount: int, deducted: bool) -> list[Line]:
    """A deducted fee is part of the principal the borrower owes; one paid at the start is
    owed as a fee. Either way it is income now."""
    receivable = PRINCIPAL if deducted else FEES
    return [(receivable, Side.DEBIT, amount), (FEE_INCOME, Side.CREDIT, amount)]


def accrual_lines(amount: int) -> list[Line]:
    return [(INTEREST, Side.DEBIT, amount), (INTEREST_INCOME, Side.CREDIT, amount)]


def fee_charge_lines(amount: int) -> list[Line]:
    return [(FEES, Side.DEBIT, amount), (FEE_INCOME, Side.CREDIT, amount)]


def penalty_lines(amount: int) -> list[Line]:
    return [(PENALTY, Side.DEBIT, amount), (PENALTY_INCOME, Side.CREDIT, amount)]


def provision_lines(change: int) -> list[Line]:
    """A change of the loan-loss provision: an increase is an expense, a decrease (a release)
    its reverse."""
    if change >= 0:
        return [(PROVISION_EXPENSE, Side.DEBIT, change), (PROVISION, Side.CREDIT, change)]
    return [(PROVISION, Side.DEBIT, -change), (PROVISION_EXPENSE, Side.CREDIT, -change)]


def repayment_lines(
    customer_account: str,
    *,
    principal: int,
    interest: int,
    fee: int,
    penalty: int,
    prepayment_fee: int,
) -> list[Line]:
    total = principal + interest + fee + penalty + prepayment_fee
    return [
        (customer_account, Side.DEBIT, total),
        (PENALTY, Side.CREDIT, penalty),
        (FEES, Side.CREDIT, fee),
        (INTEREST, Side.CREDIT, interest),
        (PRINCIPAL, Side.CREDIT, principal),
        (FEE_INCOME, Side.CREDIT, prepayment_fee),
    ]


def post(session: Session, request: EntryIn, key: str) -> uuid.UUID:
    """Post under ``key`` (derived from the loan event: a retried job books nothing twice)."""
    return ledger.post_entry(session, request, idempotency_key=key).id


def capitalisation_lines(*, interest: int, fee: int, penalty: int) -> list[Line]:
    """A restructure capitalises overdue interest, fees and penalties: the borrower owes them
    as principal from now on (Dr principal receivable / Cr each receivable)."""
    return [
        (PRINCIPAL, Side.DEBIT, interest + fee + penalty),
        (INTEREST, Side.CREDIT, interest),
        (FEES, Side.CREDIT, fee),
        (PENALTY, Side.CREDIT, penalty),
    ]


def write_off_lines(
    *, principal: int, interest: int, fee: int, penalty: int, provision: int
) -> list[Line]:
    """A write-off (核销) takes every receivable off the books: the loan's provision absorbs
    the loss first (Dr loan-loss provision, up to the loss), write-off expense the rest; a
    provision larger than the loss is released."""
    loss = principal + interest + fee + penalty
    used = min(provision, loss)
    return [
        (PROVISION, Side.DEBIT, provision),
        (WRITE_OFF_EXPENSE, Side.DEBIT, loss - used),
        (PENALTY, Side.CREDIT, penalty),
        (FEES, Side.CREDIT, fee),
        (INTEREST, Side.CREDIT, interest),
        (PRINCIPAL, Side.CREDIT, principal),
        (PROVISION_EXPENSE, Side.CREDIT, provision - used),  # released
    ]


def recovery_lines(customer_account: str, amount: int) -> list[Line]:
    """Money recovered on a written-off loan, from the customer's credit balance."""
    return [(customer_account, Side.DEBIT, amount), (RECOVERY_INCOME, Side.CREDIT, amount)]
