"""The loans demo of ``lendbridge init --demo``: loans in every state, with a history made by
the platform itself rather than written as rows.

On a database where no close of business has ever run, the load moves the business date back
``demo_plan.DAYS`` days and walks forward to where it was. On each day it makes what the plan
says happen that day — loans created and disbursed, installments paid on their due dates,
half an installment paid, a prepayment that shortens the term, a payoff — through the
servicing services and the real payment path (``demo_money``: the simulated bank, run for
the load), then closes the days up to the next one the plan acts on, each in turn, with the
real close of business (``cob.runner.run_cob``: accrual, delinquency, penalty interest,
provisions). On the last day it writes one loan off
through maker-checker (a loan officer asks, a compliance officer approves), and leaves one
loan waiting for its disbursement and one cancelled. The close's collection and reminder
steps are left out of these past days: the demo borrowers have no debit authorisation, and
the reminders of five months would all be sent by SMS when the server starts.

Idempotent like the rest of the demo: every loan's idempotency key starts with
``demo:loan:``; when one exists the load does nothing. A database where days were already
closed cannot have its date moved back (closed days are not reopened): the load is skipped
with a message, never an error, so ``init --demo`` still succeeds. A load that fails before
its first close puts the business date back where it was.

The runner commits per batch and per day, so the load takes a session factory and runs its
own transactions, after the rest of ``init`` has committed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.approvals import service as approvals
from lendbridge.identity.models import User
from lendbridge.identity.registration import phone_index
from lendbridge.identity.users import roles_and_permissions
from lendbridge.kit import calendar
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.kit.db import unit_of_work
from lendbridge.payments.demo import CHANNEL
from lendbridge.servicing import disbursement, loan_actions, loans, repayments
from lendbridge.servicing.cob import runner
from lendbridge.servicing.cob import steps as _steps
from lendbridge.servicing.cob.models import CobRun
from lendbridge.servicing.demo_money import demo_bank, settle
from lendbridge.servicing.demo_plan import DAYS, LOANS, DemoLoan, Pays
from lendbridge.servicing.loan_schemas import DisburseIn, LoanDetailOut, LoanIn, RepaymentIn
from lendbridge.servicing.models import (
    InstallmentState,
    Loan,
    LoanInstallment,
    LoanStatus,
    RepaymentPurpose,
)

KEY_PREFIX = "demo:loan:"
ACTOR = system_actor("demo")
# Left out of the past days' close (see the module's docstring).
SKIPPED_STEPS = frozenset({"loans.collect", "loans.remind"})
MAKER, CHECKER = "demo.loan-officer", "demo.compliance-officer"
_REGISTERED = (_steps, loan_actions)  # imported for their registrations (steps, actions)


@dataclass
class LoansDemo:
    """What the load did: ``loaded`` False with the reason in ``message`` when skipped."""

    loaded: bool
    message: str
    loans: dict[str, uuid.UUID] = field(default_factory=dict)
    days_closed: int = 0
    seconds: float = 0.0


def load_loans_demo(
    factory: sessionmaker[Session], *, timezone: str = "Asia/Shanghai"
) -> LoansDemo:
    """Load the loans demo once (see the module's docstring)."""
    with unit_of_work(factory) as session:
        if session.scalar(select(Loan.id).where(Loan.idempotency_key.like(KEY_PREFIX + "%"))):
            return LoansDemo(False, "loans demo: already loaded")
        if session.scalar(select(CobRun.business_date).limit(1)) is not None:
            return LoansDemo(
                False,
                "loans demo: skipped — days were closed already on this database, and the "
                "demo's history needs to move the business date back (closed days are not "
                "reopened); load it on a fresh database",
            )
        end = calendar.business_date(session)
        borrowers = {phone: _user_id(session, phone) for phone in {x.borrower for x in LOANS}}
        missing = [phone for phone, found in borrowers.items() if found is None]
        if missing:
            return LoansDemo(False, f"loans demo: skipped — demo borrowers {missing} not found")
        calendar.set_business_date(session, end - dt.timedelta(days=DAYS))
    started = time.perf_counter()
    walk = _Walk(factory, {k: v for k, v in borrowers.items() if v is not None})
    start = end - dt.timedelta(days=DAYS)
    try:
        with _quiet(), demo_bank(timezone):
            offset = 0
            while True:
                today = start + dt.timedelta(days=offset)
                walk.day(offset, today)
                if offset == DAYS:
                    break
                # The days between two events are closed in one run (each day still closed).
                offset = walk.next_event(offset, today)
                walk.close(start + dt.timedelta(days=offset))
    except BaseException:
        with unit_of_work(factory) as session:  # nothing closed yet: the date may go back
            if session.scalar(select(CobRun.business_date).limit(1)) is None:
                calendar.set_business_date(session, end)
        raise
    seconds = time.perf_counter() - started
    return LoansDemo(
        True,
        f"loans demo: {len(walk.ids)} loans ({'; '.join(x.expect for x in LOANS)}) over "
        f"{walk.days_closed} business days closed by the close of business, in {seconds:.1f} s",
        walk.ids,
        walk.days_closed,
        seconds,
    )


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Without a logging set-up of the process (the command line), structlog prints every
    info line: the five months' close would bury init's output. Warnings still show."""
    if structlog.is_configured():
        yield
        return
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        yield
    finally:
        structlog.reset_defaults()


def _user_id(session: Session, phone: str) -> uuid.UUID | None:
    return session.scalar(select(User.id).where(User.phone_index == phone_index(phone)))


def _staff(session: Session, username: str) -> Actor:
    user_id = session.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        raise RuntimeError(f"the demo staff user {username} is missing")
    roles, permissions = roles_and_permissions(session, user_id)
    return Actor(user_id=str(user_id), roles=roles, permissions=permissions)


def owed_through(loan: LoanDetailOut, day: dt.date) -> int:
    """What the installments due on or before ``day`` still owe."""
    return sum(
        (r.principal_due - r.principal_paid)
        + (r.interest_due - r.interest_paid)
        + (r.fee_due - r.fee_paid)
        + (r.penalty_due - r.penalty_paid)
        for r in loan.installments
        if r.due_date <= day and r.state != "cancelled"
    )


class _Walk:
    """The walk through the demo's days: what happens on each, and each day's close."""

    def __init__(self, factory: sessionmaker[Session], borrowers: dict[str, uuid.UUID]) -> None:
        self.factory = factory
        self.borrowers = borrowers
        self.ids: dict[str, uuid.UUID] = {}
        self.paid: dict[str, int] = {}  # installments paid on time so far, per loan
        self.steps = [s for s in runner.registered_steps() if s.name not in SKIPPED_STEPS]
        self.days_closed = 0

    def close(self, to_date: dt.date) -> None:
        self.days_closed += len(runner.run_cob(self.factory, to_date, steps=self.steps))

    def next_event(self, offset: int, today: dt.date) -> int:
        """The next day on which the plan does something: a loan made, prepaid or paid off,
        the last day, or an installment falling due on a loan whose borrower still pays."""
        days = {DAYS}
        for plan in LOANS:
            days.update(d for d in (plan.day, plan.payoff_day) if d is not None)
            if plan.prepay is not None:
                days.add(plan.prepay[0])
        paying = [self.ids[p.name] for p in LOANS if p.name in self.ids and self._pays(p)]
        if paying:
            with unit_of_work(self.factory) as session:
                due = session.scalar(
                    select(func.min(LoanInstallment.due_date)).where(
                        LoanInstallment.loan_id.in_(paying),
                        LoanInstallment.due_date > today,
                        LoanInstallment.state == InstallmentState.PENDING.value,
                    )
                )
            if due is not None:
                days.add(offset + (due - today).days)
        return min(d for d in days if d > offset)

    def _pays(self, plan: DemoLoan) -> bool:
        """Whether the borrower still pays the installments of ``plan`` when they fall due."""
        paid = self.paid.get(plan.name, 0)
        if plan.pays is Pays.NEVER or (plan.pays is Pays.PARTIAL and paid):
            return False
        return plan.installments_paid is None or paid < plan.installments_paid

    def day(self, offset: int, today: dt.date) -> None:
        for plan in LOANS:
            if plan.day == offset:
                self._make(plan)
            if plan.name not in self.ids or not plan.disburse:
                continue
            if self._pays(plan):
                self._pay_due(plan, today)
            if plan.prepay is not None and plan.prepay[0] == offset:
                self._repay(plan, today, RepaymentPurpose.PREPAYMENT, plan.prepay[1])
            if plan.payoff_day == offset:
                self._repay(plan, today, RepaymentPurpose.PAYOFF, None)
            if plan.write_off and offset == DAYS:
                self._write_off(plan)

    def _make(self, plan: DemoLoan) -> None:
        body = LoanIn(
            customer_id=self.borrowers[plan.borrower],
            product_code=plan.product,
            amount=plan.amount,
            term=plan.term,
        )
        key = KEY_PREFIX + plan.name
        with unit_of_work(self.factory) as session:
            loan, _ = loans.create_loan(session, body, idempotency_key=key, actor=ACTOR)
            if plan.cancel:
                loans.cancel_loan(
                    session, loan.id, reason="the borrower changed their mind", actor=ACTOR
                )
        self.ids[plan.name] = loan.id
        if not plan.disburse:
            return
        with unit_of_work(self.factory) as session:
            disbursement.disburse(
                session,
                loan.id,
                DisburseIn(channel=CHANNEL),
                idempotency_key=key + ":disburse",
                actor=ACTOR,
            )
            order_id = loans.load(session, loan.id).disbursement_order_id
        assert order_id is not None
        settle(self.factory, order_id)

    def _pay_due(self, plan: DemoLoan, today: dt.date) -> None:
        """On an installment's due date: pay what is due (half of it for a partial payer)."""
        loan_id = self.ids[plan.name]
        with unit_of_work(self.factory) as session:
            row = session.get(Loan, loan_id)
            if row is None or row.status not in (LoanStatus.ACTIVE, LoanStatus.OVERDUE):
                return
            due_today = session.scalar(
                select(LoanInstallment.number).where(
                    LoanInstallment.loan_id == loan_id,
                    LoanInstallment.due_date == today,
                    LoanInstallment.state != InstallmentState.CANCELLED.value,
                )
            )
            if due_today is None:
                return
            loan = loans.get_loan(session, loan_id)
        owed = owed_through(loan, today)
        if owed <= 0:
            return
        amount = owed // 2 if plan.pays is Pays.PARTIAL else owed
        self._repay(plan, today, RepaymentPurpose.INSTALLMENTS, amount)
        self.paid[plan.name] = self.paid.get(plan.name, 0) + 1

    def _repay(
        self, plan: DemoLoan, today: dt.date, purpose: RepaymentPurpose, amount: int | None
    ) -> None:
        key = f"{KEY_PREFIX}{plan.name}:{purpose.value}:{today.isoformat()}"
        body = RepaymentIn(channel=CHANNEL, purpose=purpose, amount=amount)
        with unit_of_work(self.factory) as session:
            out, _ = repayments.request_repayment(
                session, self.ids[plan.name], body, idempotency_key=key, actor=ACTOR
            )
        assert out.order_id is not None
        settle(self.factory, out.order_id)

    def _write_off(self, plan: DemoLoan) -> None:
        """Maker-checker: the loan officer asks, the compliance officer approves (and runs it)."""
        with unit_of_work(self.factory) as session:
            request = approvals.request_action(
                session,
                _staff(session, MAKER),
                action="loans.write_off",
                payload={"loan_id": str(self.ids[plan.name])},
                reason="demo: over 90 days past due, no contact with the borrower",
            )
            request_id = request.id
        with unit_of_work(self.factory) as session:
            approvals.decide(
                session,
                _staff(session, CHECKER),
                request_id,
                approve=True,
                note="demo: collection exhausted, provision in place",
            )
