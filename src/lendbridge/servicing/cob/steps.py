"""The loan steps of every day's close of business. Each works through the loans in batches
of ``ctx.batch_size`` in primary-key order, one transaction per batch, and moves each loan's
own watermark in that transaction, so a close killed mid-step resumes with exactly the loans
it had not reached.

So far: interest accrual and the fees of installments falling due (``loans.accrue``), and
days past due, buckets, classification and ``active`` <-> ``overdue``
(``loans.delinquency``, in ``delinquency.py``), and penalty interest on overdue principal
(``loans.penalty``, in ``penalty.py``), and loan-loss provisions by classification
(``loans.provision``, in ``provision.py``) — all registered when this module is imported.
Still to come (issue 5): collection orders for due installments, reminders.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from lendbridge.kit.actor import system_actor
from lendbridge.kit.db import unit_of_work
from lendbridge.servicing.cob import delinquency as _delinquency
from lendbridge.servicing.cob import penalty as _penalty
from lendbridge.servicing.cob import provision as _provision
from lendbridge.servicing.cob import runner
from lendbridge.servicing.interest import bring_current, lock_loans
from lendbridge.servicing.models import Loan
from lendbridge.servicing.states import REPAYABLE

ACTOR = system_actor("cob")

# Registered by importing it; re-exported so the close's steps are all reachable from here.
delinquency = _delinquency.delinquency
penalty = _penalty.penalty
provision = _provision.provision


@runner.step(
    "loans.accrue",
    position=10,
    description="Recognise the day's interest of every loan; charge the fees falling due",
)
def accrue(ctx: runner.StepContext) -> None:
    # Closing day D earns D's interest: every loan is brought current to D + 1 (exclusive).
    to = ctx.business_date + dt.timedelta(days=1)
    after: uuid.UUID | None = None
    while True:
        with unit_of_work(ctx.factory) as session:
            stmt = (
                select(Loan.id)
                .where(
                    Loan.status.in_([s.value for s in REPAYABLE]),
                    Loan.interest_accrued_to < to,  # the watermark: loans not yet closed for D
                )
                .order_by(Loan.id)
                .limit(ctx.batch_size)
            )
            if after is not None:
                stmt = stmt.where(Loan.id > after)
            ids = list(session.scalars(stmt))
            if not ids:
                return
            bring_current(session, lock_loans(session, ids), to, ACTOR)
        ctx.committed(len(ids))
        after = ids[-1]
