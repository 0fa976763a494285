"""Loan-loss provisions (贷款损失准备): each loan's provision kept by the loans' close
(``close.py``) equal to its outstanding principal × the rate of its five-tier classification.

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
- **Booking** (``close.py``): when the required provision differs from the loan's
  ``provision``, the change is booked once: an increase Dr ``6702.001`` provision expense / Cr
  ``1304.002`` loan-loss provision (loan book), a decrease the reverse (a release), in the
  batch's entry; with one loan transaction of kind ``provision`` (no receivable changes;
  ``amount`` the absolute change, ``details.change`` the signed one) keyed
  ``loan:<id>:provision:<D>``, and the loan's watermark ``provision_as_of`` moved to
  ``D + 1``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from lendbridge.servicing.cob.penalty import half_up
from lendbridge.servicing.models import Classification
from lendbridge.servicing.states import REPAYABLE

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
        return _rate(self, classification)

    def required(self, principal: int, classification: Classification) -> int:
        """The provision of ``principal`` outstanding in the tier, rounded half up."""
        return half_up(principal * self.rate(classification))


@functools.cache
def _rate(policy: ProvisionPolicy, classification: Classification) -> Fraction:
    # Cached: the close asks for every loan every day.
    return Fraction(getattr(policy, classification.value)) / HUNDRED


POLICY = ProvisionPolicy()


class Provisioned(Protocol):
    status: str
    classification: str
    principal_outstanding: int


_REPAYABLE = frozenset(s.value for s in REPAYABLE)


def required(loan: Provisioned, policy: ProvisionPolicy = POLICY) -> int:
    """The provision the loan needs: none once it left the repayable states."""
    if loan.status not in _REPAYABLE:
        return 0
    rate = _rate(policy, Classification(loan.classification))
    # Integer arithmetic (an int times a Fraction builds a Fraction): half up, exactly.
    num, den = loan.principal_outstanding * rate.numerator, rate.denominator
    return (2 * num + den) // (2 * den)
