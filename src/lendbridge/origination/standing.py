"""The applicant's standing, as the preliminary review gathers it for the decision: who they
are (an active borrower with a verified identity; age from the resident id on the business
date; KYC level), what they owe on this platform (monthly installments, principal, overdue
loans), whether the risk list names them, and how often they applied lately.

Reads only; a few indexed queries per application.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import Date, String, bindparam, func, select
from sqlalchemy.orm import Session

from lendbridge.identity.kyc_models import Person
from lendbridge.identity.models import User, UserKind, UserStatus
from lendbridge.identity.validation import age_of_verified
from lendbridge.origination.errors import NotEligibleToApply
from lendbridge.origination.models import OPEN_STATUSES, LoanApplication
from lendbridge.risklist.service import listed_for_customer
from lendbridge.servicing.models import Loan, LoanInstallment, LoanStatus

# Loans whose installments the borrower still pays (a pending one will be paid out).
LIVE = (
    LoanStatus.PENDING_DISBURSEMENT.value,
    LoanStatus.ACTIVE.value,
    LoanStatus.OVERDUE.value,
)


@dataclass(frozen=True, slots=True)
class Standing:
    age: int
    kyc_level: str
    platform_monthly_obligations: int
    platform_outstanding: int
    overdue_loans: int
    blacklisted: bool
    applications_7d: int
    applications_30d: int


# The hot statements of an application, built once with bind parameters: SQLAlchemy then
# computes their cache keys once, not on every request.
# The columns needed, not the user: its other personal data would be decrypted for nothing.
_APPLICANT = (
    select(User.kind, User.status, User.kyc_level, Person.resident_id)
    .outerjoin(Person, Person.user_id == User.id)
    .where(User.id == bindparam("customer_id"))
)
_APPLICANT_LOCKED = _APPLICANT.with_for_update(of=User)
_LIVE_LOANS = select(
    Loan.id, Loan.status, Loan.principal, Loan.principal_outstanding, Loan.dpd
).where(Loan.customer_id == bindparam("customer_id"), Loan.status.in_(LIVE))
_RECENT = select(
    func.count().filter(LoanApplication.applied_on > bindparam("after_7", type_=Date)),
    func.count().filter(LoanApplication.applied_on > bindparam("after_30", type_=Date)),
    func.count().filter(LoanApplication.status.in_([s.value for s in OPEN_STATUSES])),
    func.count().filter(LoanApplication.idempotency_key == bindparam("key", type_=String)),
).where(LoanApplication.customer_id == bindparam("customer_id"))


@dataclass(frozen=True, slots=True)
class Applicant:
    id: uuid.UUID
    kyc_level: str
    resident_id: str | None  # verified, in clear (decrypted for the age only)


def applicant(session: Session, customer_id: uuid.UUID, *, lock: bool = False) -> Applicant:
    """The signed-in borrower and their verified resident id, in one query (``lock``: their
    user row, which serialises their applications)."""
    stmt = _APPLICANT_LOCKED if lock else _APPLICANT
    row = session.execute(stmt, {"customer_id": customer_id}).first()
    if row is None or row.kind != UserKind.BORROWER.value:
        raise NotEligibleToApply("only a borrower can apply for a loan")
    if row.status != UserStatus.ACTIVE.value:
        raise NotEligibleToApply("the account is disabled")
    return Applicant(customer_id, row.kyc_level, row.resident_id)


def age_from(resident_id: str | None, day: dt.date) -> int:
    """Age in completed years from the verified resident id; a customer without a verified
    identity cannot apply (a loan is made to a real name)."""
    if resident_id is None:
        raise NotEligibleToApply(
            "verify your identity (real name and resident id) before applying for a loan"
        )
    return age_of_verified(resident_id, day)


def age_of(session: Session, customer_id: uuid.UUID, day: dt.date) -> int:
    resident_id = session.scalar(select(Person.resident_id).where(Person.user_id == customer_id))
    return age_from(resident_id, day)


def of(session: Session, who: Applicant, day: dt.date, counts: Recent) -> Standing:
    customer_id = who.id
    loans = session.execute(_LIVE_LOANS, {"customer_id": customer_id}).all()
    outstanding = sum(
        r.principal
        if r.status == LoanStatus.PENDING_DISBURSEMENT.value
        else r.principal_outstanding
        for r in loans
    )
    overdue = sum(1 for r in loans if r.status == LoanStatus.OVERDUE.value or r.dpd > 0)
    return Standing(
        age=age_from(who.resident_id, day),
        kyc_level=who.kyc_level,
        platform_monthly_obligations=_next_installments(session, [r.id for r in loans]),
        platform_outstanding=outstanding,
        overdue_loans=overdue,
        blacklisted=bool(listed_for_customer(session, customer_id)),
        applications_7d=counts.last_7_days,
        applications_30d=counts.last_30_days,
    )


@dataclass(frozen=True, slots=True)
class Recent:
    last_7_days: int
    last_30_days: int
    open_count: int  # applications still open, whenever they were made
    keyed: int  # applications made with this request's (scoped) idempotency key: 0 or 1


def recent_applications(session: Session, customer_id: uuid.UUID, day: dt.date, key: str) -> Recent:
    """The customer's applications of the last 7 and 30 days, the open ones and the one made
    with ``key``, in one query over their applications."""
    row = session.execute(
        _RECENT,
        {
            "customer_id": customer_id,
            "after_7": day - dt.timedelta(days=7),
            "after_30": day - dt.timedelta(days=30),
            "key": key,
        },
    ).one()
    return Recent(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def _next_installments(session: Session, loan_ids: list[uuid.UUID]) -> int:
    """The sum over the loans of each one's next unpaid installment (what the borrower pays
    this month; a loan paying weekly is counted at one installment, which understates it)."""
    if not loan_ids:
        return 0
    i = LoanInstallment
    due = i.principal_due + i.interest_due + i.fee_due
    paid = i.principal_paid + i.interest_paid + i.fee_paid
    rows = session.execute(
        select(i.loan_id, i.number, due - paid)
        .where(i.loan_id.in_(loan_ids), i.number > 0, due > paid)
        .order_by(i.loan_id, i.number)
    ).all()
    seen: set[uuid.UUID] = set()
    total = 0
    for loan_id, _number, remaining in rows:
        if loan_id not in seen:
            seen.add(loan_id)
            total += int(remaining)
    return total
