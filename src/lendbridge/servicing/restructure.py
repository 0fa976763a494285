"""Restructure (贷款重组): a new schedule for what a borrower still owes, at a new term or rate,
run once a checker approves it (``loan_actions.py``).

On the business date ``d`` (or the date the loan is accrued to, if later):

1. the loan is brought current to ``d`` (``interest.bring_current``): interest for every day
   before it, fees of installments due by it;
2. every open installment is cancelled (it keeps what was paid of it);
3. a new schedule (``schedule.reamortise``: the product's method, frequency, day count and
   interest period; no grace, no upfront fee; the contract's installment fee; monthly due
   dates keep the loan's day of month) is built from ``d`` for the outstanding principal at
   the new rate over the new term. Its installments are numbered after the old ones, so
   accrual resumes at the first of them;
4. the interest, fees and penalties owed are either **capitalised** — added to the new
   principal: Dr principal receivable / Cr interest, fee, penalty receivables — or **carried**:
   they stay owed as they are and fall due with the first new installment (no interest on
   them, no new penalty until then);
5. the new schedule's APR may not exceed the product's cap;
6. the loan's rate becomes the new one, its status ``restructured`` (``lifecycle``), and one
   transaction ``restructure`` records the change (amount: what was capitalised).

A restructured loan then accrues, falls overdue, is repaid and paid off like any other; it
is not restructured a second time (the state machine has no such transition). The loan's
``term`` stays the contract's; the new one is in the transaction's details.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.kit.errors import Conflict, FieldError, ValidationFailed, field_error
from lendbridge.kit.ids import new_id
from lendbridge.servicing import accounting, installments, interest, lifecycle, loans, states
from lendbridge.servicing.loan_terms import product_of, terms_of
from lendbridge.servicing.models import (
    Loan,
    LoanInstallment,
    LoanStatus,
    LoanTransaction,
    TransactionKind,
)
from lendbridge.servicing.schedule import Frequency, Method, Schedule, apr, reamortise
from lendbridge.servicing.workout_schemas import (
    NewInstallmentOut,
    RestructurePreviewOut,
    RestructureTermsIn,
)

PREVIEW_ACTOR = system_actor("restructure-preview")
# The engine's names for what the request calls otherwise.
REQUEST_FIELD = {"annual_rate_percent": "new_annual_rate_percent", "term": "new_term"}


class NothingToRestructure(Conflict):
    code = "loan_nothing_to_restructure"
    title = "The loan owes no principal to reschedule"


@dataclass(frozen=True)
class Plan:
    """A restructure worked out on a loan brought current to ``on``."""

    on: dt.date
    owed: dict[str, int]  # principal, interest, fee, penalty outstanding on ``on``
    capitalised: int
    rate: Decimal
    term: int
    schedule: Schedule
    apr: Decimal
    max_apr: Decimal
    first_number: int

    @property
    def carried(self) -> dict[str, int]:
        """What the first new installment carries from the old schedule."""
        if self.capitalised or not any(self.owed[k] for k in ("interest", "fee", "penalty")):
            return {"interest": 0, "fee": 0, "penalty": 0}
        return {k: self.owed[k] for k in ("interest", "fee", "penalty")}


def start_date(session: Session, loan: Loan) -> dt.date:
    day = calendar.business_date(session)
    return max(day, loan.interest_accrued_to or day)


def check_restructurable(loan: Loan) -> None:
    """Only an active or overdue loan may be restructured (once)."""
    states.check(LoanStatus(loan.status), LoanStatus.RESTRUCTURED)


def plan(session: Session, loan: Loan, request: RestructureTermsIn, on: dt.date) -> Plan:
    """Work the restructure out for ``loan`` (brought current to ``on`` by the caller);
    refuses, naming the field, terms the engine or the product's APR cap do not accept."""
    if request.new_term is None and request.new_annual_rate_percent is None:
        raise field_error(ValidationFailed, "new_term", "give a new term, a new rate, or both")
    product = product_of(session, loan)
    rows = installments.load_rows(session, loan.id)
    owed = {
        "principal": loan.principal_outstanding,
        "interest": loan.interest_outstanding,
        "fee": loan.fee_outstanding,
        "penalty": loan.penalty_outstanding,
    }
    capitalised = owed["interest"] + owed["fee"] + owed["penalty"] if request.capitalise else 0
    base = owed["principal"] + capitalised
    if base <= 0:
        raise NothingToRestructure(f"loan {loan.id} owes no principal to reschedule")
    rate = Decimal(request.new_annual_rate_percent or loan.annual_rate_percent)
    single = product.method is Method.BULLET or product.frequency is Frequency.SINGLE
    term = request.new_term
    if term is None:
        if single:
            raise field_error(
                ValidationFailed, "new_term", "is required for single-payment and bullet loans"
            )
        term = max(
            1,
            sum(
                1
                for r in rows
                if r.number >= 1 and r.state == installments.PENDING and r.due_date > on
            ),
        )
    try:
        schedule = reamortise(
            terms_of(product, loan),
            base,
            on,
            term,
            annual_rate_percent=rate,
            installment_fee_fixed=loan.installment_fee,
            installment_fee_percent=Decimal(0),
        )
    except ValidationFailed as exc:
        raise ValidationFailed(
            exc.detail,
            [FieldError(REQUEST_FIELD.get(e.field, "new_term"), e.message) for e in exc.errors],
        ) from None
    rates = apr(schedule)
    cap = Decimal(product.max_apr_percent)
    if rates.apr > cap:
        named = "new_annual_rate_percent" if request.new_annual_rate_percent else "new_term"
        raise field_error(
            ValidationFailed,
            named,
            f"the APR of the new schedule would be {rates.apr} %, above product "
            f"{product.code}'s maximum of {cap} %",
            apr=str(rates.apr),
        )
    return Plan(
        on=on,
        owed=owed,
        capitalised=capitalised,
        rate=rate,
        term=term,
        schedule=schedule,
        apr=rates.apr,
        max_apr=cap,
        first_number=max((r.number for r in rows), default=0) + 1,
    )


