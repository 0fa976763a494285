"""The staff dashboard's figures: each one aggregate query (SUM, COUNT, GROUP BY) in the
database, never loan rows loaded into Python, so that the page stays fast on a book of a
million loans. The benchmark calls these functions directly."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from lendbridge.ledger.models import Account, AccountDay
from lendbridge.origination.models import ApplicationStatus, LoanApplication
from lendbridge.servicing.accounting import PRINCIPAL
from lendbridge.servicing.collections.models import PromiseToPay
from lendbridge.servicing.models import Classification, DelinquencyBucket, Loan
from lendbridge.servicing.states import REPAYABLE

_REPAYABLE = [s.value for s in REPAYABLE]
# An application the platform made an offer for (whatever the borrower did with it since).
APPROVED = (
    ApplicationStatus.OFFERED,
    ApplicationStatus.EXPIRED,
    ApplicationStatus.WITHDRAWN,
    ApplicationStatus.SIGNED,
    ApplicationStatus.ACTIVE,
)


@dataclass(frozen=True)
class Headline:
    loans_active: int
    outstanding_principal: int
    overdue_principal: int
    disbursed_this_month: int
    collection_queue: int

    @property
    def overdue_ratio(self) -> Decimal | None:
        """Overdue principal over outstanding principal, in percent."""
        if not self.outstanding_principal:
            return None
        return Decimal(self.overdue_principal) * 100 / Decimal(self.outstanding_principal)


@dataclass(frozen=True)
class MonthPoint:
    month: dt.date  # the month's first day
    disbursed: int
    outstanding: int  # principal receivable at the month's end (or today, this month)


@dataclass(frozen=True)
class Slice:
    key: str
    loans: int
    principal: int


@dataclass(frozen=True)
class Portfolio:
    loans_active: int
    outstanding_principal: int
    overdue_loans: int  # the collector queue: live loans past due
    overdue_principal: int
    classes: list[Slice]
    buckets: list[Slice]

    def headline(self, disbursed_this_month: int) -> Headline:
        return Headline(
            loans_active=self.loans_active,
            outstanding_principal=self.outstanding_principal,
            overdue_principal=self.overdue_principal,
            disbursed_this_month=disbursed_this_month,
            collection_queue=self.overdue_loans,
        )


@dataclass(frozen=True)
class Outcomes:
    approved: int
    declined: int
    in_review: int

    @property
    def approval_rate(self) -> Decimal | None:
        decided = self.approved + self.declined
        return None if not decided else Decimal(self.approved) * 100 / decided


@dataclass(frozen=True)
class Promises:
    open: int
    kept: int
    broken: int
    cancelled: int


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def months_back(day: dt.date, count: int) -> list[dt.date]:
    """The first days of the ``count`` months ending with ``day``'s, oldest first."""
    first = month_start(day)
    out = []
    for back in range(count - 1, -1, -1):
        index = first.year * 12 + first.month - 1 - back
        out.append(dt.date(index // 12, index % 12 + 1, 1))
    return out


def headline(session: Session, today: dt.date) -> Headline:
    """The headline figures alone (the page takes them from ``portfolio`` and ``by_month``,
    which it needs anyway: two passes over the loan table in all)."""
    book = portfolio(session)
    return book.headline(disbursed_this_month(session, today))


def disbursed_this_month(session: Session, today: dt.date) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Loan.principal), 0)).where(
            Loan.disbursed_on >= month_start(today), Loan.disbursed_on <= today
        )
    )
    return int(total or 0)


