"""The delinquency step of the close of business (``loans.delinquency``): days past due, the
delinquency bucket and the five-tier classification of every repayable loan, and its status
``active`` <-> ``overdue``.

Closing day ``D`` computes each loan's days past due as of ``D + 1`` (the new business date):
the days since the due date of its oldest installment due on or before ``D`` and not fully
paid (0 when there is none). The oldest unpaid due date of a whole batch is one grouped query
over ``loan_installment``, so a loan's cost does not grow with its age. Like the accrual step
it works in batches of ``ctx.batch_size`` loans in primary-key order, one transaction each,
moving each loan's watermark ``delinquency_as_of`` to ``D + 1`` in that transaction: a close
killed mid-step resumes with the loans it had not reached, and running it again changes
nothing.

The thresholds live in one place, ``DelinquencyPolicy`` (``POLICY`` is the one in force).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from lendbridge.kit.actor import system_actor
from lendbridge.servicing import lifecycle
from lendbridge.servicing.cob import runner
from lendbridge.servicing.cob.batches import loan_batches
from lendbridge.servicing.models import (
    Classification,
    DelinquencyBucket,
    InstallmentState,
    Loan,
    LoanInstallment,
    LoanStatus,
)
from lendbridge.servicing.states import REPAYABLE

ACTOR = system_actor("cob")


@dataclass(frozen=True)
class DelinquencyPolicy:
    """Upper bounds (inclusive, in days past due) of each bucket and classification tier;
    above the last bound a loan is ``M3+`` and ``loss``. Days past due 0 is always
    ``current`` and ``normal``."""

    m1_max: int = 30
    m2_max: int = 60
    m3_max: int = 90
    special_mention_max: int = 90  # 关注: 1 … 90
    substandard_max: int = 270  # 次级: 91 … 270
    doubtful_max: int = 360  # 可疑: 271 … 360; 损失 above

    def __post_init__(self) -> None:
        if not 0 < self.m1_max < self.m2_max < self.m3_max:
            raise ValueError("bucket bounds must increase: 0 < M1 < M2 < M3")
        if not 0 < self.special_mention_max < self.substandard_max < self.doubtful_max:
            raise ValueError("classification bounds must increase")

    def bucket(self, dpd: int) -> DelinquencyBucket:
        if dpd < 0:
            raise ValueError("days past due cannot be negative")
        if dpd == 0:
            return DelinquencyBucket.CURRENT
        if dpd <= self.m1_max:
            return DelinquencyBucket.M1
        if dpd <= self.m2_max:
            return DelinquencyBucket.M2
        if dpd <= self.m3_max:
            return DelinquencyBucket.M3
        return DelinquencyBucket.M3_PLUS

    def classification(self, dpd: int) -> Classification:
        if dpd < 0:
            raise ValueError("days past due cannot be negative")
        if dpd == 0:
            return Classification.NORMAL
        if dpd <= self.special_mention_max:
            return Classification.SPECIAL_MENTION
        if dpd <= self.substandard_max:
            return Classification.SUBSTANDARD
        if dpd <= self.doubtful_max:
            return Classification.DOUBTFUL
        return Classification.LOSS


POLICY = DelinquencyPolicy()


def oldest_unpaid_due(
    session: Session, loan_ids: Sequence[uuid.UUID], through: dt.date
) -> dict[uuid.UUID, dt.date]:
    """Per loan, the due date of its oldest installment due on or before ``through`` and not
    fully paid — one grouped query for all the loans."""
    i = LoanInstallment
    stmt = (
        select(i.loan_id, func.min(i.due_date))
        .where(
            i.loan_id.in_(loan_ids),
            i.due_date <= through,
            i.state != InstallmentState.CANCELLED.value,
            or_(
                i.principal_paid < i.principal_due,
                i.interest_paid < i.interest_due,
                i.fee_paid < i.fee_due,
                i.penalty_paid < i.penalty_due,
            ),
        )
        .group_by(i.loan_id)
    )
    return {loan_id: due for loan_id, due in session.execute(stmt)}


def apply(
    session: Session,
    loans: Sequence[Loan],
    as_of: dt.date,
    policy: DelinquencyPolicy = POLICY,
) -> None:
    """Set the days past due as of ``as_of`` of the loans (locked by the caller), their bucket
    and classification, move them ``active`` <-> ``overdue``, and their watermark."""
    oldest = oldest_unpaid_due(session, [loan.id for loan in loans], as_of - dt.timedelta(days=1))
    for loan in loans:
        since = oldest.get(loan.id)
        dpd = (as_of - since).days if since is not None else 0
        status = LoanStatus(loan.status)
        if dpd > 0 and status == LoanStatus.ACTIVE:
            lifecycle.transition(
                session,
                loan,
                LoanStatus.OVERDUE,
                reason=f"installment due {since} not paid",
                actor=ACTOR,
            )
        elif dpd == 0 and status == LoanStatus.OVERDUE:
            lifecycle.transition(
                session, loan, LoanStatus.ACTIVE, reason="overdue installments paid", actor=ACTOR
            )
        loan.dpd = dpd
        loan.overdue_since = since
        loan.delinquency_bucket = policy.bucket(dpd).value
        loan.classification = policy.classification(dpd).value
        loan.delinquency_as_of = as_of


@runner.step(
    "loans.delinquency",
    position=20,
    description="Days past due, buckets and classification; active <-> overdue",
)
def delinquency(ctx: runner.StepContext) -> None:
    as_of = ctx.business_date + dt.timedelta(days=1)
    pending = and_(
        Loan.status.in_([s.value for s in REPAYABLE]),
        # the watermark: loans not yet done for this date
        or_(Loan.delinquency_as_of.is_(None), Loan.delinquency_as_of < as_of),
    )
    loan_batches(ctx, pending, lambda session, loans: apply(session, loans, as_of))
