"""Delinquency: days past due, the delinquency bucket and the five-tier classification of a
loan, the rules the loans' close (``close.py``) applies each day (it also moves the loan
``active`` <-> ``overdue``).

Closing day ``D`` computes each loan's days past due as of ``D + 1`` (the new business date):
the days since the due date of its oldest installment due on or before ``D`` and not fully
paid (0 when there is none). The loan's watermark ``delinquency_as_of`` moves to ``D + 1`` in
the same transaction.

The thresholds live in one place, ``DelinquencyPolicy`` (``POLICY`` is the one in force).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from lendbridge.servicing.models import Classification, DelinquencyBucket


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


class DueInstallment(Protocol):
    due_date: dt.date

    @property
    def unpaid(self) -> bool: ...


def oldest_unpaid_due(rows: Iterable[DueInstallment], through: dt.date) -> dt.date | None:
    """The due date of the oldest installment due on or before ``through`` and not fully
    paid, or None."""
    return min((r.due_date for r in rows if r.due_date <= through and r.unpaid), default=None)


def days_past_due(rows: Iterable[DueInstallment], as_of: dt.date) -> tuple[int, dt.date | None]:
    """Days past due as of ``as_of`` (counting the installments due before it) and the oldest
    unpaid due date."""
    since = oldest_unpaid_due(rows, as_of - dt.timedelta(days=1))
    return ((as_of - since).days if since is not None else 0), since