def preview(
    session: Session, loan_id: uuid.UUID, request: RestructureTermsIn
) -> RestructurePreviewOut:
    """The restructure as it would run today; nothing is kept (a savepoint rolled back)."""
    nested = session.begin_nested()
    try:
        loan = loans.load(session, loan_id, lock=True)
        check_restructurable(loan)
        on = start_date(session, loan)
        interest.bring_current(session, [loan], on, PREVIEW_ACTOR)
        worked = plan(session, loan, request, on)
        return _preview_out(loan, worked)
    finally:
        nested.rollback()


def _new_rows(loan: Loan, worked: Plan) -> list[NewInstallmentOut]:
    out = []
    previous = worked.on
    carried = worked.carried
    for index, item in enumerate(worked.schedule.installments):
        extra = carried if index == 0 else {"interest": 0, "fee": 0, "penalty": 0}
        principal, interest_due = item.principal, item.interest + extra["interest"]
        fee, penalty = item.fee + extra["fee"], extra["penalty"]
        out.append(
            NewInstallmentOut(
                number=worked.first_number + index,
                start_date=previous,
                due_date=item.due_date,
                principal=principal,
                interest=interest_due,
                fee=fee,
                penalty=penalty,
                total=principal + interest_due + fee + penalty,
            )
        )
        previous = item.due_date
    return out


def _preview_out(loan: Loan, worked: Plan) -> RestructurePreviewOut:
    rows = _new_rows(loan, worked)
    return RestructurePreviewOut(
        loan_id=loan.id,
        date=worked.on,
        currency=loan.currency,
        principal_outstanding=worked.owed["principal"],
        interest_outstanding=worked.owed["interest"],
        fee_outstanding=worked.owed["fee"],
        penalty_outstanding=worked.owed["penalty"],
        capitalised=worked.capitalised,
        principal=worked.schedule.terms.principal,
        annual_rate_percent=str(worked.rate),
        term=worked.term,
        apr_percent=str(worked.apr),
        max_apr_percent=str(worked.max_apr),
        maturity_date=rows[-1].due_date,
        installments=rows,
    )


