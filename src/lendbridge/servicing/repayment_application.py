"""Applying a repayment's money to its loan, once the payment order succeeded (the money is in
the customer's credit balance by then). See ``repayments.py`` for the rule, step by step."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

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
        finish(
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
    done = settle(loan, product, rows, money, RepaymentPurpose(repayment.purpose), on)
    if done.applied:
        book(session, loan, repayment, on, done, actor)
    if all(r.state != PENDING for r in rows):
        lifecycle.transition(
            session, loan, LoanStatus.PAID_OFF, reason=f"repayment {repayment.id}", actor=actor
        )
    finish(session, loan, repayment, on, done.applied, done.note, actor)


@dataclass
class Settlement:
    """What one repayment's money paid (``detail``: per installment), its prepayment fee, and
    ``early``: for principal paid early, the installments as they were before (so a replay,
    ``replay.py``, can restore them)."""

    totals: dict[str, int]
    fee_income: int = 0
    detail: list[list[int]] = field(default_factory=list)
    note: str | None = None
    early: dict[str, Any] | None = None

    @property
    def applied(self) -> int:
        return sum(self.totals.values()) + self.fee_income


def settle(
    loan: Loan,
    product: ProductIn,
    rows: list[LoanInstallment],
    money: int,
    purpose: RepaymentPurpose,
    on: dt.date,
    *,
    early_allowed: bool = True,
) -> Settlement:
    """Pay ``money`` on ``on`` into the installment ``rows`` (all of the loan's, in order):
    what is due in the product's order, then principal early for a prepayment or payoff
    (unless ``early_allowed`` is false: a replay cannot move principal early before
    interest accrued since then). Changes the rows only; the caller books."""
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
    done = Settlement(dict.fromkeys(COMPONENTS, 0))
    for row, paid in zip(due_rows, paid_rows, strict=True):
        if paid.total:
            _pay(row, paid.principal, paid.interest, paid.fee, paid.penalty, done.totals)
            done.detail.append([row.number, paid.principal, paid.interest, paid.fee, paid.penalty])
    _close_settled(open_rows, on)
    early = purpose is not RepaymentPurpose.INSTALLMENTS
    future = [r for r in open_rows if r.due_date > on]
    if early and rest > 0 and future and all(r.state != PENDING for r in due_rows):
        if not prepayment.allowed(product, rows):
            done.note = (
                f"prepayment refused: product {loan.product_code} accepts it after "
                f"{product.prepayment.allowed_after} installments are paid"
            )
        elif not early_allowed:
            done.note = "prepayment not replayed: the money stays in the credit balance"
        else:
            before = [snapshot(r) for r in future]
            due_entries = len(done.detail)
            maturity = loan.maturity_date.isoformat()
            kind = _prepay(loan, product, future, rest, on, done)
            if kind:
                done.early = {
                    "kind": kind,
                    "due_entries": due_entries,
                    "rows": before,
                    "maturity_date": maturity,
                }
    return done


SNAPSHOT = (
    "principal_due",
    "interest_due",
    "fee_due",
    "penalty_due",
    "principal_paid",
    "interest_paid",
    "fee_paid",
    "penalty_paid",
    "interest_accrued",
    "accrual_base",
    "fee_charged",
)


def snapshot(row: LoanInstallment) -> dict[str, Any]:
    """An installment's amounts, state and accrual start, as JSON."""
    out: dict[str, Any] = {name: getattr(row, name) for name in SNAPSHOT}
    out |= {
        "number": row.number,
        "state": row.state,
        "accrual_from": row.accrual_from.isoformat(),
        "paid_on": row.paid_on.isoformat() if row.paid_on else None,
    }
    return out


def restore(row: LoanInstallment, saved: dict[str, Any]) -> None:
    """Put back what ``snapshot`` saved."""
    for name in SNAPSHOT:
        setattr(row, name, saved[name])
    row.state = saved["state"]
    row.accrual_from = dt.date.fromisoformat(saved["accrual_from"])
    row.paid_on = dt.date.fromisoformat(saved["paid_on"]) if saved["paid_on"] else None


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
    done: Settlement,
) -> str | None:
    """Principal early: the current period's earned interest first, then as much principal
    as ``rest`` pays with its fee. Returns what happened to the schedule: ``payoff``,
    ``rebuild``, ``interest`` (only the period's interest paid) or None."""
    current = future[0]
    owed = current.interest_accrued - current.interest_paid
    take = min(rest, owed)
    if take:
        _pay(current, 0, take, 0, 0, done.totals)
        rest -= take
    outstanding = sum(r.principal_due - r.principal_paid for r in future)
    principal, fee = prepayment.affordable(product, rest, outstanding) if rest else (0, 0)
    kind = "interest" if take else None
    if principal and principal == outstanding:
        prepayment.pay_off(current, future[1:], principal)
        _mark_paid(current, on)
        kind = "payoff"
    elif principal:
        terms = terms_of(product, loan)
        prepayment.rebuild(loan, product, terms, future, outstanding - principal, on)
        kind = "rebuild"
    if take or principal:
        done.detail.append([current.number, principal, take, 0, 0])
    done.totals["principal"] += principal
    done.fee_income = fee
    return kind


def book(
    session: Session,
    loan: Loan,
    repayment: LoanRepayment,
    on: dt.date,
    done: Settlement,
    actor: Actor,
    *,
    key: str | None = None,
) -> None:
    """Post the entry and write the loan's transactions of a settlement. ``key`` (the
    repayment's own by default) names both: a replay re-books under its own key."""
    day = calendar.business_date(session)
    key = key or f"loan:{loan.id}:repayment:{repayment.id}"
    totals, fee_income, detail = done.totals, done.fee_income, done.detail
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
                    }
                    | ({"early": done.early} if done.early else {}),
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


def finish(
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
