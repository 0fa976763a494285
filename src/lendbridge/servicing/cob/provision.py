"""The loan-loss provision step of the close of business (``loans.provision``): each loan's
provision (贷款损失准备) kept equal to its outstanding principal × the rate of its five-tier
classification.

The rule, for the business day ``D`` being closed (after ``loans.delinquency`` has set the
classification as of ``D + 1``):

- **Required provision** of a repayable loan: ``principal_outstanding × rate``, rounded half
  up to the minor unit (exact rationals, never floats). The rates are the customary general
  and specific provision rates of the PBoC/CBIRC guidance (《贷款损失准备计提指引》):
  正常 normal 1 %, 关注 special mention 2 %, 次级 substandard 25 %, 可疑 doubtful 50 %,
  损失 loss 100 %. They live in one place, ``ProvisionPolicy`` (``POLICY`` is the one in
  force).
- A loan that left the repayable states (paid off, written off, …) requires 0: its provision
  is released at the next close.
- **Booking.** When the required provision differs from the loan's ``provision``, the change
  is booked once: an increase Dr ``6702.001`` provision expense / Cr ``1304.002`` loan-loss
  provision (loan book), a decrease the reverse (a release); with one loan transaction of kind
  ``provision`` (no receivable changes; ``amount`` the absolute change, ``details.change`` the
  signed one), both keyed ``loan:<id>:provision:<D>``.

Batches of ``ctx.batch_size`` loans in primary-key order, one transaction each, moving each
loan's watermark ``provision_as_of`` to ``D + 1`` in that transaction: a close killed
mid-step resumes with the loans it had not reached, and running it again books nothing. Only
the loan row is read, so a loan's cost does not grow with its age.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import and_, insert, or_
from sqlalchemy.orm import Session

from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.kit.ids import new_id
from lendbridge.ledger.schemas import EntryIn
from lendbridge.servicing import accounting, lifecycle
from lendbridge.servicing.cob import runner
from lendbridge.servicing.cob.batches import loan_batches
from lendbridge.servicing.cob.penalty import half_up
from lendbridge.servicing.interest import post_keyed
from lendbridge.servicing.models import (
    Classification,
    Loan,
    LoanStatus,
    LoanTransaction,
    TransactionKind,
)
from lendbridge.servicing.states import REPAYABLE

ACTOR = system_actor("cob")
HUNDRED = 100


@dataclass(frozen=True)
class ProvisionPolicy:
    """The provision rate, in percent of the outstanding principal, of each classification
    tier (decimal strings, read exactly)."""

    normal: str = "1"  # 正常: the general provision
    special_mention: str = "2"  # 关注
    substandard: str = "25"  # 次级
    doubtful: str = "50"  # 可疑
    loss: str = "100"  # 损失

    def __post_init__(self) -> None:
        rates = [Fraction(getattr(self, c.value)) for c in Classification]
        if any(not 0 <= r <= HUNDRED for r in rates):
            raise ValueError("provision rates must be between 0 and 100 percent")

    def rate(self, classification: Classification) -> Fraction:
        """The exact rate (a fraction of the principal) of the tier."""
        return Fraction(getattr(self, classification.value)) / HUNDRED

    def required(self, principal: int, classification: Classification) -> int:
        """The provision of ``principal`` outstanding in the tier, rounded half up."""
        return half_up(principal * self.rate(classification))


POLICY = ProvisionPolicy()


def required(loan: Loan, policy: ProvisionPolicy = POLICY) -> int:
    """The provision the loan needs: none once it left the repayable states."""
    if LoanStatus(loan.status) not in REPAYABLE:
        return 0
    return policy.required(loan.principal_outstanding, Classification(loan.classification))


def _due(as_of: dt.date) -> Any:
    """Loans the step has to look at for ``as_of``: repayable ones, and closed ones still
    carrying a provision, not yet done for that date."""
    return and_(
        or_(Loan.status.in_([s.value for s in REPAYABLE]), Loan.provision != 0),
        or_(Loan.provision_as_of.is_(None), Loan.provision_as_of < as_of),
    )


def apply(
    session: Session,
    loans: Sequence[Loan],
    day: dt.date,
    policy: ProvisionPolicy = POLICY,
    actor: Actor = ACTOR,
) -> int:
    """Bring the provisions of the loans (locked by the caller) not yet done for day ``day``
    to what they require and move their watermark to ``day + 1``; returns how many changed."""
    as_of = day + dt.timedelta(days=1)
    changes: list[tuple[Loan, int]] = []
    for loan in loans:
        if loan.provision_as_of is not None and loan.provision_as_of >= as_of:
            continue
        need = required(loan, policy)
        change = need - loan.provision
        loan.provision_as_of = as_of
        if change:
            loan.provision = need
            changes.append((loan, change))
    if changes:
        _book(session, changes, day, actor, policy)
    session.flush()
    return len(changes)


def _book(
    session: Session,
    changes: list[tuple[Loan, int]],
    day: dt.date,
    actor: Actor,
    policy: ProvisionPolicy,
) -> None:
    today = calendar.business_date(session)
    keyed: list[tuple[EntryIn, str]] = []
    for loan, change in changes:
        what = "provision" if change > 0 else "provision released"
        request = accounting.entry(
            accounting.provision_lines(change),
            currency=loan.currency,
            effective_date=today,
            description=f"Loan {loan.id}: loan-loss {what} of {day} / 贷款损失准备",
            loan_id=loan.id,
            event="provision",
        )
        keyed.append((request, f"loan:{loan.id}:provision:{day}"))
    entry_ids = post_keyed(session, keyed)
    now = clock.now()
    who = lifecycle.actor_name(actor)
    rows: list[dict[str, Any]] = []
    for (loan, change), (_, key) in zip(changes, keyed, strict=True):
        tier = Classification(loan.classification)
        rows.append(
            {
                "id": new_id(),
                "loan_id": loan.id,
                "kind": TransactionKind.PROVISION.value,
                "business_date": today,
                "effective_date": day,
                "amount": abs(change),
                "principal": 0,
                "interest": 0,
                "fee": 0,
                "penalty": 0,
                "entry_id": entry_ids[key],
                "payment_order_id": None,
                "repayment_id": None,
                "idempotency_key": key,
                "details": {
                    "change": change,
                    "provision": loan.provision,
                    "base": loan.principal_outstanding,
                    "classification": tier.value,
                    "rate_percent": getattr(policy, tier.value),
                    "status": loan.status,
                },
                "actor": who,
                "created_at": now,
            }
        )
    session.execute(insert(LoanTransaction), rows)


@runner.step(
    "loans.provision",
    position=40,
    description="Loan-loss provisions by five-tier classification (贷款损失准备)",
)
def provision(ctx: runner.StepContext) -> None:
    day = ctx.business_date
    loan_batches(
        ctx, _due(day + dt.timedelta(days=1)), lambda session, loans: apply(session, loans, day)
    )