def by_month(session: Session, today: dt.date, count: int = 12) -> list[MonthPoint]:
    """Principal disbursed per month (grouped in the database) and the principal receivable
    at each month's end, from the ledger's per-day totals of the loan book's principal
    account (grouped by month, then accumulated over at most ``count`` months)."""
    months = months_back(today, count)
    start = months[0]
    year, month = extract("year", Loan.disbursed_on), extract("month", Loan.disbursed_on)
    disbursed = {
        (int(y), int(m)): int(total)
        for y, m, total in session.execute(
            select(year, month, func.sum(Loan.principal))
            .where(Loan.disbursed_on >= start, Loan.disbursed_on <= today)
            .group_by(year, month)
        )
    }
    account = select(Account.id).where(Account.code == PRINCIPAL).scalar_subquery()
    change = AccountDay.debits - AccountDay.credits
    opening = session.scalar(
        select(func.coalesce(func.sum(change), 0)).where(
            AccountDay.account_id == account, AccountDay.day < start
        )
    )
    day_year, day_month = extract("year", AccountDay.day), extract("month", AccountDay.day)
    moves = {
        (int(y), int(m)): int(total)
        for y, m, total in session.execute(
            select(day_year, day_month, func.sum(change))
            .where(AccountDay.account_id == account, AccountDay.day >= start)
            .where(AccountDay.day <= today)
            .group_by(day_year, day_month)
        )
    }
    running = int(opening or 0)
    points = []
    for first in months:
        key = (first.year, first.month)
        running += moves.get(key, 0)
        points.append(MonthPoint(first, disbursed.get(key, 0), running))
    return points


def portfolio(session: Session) -> Portfolio:
    """The live loans (active, overdue, restructured) grouped by classification, overdue
    bucket and whether anything is past due: one grouped pass, folded into the headline's
    sums and the two breakdowns (at most 5 × 5 × 2 rows reach Python)."""
    classes: dict[str, tuple[int, int]] = {}
    buckets: dict[str, tuple[int, int]] = {}
    loans = principal = overdue_loans = overdue_principal = 0
    past_due = Loan.dpd > 0
    for classification, bucket, late, n, total in session.execute(
        select(
            Loan.classification,
            Loan.delinquency_bucket,
            past_due,
            func.count(),
            func.coalesce(func.sum(Loan.principal_outstanding), 0),
        )
        .where(Loan.status.in_(_REPAYABLE))
        .group_by(Loan.classification, Loan.delinquency_bucket, past_due)
    ):
        n, total = int(n), int(total)
        loans, principal = loans + n, principal + total
        if late:
            overdue_loans, overdue_principal = overdue_loans + n, overdue_principal + total
        for found, key in ((classes, classification), (buckets, bucket)):
            had_loans, had_principal = found.get(key, (0, 0))
            found[key] = (had_loans + n, had_principal + total)
    return Portfolio(
        loans_active=loans,
        outstanding_principal=principal,
        overdue_loans=overdue_loans,
        overdue_principal=overdue_principal,
        classes=[Slice(c.value, *classes.get(c.value, (0, 0))) for c in Classification],
        buckets=[Slice(b.value, *buckets.get(b.value, (0, 0))) for b in DelinquencyBucket],
    )


def slices(session: Session) -> tuple[list[Slice], list[Slice]]:
    book = portfolio(session)
    return book.classes, book.buckets


def application_outcomes(session: Session) -> Outcomes:
    counts = {
        status: int(n)
        for status, n in session.execute(
            select(LoanApplication.status, func.count()).group_by(LoanApplication.status)
        )
    }
    return Outcomes(
        approved=sum(counts.get(s.value, 0) for s in APPROVED),
        declined=counts.get(ApplicationStatus.DECLINED.value, 0),
        in_review=counts.get(ApplicationStatus.IN_REVIEW.value, 0),
    )


def promises(session: Session) -> Promises:
    counts = {
        status: int(n)
        for status, n in session.execute(
            select(PromiseToPay.status, func.count()).group_by(PromiseToPay.status)
        )
    }
    return Promises(
        open=counts.get("open", 0),
        kept=counts.get("kept", 0),
        broken=counts.get("broken", 0),
        cancelled=counts.get("cancelled", 0),
    )
