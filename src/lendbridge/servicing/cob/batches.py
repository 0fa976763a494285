"""The one way a loan step of the close of business walks the portfolio: batches of
``ctx.batch_size`` loans in primary-key order, each locked and worked in its own
transaction, which also moves the loans' watermark; so a close killed mid-step resumes with
exactly the loans the step had not reached."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from lendbridge.kit.db import unit_of_work
from lendbridge.servicing.cob.runner import StepContext
from lendbridge.servicing.interest import lock_loans
from lendbridge.servicing.models import Loan


def loan_batches(
    ctx: StepContext,
    pending: ColumnElement[bool],
    work: Callable[[Session, Sequence[Loan]], object],
) -> None:
    """Call ``work(session, locked_loans)`` for every batch of loans matching ``pending`` (the
    step's condition, its watermark included); ``work`` must move the watermark."""
    after: uuid.UUID | None = None
    while True:
        with unit_of_work(ctx.factory) as session:
            stmt = select(Loan.id).where(pending).order_by(Loan.id).limit(ctx.batch_size)
            if after is not None:
                stmt = stmt.where(Loan.id > after)
            ids = list(session.scalars(stmt))
            if not ids:
                return
            work(session, lock_loans(session, ids))
        ctx.committed(len(ids))
        after = ids[-1]
