"""What a loan's money row waiting on a payment order (a repayment, a recovery) does when the
order finishes, up to the point where the two differ: the loan locked first (as every writer
of a loan), then the row; an outcome that is not this row's order, or comes twice, ignored;
a failed order marks the row failed, audited. A succeeded order is handed back to the caller
to book."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import clock
from lendbridge.kit.actor import Actor
from lendbridge.payments import orders
from lendbridge.payments.models import OrderStatus, PaymentOrder
from lendbridge.servicing import lifecycle, loans
from lendbridge.servicing.models import Loan, LoanRepayment
from lendbridge.servicing.workout_models import LoanRecovery

Row = TypeVar("Row", LoanRepayment, LoanRecovery)
PENDING = "pending"  # the same word in RepaymentStatus and RecoveryStatus
FAILED = "failed"


@dataclass(frozen=True)
class Succeeded(Generic[Row]):
    loan: Loan
    row: Row
    order: PaymentOrder


def finish(
    session: Session,
    model: type[Row],
    row_id: uuid.UUID,
    order_id: uuid.UUID,
    actor: Actor,
    *,
    noun: str,
) -> Succeeded[Row] | str:
    """The locked loan, row and order when the order succeeded; else what was done, as
    ``on_outcome`` reports it (``noun`` names the row: "repayment", "recovery")."""
    found = session.get(model, row_id)
    if found is None:
        return f"ignored: no such {noun}"
    loan = loans.load(session, found.loan_id, lock=True)
    row = session.scalar(
        select(model)
        .where(model.id == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    if row.order_id != order_id:
        return f"ignored: not the {noun}'s order"
    if row.status != PENDING:
        return f"ignored: the {noun} is {row.status}"
    order = orders.load(session, order_id)
    if order.status == OrderStatus.FAILED.value:
        row.status = FAILED
        row.note = f"{order.error_code or 'failed'}: {order.error_message or ''}"[:200]
        row.updated_at = clock.now()
        session.flush()
        record(
            session,
            actor,
            action=f"loans.{noun}.failed",
            target_type=lifecycle.TARGET,
            target_id=str(loan.id),
            after={f"{noun}_id": str(row.id), "error": row.note},
        )
        return "failed"
    if order.status != OrderStatus.SUCCEEDED.value:
        return f"ignored: the order is {order.status}"
    return Succeeded(loan, row, order)
