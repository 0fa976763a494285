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

from sqlalchemy import and_

from lendbridge.kit.actor import system_actor
from lendbridge.servicing.cob import delinquency as _delinquency
from lendbridge.servicing.cob import penalty as _penalty
from lendbridge.servicing.cob import provision as _provision
from lendbridge.servicing.cob import runner
from lendbridge.servicing.cob.batches import loan_batches
from lendbridge.servicing.interest import bring_current
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
    pending = and_(
        Loan.status.in_([s.value for s in REPAYABLE]),
        Loan.interest_accrued_to < to,  # the watermark: loans not yet closed for D
    )
    loan_batches(ctx, pending, lambda session, loans: bring_current(session, loans, to, ACTOR))
