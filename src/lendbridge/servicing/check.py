"""Does the loan sub-ledger equal the general ledger? Three recomputations, each a few SQL
aggregates (no loop over transactions or installments in Python):

1. every loan's running balances (outstanding principal, interest, fees, penalties) equal the
   sums of its transactions (signed receivable changes);
2. they equal the sums over its installments (principal due less paid; interest accrued less
   paid; fees charged less paid; penalties due less paid), and a loan that owes nothing is
   closed or not yet disbursed;
3. over all loans, they equal the balances of the loan-book receivable accounts of the
   ledger — counting the disbursements whose payment succeeded and whose loan is not active
   yet (the loans subscriber has not run): the ledger has their principal already; and the
   loans' loan-loss provisions sum to the balance of ``1304.002``.

``lendbridge ledger check`` runs it after the ledger's own check; the tests run it after
every scenario.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Executable, func, select
from sqlalchemy.orm import Session

from lendbridge.ledger import service as ledger
from lendbridge.ledger.errors import AccountNotFound
from lendbridge.payments.models import OrderStatus, PaymentOrder
from lendbridge.servicing.accounting import PROVISION, RECEIVABLES
from lendbridge.servicing.models import (
    InstallmentState,
    Loan,
    LoanInstallment,
    LoanStatus,
    LoanTransaction,
)

COMPONENTS = ("principal", "interest", "fee", "penalty")
UNDISBURSED = (LoanStatus.PENDING_DISBURSEMENT.value, LoanStatus.CANCELLED.value)


@dataclass(frozen=True)
class Finding:
    subject: str  # a loan id or an account code
    problem: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.problem}"


def _cached(loan_row: tuple[int, ...]) -> dict[str, int]:
    return dict(zip(COMPONENTS, loan_row, strict=True))


def consistency(session: Session) -> list[Finding]:
    """Every disagreement between the loans' balances, their transactions, their installments
    and the ledger (empty when the sub-ledger is exact)."""
    findings: list[Finding] = []
    outstanding = (
        Loan.principal_outstanding,
        Loan.interest_outstanding,
        Loan.fee_outstanding,
        Loan.penalty_outstanding,
    )
    t = LoanTransaction
    by_transactions = select(
        t.loan_id, func.sum(t.principal), func.sum(t.interest), func.sum(t.fee), func.sum(t.penalty)
    ).group_by(t.loan_id)
    i = LoanInstallment
    by_installments = (
        select(
            i.loan_id,
            func.sum(i.principal_due - i.principal_paid),
            func.sum(i.interest_accrued - i.interest_paid),
            func.sum(i.fee_charged - i.fee_paid),
            func.sum(i.penalty_due - i.penalty_paid),
        )
        .where(i.state != InstallmentState.CANCELLED.value)
        .group_by(i.loan_id)
    )
    from_transactions = _sums(session, by_transactions)
    from_installments = _sums(session, by_installments)
    totals = dict.fromkeys(COMPONENTS, 0)
    for loan_id, status, *cached in session.execute(select(Loan.id, Loan.status, *outstanding)):
        subject = str(loan_id)
        values = _cached(tuple(cached))
        for name in COMPONENTS:
            totals[name] += values[name]
        journal = _cached(from_transactions.get(loan_id, (0, 0, 0, 0)))
        for name in COMPONENTS:
            if journal[name] != values[name]:
                findings.append(
                    Finding(
                        subject,
                        f"{name} outstanding {values[name]} but its transactions sum to "
                        f"{journal[name]}",
                    )
                )
        schedule = _cached(from_installments.get(loan_id, (0, 0, 0, 0)))
        if status in UNDISBURSED:
            if any(values.values()):
                findings.append(Finding(subject, f"a {status} loan with balances {values}"))
            continue
        for name in COMPONENTS:
            if schedule[name] != values[name]:
                findings.append(
                    Finding(
                        subject,
                        f"{name} outstanding {values[name]} but its installments say "
                        f"{schedule[name]}",
                    )
                )
        closed = status in (LoanStatus.PAID_OFF.value, LoanStatus.WRITTEN_OFF.value)
        if closed and any(values.values()):
            findings.append(Finding(subject, f"a {status} loan still owes {values}"))
    in_flight = _disbursements_in_flight(session)
    totals["principal"] += in_flight
    for name, code in RECEIVABLES.items():
        try:
            booked = ledger.balance(session, code).balance
        except AccountNotFound:
            booked = 0
        if booked != totals[name]:
            findings.append(
                Finding(
                    code,
                    f"the ledger has {booked}, the loans owe {totals[name]} of {name}"
                    + (f" (with {in_flight} of disbursements in flight)" if in_flight else ""),
                )
            )
    findings.extend(_provisions(session))
    return findings


def _provisions(session: Session) -> list[Finding]:
    """The loans' provisions against the loan book's loan-loss provision account."""
    provided = int(session.scalar(select(func.coalesce(func.sum(Loan.provision), 0))) or 0)
    try:
        booked = ledger.balance(session, PROVISION).balance
    except AccountNotFound:
        booked = 0
    if booked != provided:
        return [
            Finding(PROVISION, f"the ledger has {booked}, the loans' provisions sum to {provided}")
        ]
    return []


def _sums(session: Session, stmt: Executable) -> dict[uuid.UUID, tuple[int, ...]]:
    return {row[0]: tuple(int(v or 0) for v in row[1:]) for row in session.execute(stmt)}


def _disbursements_in_flight(session: Session) -> int:
    """Principal the ledger booked for disbursements whose loan is not active yet."""
    stmt = (
        select(func.coalesce(func.sum(PaymentOrder.amount), 0))
        .select_from(Loan)
        .join(PaymentOrder, PaymentOrder.id == Loan.disbursement_order_id)
        .where(
            Loan.status == LoanStatus.PENDING_DISBURSEMENT.value,
            PaymentOrder.status == OrderStatus.SUCCEEDED.value,
        )
    )
    return int(session.scalar(stmt) or 0)