def restructure(
    session: Session,
    loan_id: uuid.UUID,
    request: RestructureTermsIn,
    *,
    reason: str,
    actor: Actor,
    approval_id: str,
) -> dict[str, Any]:
    """Run an approved restructure (the rule is in the module's docstring); returns what it
    did, for the approval's result."""
    loan = loans.load(session, loan_id, lock=True)
    check_restructurable(loan)
    on = start_date(session, loan)
    interest.bring_current(session, [loan], on, actor)
    worked = plan(session, loan, request, on)
    old = installments.load_rows(session, loan.id, open_only=True)
    moved = [cancel_open(row) for row in old]
    new_rows = _new_rows(loan, worked)
    for item in new_rows:
        row = installments.new_row(
            loan.id,
            item.number,
            item.start_date,
            item.due_date,
            principal=item.principal,
            interest=item.interest,
            fee=item.fee,
        )
        if item.number == worked.first_number:
            carried = worked.carried
            # Carried amounts are owed already: accrued, charged, due; not accrued again.
            row.interest_accrued = row.accrual_base = carried["interest"]
            row.fee_charged = carried["fee"]
            row.penalty_due = carried["penalty"]
        session.add(row)
    details: dict[str, Any] = {
        "approval": approval_id,
        "reason": reason[:200],
        "date": worked.on.isoformat(),
        "old": {
            "annual_rate_percent": loan.annual_rate_percent,
            "maturity_date": loan.maturity_date.isoformat(),
            "installments": moved,
            "columns": ["number", "principal", "interest", "fee", "penalty"],
        },
        "new": {
            "annual_rate_percent": str(worked.rate),
            "term": worked.term,
            "principal": worked.schedule.terms.principal,
            "first_installment": worked.first_number,
            "apr_percent": str(worked.apr),
        },
        "capitalised": worked.capitalised,
        "carried": worked.carried,
    }
    _book(session, loan, worked, details, actor)
    loan.annual_rate_percent = str(worked.rate)
    loan.maturity_date = new_rows[-1].due_date
    loan.accrual_installment = worked.first_number
    loan.restructure_count += 1
    loan.restructured_on = calendar.business_date(session)
    loan.updated_at = clock.now()
    lifecycle.transition(
        session, loan, LoanStatus.RESTRUCTURED, reason=f"restructured: {reason}", actor=actor
    )
    record(
        session,
        actor,
        action="loans.restructure",
        target_type=lifecycle.TARGET,
        target_id=str(loan.id),
        before=details["old"],
        after=details["new"] | {"capitalised": worked.capitalised, "approval": approval_id},
    )
    session.flush()
    return {
        "loan_id": str(loan.id),
        "status": loan.status,
        "principal": worked.schedule.terms.principal,
        "capitalised": worked.capitalised,
        "annual_rate_percent": str(worked.rate),
        "term": worked.term,
        "maturity_date": loan.maturity_date.isoformat(),
    }


def cancel_open(row: LoanInstallment) -> list[int]:
    """Cancel an open installment (a restructure's old schedule, a write-off): it keeps what
    was paid of it. Returns what it still owed: [number, principal, interest, fee,
    penalty]."""
    moved = [
        row.number,
        row.principal_due - row.principal_paid,
        row.interest_accrued - row.interest_paid,
        row.fee_charged - row.fee_paid,
        row.penalty_due - row.penalty_paid,
    ]
    row.principal_due = row.principal_paid
    row.interest_due = row.interest_accrued = row.interest_paid
    row.accrual_base = 0
    row.fee_due = row.fee_charged = row.fee_paid
    row.penalty_due = row.penalty_paid
    row.state = installments.CANCELLED
    return moved


def _book(
    session: Session, loan: Loan, worked: Plan, details: dict[str, Any], actor: Actor
) -> None:
    day = calendar.business_date(session)
    key = f"loan:{loan.id}:restructure:{loan.restructure_count + 1}"
    owed = worked.owed
    entry_id = None
    changes = {"principal": 0, "interest": 0, "fee": 0, "penalty": 0}
    if worked.capitalised:
        entry_id = accounting.post(
            session,
            accounting.entry(
                accounting.capitalisation_lines(
                    interest=owed["interest"], fee=owed["fee"], penalty=owed["penalty"]
                ),
                currency=loan.currency,
                effective_date=day,
                description=f"Loan {loan.id}: restructure, owed amounts capitalised / 贷款重组",
                loan_id=loan.id,
                event="restructure",
            ),
            key,
        )
        changes = {
            "principal": worked.capitalised,
            "interest": -owed["interest"],
            "fee": -owed["fee"],
            "penalty": -owed["penalty"],
        }
        loan.principal_outstanding += worked.capitalised
        loan.interest_outstanding = loan.fee_outstanding = loan.penalty_outstanding = 0
    session.add(
        LoanTransaction(
            id=new_id(),
            loan_id=loan.id,
            kind=TransactionKind.RESTRUCTURE.value,
            business_date=day,
            effective_date=worked.on,
            amount=worked.capitalised,
            entry_id=entry_id,
            payment_order_id=None,
            repayment_id=None,
            idempotency_key=key,
            details=details,
            actor=lifecycle.actor_name(actor),
            created_at=clock.now(),
            **changes,
        )
    )
    session.flush()
