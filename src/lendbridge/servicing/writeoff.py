"""Write-off (核销): a loan judged uncollectable is taken off the books, once a checker
approves it (``loan_actions.py``).

On the business date ``d`` (or the date the loan is accrued to, if later), for an active,
overdue or restructured loan:

1. the loan is brought current to ``d`` (``interest.bring_current``);
2. one entry takes every receivable off the books — Cr principal, interest, fee and penalty
   receivable, each by what the loan owes of it — against the loan's loan-loss provision
   first (Dr ``1304.002``, up to the loss) and write-off expense for the rest (Dr
   ``6702.002``); a provision larger than the loss (principal repaid since the last close)
   has its excess released (Cr ``6702.001``);
3. the loan's balances and its provision go to zero: a transaction ``write_off`` (the
   receivables' signed changes; ``amount`` the loss) and one ``provision`` (the provision
   used and released), sharing the entry;
4. its open installments are cancelled (each keeps what was paid of it; what was written off
   of each is in the transaction's details) and its status becomes ``written_off`` (final).

Money received later is recovery income (``recovery.py``), never a repayment.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.ids import new_id
from lendbridge.servicing import accounting, installments, interest, lifecycle, loans, states
from lendbridge.servicing.models import Loan, LoanStatus, LoanTransaction, TransactionKind
from lendbridge.servicing.restructure import cancel_open, start_date

COMPONENTS = ("principal", "interest", "fee", "penalty")


def check_writable_off(loan: Loan) -> None:
    """Only a loan that owes money (active, overdue, restructured) may be written off."""
    states.check(LoanStatus(loan.status), LoanStatus.WRITTEN_OFF)


def write_off(
    session: Session, loan_id: uuid.UUID, *, reason: str, actor: Actor, approval_id: str
) -> dict[str, Any]:
    """Run an approved write-off (the rule is in the module's docstring); returns what it
    did, for the approval's result."""
    loan = loans.load(session, loan_id, lock=True)
    check_writable_off(loan)
    on = start_date(session, loan)
    interest.bring_current(session, [loan], on, actor)
    owed = {
        "principal": loan.principal_outstanding,
        "interest": loan.interest_outstanding,
        "fee": loan.fee_outstanding,
        "penalty": loan.penalty_outstanding,
    }
    loss = sum(owed.values())
    provision = loan.provision
    used = min(provision, loss)
    closed = [cancel_open(row) for row in installments.load_rows(session, loan.id, open_only=True)]
    day = calendar.business_date(session)
    key = f"loan:{loan.id}:write-off"
    entry_id = None
    if loss or provision:
        entry_id = accounting.post(
            session,
            accounting.entry(
                accounting.write_off_lines(provision=provision, **owed),
                currency=loan.currency,
                effective_date=day,
                description=f"Loan {loan.id}: written off / 贷款核销",
                loan_id=loan.id,
                event="write_off",
            ),
            key,
        )
    common: dict[str, Any] = {
        "loan_id": loan.id,
        "business_date": day,
        "effective_date": on,
        "entry_id": entry_id,
        "payment_order_id": None,
        "repayment_id": None,
        "actor": lifecycle.actor_name(actor),
        "created_at": clock.now(),
    }
    session.add(
        LoanTransaction(
            **common,
            id=new_id(),
            kind=TransactionKind.WRITE_OFF.value,
            amount=loss,
            **{name: -owed[name] for name in COMPONENTS},
            idempotency_key=key,
            details={
                "approval": approval_id,
                "reason": reason[:200],
                "provision_used": used,
                "provision_released": provision - used,
                "expense": loss - used,
                "installments": closed,
                "columns": ["number", *COMPONENTS],
            },
        )
    )
    if provision:
        # The provision's own history (``provision`` transactions) sums to the loan's
        # provision: zero from now on.
        session.add(
            LoanTransaction(
                **common,
                id=new_id(),
                kind=TransactionKind.PROVISION.value,
                amount=provision,
                principal=0,
                interest=0,
                fee=0,
                penalty=0,
                idempotency_key=f"{key}:provision",
                details={
                    "change": -provision,
                    "provision": 0,
                    "used": used,
                    "released": provision - used,
                    "status": LoanStatus.WRITTEN_OFF.value,
                },
            )
        )
    loan.principal_outstanding = loan.interest_outstanding = 0
    loan.fee_outstanding = loan.penalty_outstanding = 0
    loan.provision = 0
    loan.written_off = loss
    loan.written_off_on = day
    loan.updated_at = clock.now()
    session.flush()
    lifecycle.transition(
        session, loan, LoanStatus.WRITTEN_OFF, reason=f"written off: {reason}", actor=actor
    )
    record(
        session,
        actor,
        action="loans.write_off",
        target_type=lifecycle.TARGET,
        target_id=str(loan.id),
        before=owed | {"provision": provision},
        after={"written_off": loss, "provision_used": used, "approval": approval_id},
    )
    return {
        "loan_id": str(loan.id),
        "status": loan.status,
        "written_off": loss,
        "provision_used": used,
        "expense": loss - used,
    }
