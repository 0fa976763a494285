"""Applying a repayment's money to its loan, once the payment order succeeded (the money is in
the customer's credit balance by then). See ``repayments.py`` for the rule, step by step."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.ids import new_id
from lendbridge.ledger import service as ledger
from lendbridge.products.schemas import ProductIn
from lendbridge.servicing import accounting, installments, interest, lifecycle, prepayment
from lendbridge.servicing.allocation import Due, allocate
from lendbridge.servicing.loan_terms import product_of, terms_of
from lendbridge.servicing.models import (
    InstallmentState,
    Loan,
    LoanInstallment,
    LoanRepayment,
    LoanStatus,
    LoanTransaction,
    RepaymentPurpose,
    RepaymentStatus,
    TransactionKind,
)
from lendbridge.servicing.states import REPAYABLE

COMPONENTS = ("principal", "interest", "fee", "penalty")
PENDING = InstallmentState.PENDING.value


def apply(
    session: Session, loan: Loan, repayment: LoanRepayment, effective: dt.date, actor: Actor
) -> None:
    """Apply the repayment's money (now in the customer's balance) to the loan (locked by
    the caller); the steps are in ``repayments.py``."""
    if loan.status not in REPAYABLE:
        _finish(
            session,
            loan,
            repayment,
            effective,
            0,
            f"the loan is {loan.status}: the money stays in the customer's credit balance",
            actor,
        )
        return
    on = max(effective, loan.interest_accrued_to or effective)
    interest.bring_current(session, [loan], on, actor)
    product = product_of(session, loan)
    balance = ledger.balance(session, loan.customer_account)
    money = min(repayment.amount, balance.available or 0)
    rows = installments.load_rows(session, loan.id)
    open_rows = [r for r in rows if r.state == PENDING]
    due_rows = [r for r in open_rows if r.due_date <= on]
    paid_rows, rest = allocate(
        money,
        [
            Due(
                r.number,
                penalty=r.penalty_due - r.penalty_paid,
                fee=r.fee_charged - r.fee_paid,
                interest=r.interest_accrued - r.interest_paid,
                principal=r.principal_due - r.principal_paid,
            )
            for r in due_rows
        ],
        product.allocation.order,
        product.allocation.strategy,
    )
    totals = dict.fromkeys(COMPONENTS, 0)
    detail: list[list[int]] = []
    for row, paid in zip(due_rows, paid_rows, strict=True):
        if paid.total:
            _pay(row, paid.principal, paid.interest, paid.fee, paid.penalty, totals)
            detail.append([row.number, paid.principal, paid.interest, paid.fee, paid.penalty])
    _close_settled(open_rows, on)
    note = None
    fee_income = 0
    early = RepaymentPurpose(repayment.purpose) is not RepaymentPurpose.INSTALLMENTS
    future = [r for r in open_rows if r.due_date > on]
    if early and rest > 0 and future and all(r.state != PENDING for r in due_rows):
        if not prepayment.allowed(product, rows):
            note = (
                f"prepayment refused: product {loan.product_code} accepts it after "
                f"{product.prepayment.allowed_after} installments are paid"
            )
        else:
            rest, fee_income = _prepay(loan, product, future, rest, on, totals, detail)
    applied = sum(totals.values()) + fee_income
    if applied:
        _book(session, loan, repayment, on, totals, fee_income, detail, actor)
    if all(r.state != PENDING for r in rows):
        lifecycle.transition(
            session, loan, LoanStatus.PAID_OFF, reason=f"repayment {repayment.id}", actor=actor
        )
    _finish(session, loan, repayment, on, applied, note, actor)


def _pay(
    row: LoanInstallment,
    principal: int,
    interest_paid: int,
    fee: int,
    penalty: int,
    totals: dict[str, int],
) -> None:
    row.principal_paid += principal
    row.interest_paid += interest_paid
    row.fee_paid += fee
    row.penalty_paid += penalty
    totals["principal"] += principal
    totals["interest"] += interest_paid
    totals["fee"] += fee
    totals["penalty"] += penalty


def _close_settled(rows: list[LoanInstallment], on: dt.date) -> None:
    """Installments due by ``on`` with nothing left to pay are paid (one not due yet stays
    open even when it owes nothing now: a grace period's, say)."""
    for row in rows:
        if row.state == PENDING and row.due_date <= on and installments.settled(row):
            _mark_paid(row, on)


def _mark_paid(row: LoanInstallment, on: dt.date) -> None:
    row.state = InstallmentState.PAID.value
    row.paid_on = on


def _prepay(
    loan: Loan,
    product: ProductIn,
    future: list[LoanInstallment],
    rest: int,
    on: dt.date,
    totals: dict[str, int],
    detail: list[list[int]],
) -> tuple[int, int]:
    """Principal early: the current period's earned interest first, then as much principal
    as ``rest`` pays with its fee. Returns (rest, fee)."""
    current = future[0]
    owed = current.interest_accrued - current.interest_paid
    take = min(rest, owed)
    if take:
        _pay(current, 0, take, 0, 0, totals)
        rest -= take
    outstanding = sum(r.principal_due - r.principal_paid for r in future)
    principal, fee = prepayment.affordable(product, rest, outstanding) if rest else (0, 0)
    if principal and principal == outstanding:
        prepayment.pay_off(current, future[1:], principal)
        _mark_paid(current, on)
    elif principal:
        terms = terms_of(product, loan)
        prepayment.rebuild(loan, product, terms, future, outstanding - principal, on)
    if take or principal:
        detail.append([current.number, principal, take, 0, 0])
    totals["principal"] += principal
    return rest - principal - fee, fee


def _book(
    session: Session,
    loan: Loan,
    repayment: LoanRepayment,
    on: dt.date,
    totals: dict[str, int],
    fee_income: int,
    detail: list[list[int]],
    actor: Actor,
) -> None:
    day = calendar.business_date(session)
    key = f"loan:{loan.id}:repayment:{repayment.id}"
    entry_id = accounting.post(
        session,
        accounting.entry(
            accounting.repayment_lines(loan.customer_account, prepayment_fee=fee_income, **totals),
            currency=loan.currency,
            effective_date=day,
            description=f"Loan {loan.id}: repayment {repayment.id} / 还款",
            loan_id=loan.id,
            event="repayment",
        ),
        key,
    )
    loan.principal_outstanding -= totals["principal"]
    loan.interest_outstanding -= totals["interest"]
    loan.fee_outstanding -= totals["fee"]
    loan.penalty_outstanding -= totals["penalty"]
    loan.updated_at = clock.now()
    common = {
        "loan_id": loan.id,
        "business_date": day,
        "effective_date": on,
        "interest": 0,
        "fee": 0,
        "penalty": 0,
        "principal": 0,
        "entry_id": entry_id,
        "payment_order_id": repayment.order_id,
        "repayment_id": repayment.id,
        "actor": lifecycle.actor_name(actor),
        "created_at": clock.now(),
    }
    paid = sum(totals.values())
    if paid:
        session.add(
            LoanTransaction(
                **common
                | {
                    "id": new_id(),
                    "kind": TransactionKind.REPAYMENT.value,
                    "amount": paid,
                    **{name: -totals[name] for name in COMPONENTS},
                    "idempotency_key": key,
                    "details": {
                        "purpose": repayment.purpose,
                        "installments": detail,
                        "columns": ["number", "principal", "interest", "fee", "penalty"],
                    },
                }
            )
        )
    if fee_income:
        session.add(
            LoanTransaction(
                **common
                | {
                    "id": new_id(),
                    "kind": TransactionKind.PREPAYMENT_FEE.value,
                    "amount": fee_income,
                    "idempotency_key": f"{key}:fee",
                    "details": None,
                }
            )
        )
    session.flush()


def _finish(
    session: Session,
    loan: Loan,
    repayment: LoanRepayment,
    on: dt.date,
    applied: int,
    note: str | None,
    actor: Actor,
) -> None:
    repayment.status = RepaymentStatus.APPLIED.value
    repayment.effective_date = on
    repayment.applied = applied
    repayment.to_credit = repayment.amount - applied
    repayment.note = note
    repayment.updated_at = clock.now()
    session.flush()
    record(
        session,
        actor,
        action="loans.repayment.applied",
        target_type=lifecycle.TARGET,
        target_id=str(loan.id),
        after={
            "repayment_id": str(repayment.id),
            "effective_date": on,
            "applied": applied,
            "to_credit": repayment.to_credit,
            "note": note,
        },
    )
