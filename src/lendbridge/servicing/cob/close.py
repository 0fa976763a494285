"""The loans' step of every day's close of business (``loans.close``): for each loan, in one
pass, interest accrual and fees falling due, days past due / bucket / classification /
``active`` <-> ``overdue``, penalty interest, and the loan-loss provision (``phases.py``).

One pass because the portfolio is the cost: each loan is read, locked and written once a day,
not once per rule. The loans go in batches of ``ctx.batch_size`` in primary-key order, each
batch in one transaction that books everything (``writes.py``: one ledger entry per currency,
the loan transactions, the changed installments, the loan rows with their watermarks). Each
rule keeps its own watermark on the loan, moved in that transaction, so a close killed
mid-step resumes with exactly the loans it had not reached, running it again books nothing,
and a loan a repayment already brought current skips what was done.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from functools import partial

from sqlalchemy import ColumnElement, and_, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.kit import calendar, db
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.kit.db import unit_of_work
from lendbridge.servicing.cob import parallel, runner
from lendbridge.servicing.cob.phases import BatchBook, Day, close_loan
from lendbridge.servicing.cob.rows import LoanRow, load_installments, lock_batch
from lendbridge.servicing.cob.writes import write_batch
from lendbridge.servicing.loan_terms import product_of
from lendbridge.servicing.models import Loan
from lendbridge.servicing.states import REPAYABLE

ACTOR = system_actor("cob")
# Batches closed at once on PostgreSQL: two keep both cores busy (one computing while the
# other waits for the database); more only queue for the same cores.
WORKERS = 2


def pending(on: Day) -> ColumnElement[bool]:
    """Loans with a rule not yet applied for the day: repayable ones behind on any watermark,
    and closed ones still carrying a provision to release."""
    to, day = on.next, on.day
    return or_(
        and_(
            Loan.status.in_([s.value for s in REPAYABLE]),
            or_(
                Loan.interest_accrued_to < to,
                Loan.delinquency_as_of.is_(None),
                Loan.delinquency_as_of < to,
                Loan.penalty_through.is_(None),
                Loan.penalty_through < day,
                Loan.provision_as_of.is_(None),
                Loan.provision_as_of < to,
            ),
        ),
        and_(
            Loan.provision != 0,
            or_(Loan.provision_as_of.is_(None), Loan.provision_as_of < to),
        ),
    )


def close_batch(session: Session, loans: list[LoanRow], on: Day, actor: Actor = ACTOR) -> BatchBook:
    """Apply the day to a batch of locked loans and book it."""
    load_installments(session, loans, on.next, on.day)
    book = BatchBook()
    for loan in loans:
        close_loan(loan, product_of(session, loan), on, book)
    write_batch(
        session,
        loans,
        book,
        business_date=calendar.business_date(session),
        day=on.day,
        actor=actor,
    )
    return book


@runner.step(
    "loans.close",
    position=10,
    description=(
        "Every loan's day: interest accrual and fees due; days past due, buckets, "
        "classification, active <-> overdue; penalty interest; loan-loss provisions"
    ),
)
def close_loans(ctx: runner.StepContext) -> None:
    """Walk the pending loans in key order, a batch at a time, each batch closed in its own
    transaction. On PostgreSQL batches overlap: ``WORKERS`` threads (one batch's computing
    overlaps another's round trips), or, for a large portfolio, worker processes
    (``parallel.py``). Batches are disjoint: no two transactions ever wait for the same loan."""
    condition = pending(Day(ctx.business_date))
    with unit_of_work(ctx.factory) as session:
        postgres = db.is_postgres(session)
    batches = _batches(ctx, condition)
    if not postgres:  # SQLite has one writer: one batch at a time
        for ids in batches:
            ctx.committed(close_ids(ctx.factory, ids, ctx.business_date))
        return
    ahead: list[list[uuid.UUID]] = []
    for ids in batches:  # look ahead: is the portfolio large enough for worker processes?
        ahead.append(ids)
        if sum(map(len, ahead)) >= parallel.PARALLEL_FROM:
            break
    everything = itertools.chain(ahead, batches)
    if sum(map(len, ahead)) >= parallel.PARALLEL_FROM:
        with parallel.pool(parallel.database_url(ctx.factory)) as workers:
            _overlap(ctx, everything, workers, parallel.close_ids, 2 * parallel.WORKERS)
    else:
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="cob") as threads:
            _overlap(ctx, everything, threads, partial(close_ids, ctx.factory), WORKERS)


def _overlap(
    ctx: runner.StepContext,
    batches: Iterator[list[uuid.UUID]],
    executor: Executor,
    work: Callable[[list[uuid.UUID], dt.date], int],
    depth: int,
) -> None:
    """Keep ``depth`` batches in flight; count each as it commits, in order."""
    in_flight: deque[Future[int]] = deque()
    try:
        for ids in batches:
            in_flight.append(executor.submit(work, ids, ctx.business_date))
            while len(in_flight) >= depth:
                ctx.committed(in_flight.popleft().result())
        while in_flight:
            ctx.committed(in_flight.popleft().result())
    finally:
        for future in in_flight:  # a batch failed: drop what has not started
            future.cancel()


def _batches(ctx: runner.StepContext, condition: ColumnElement[bool]) -> Iterator[list[uuid.UUID]]:
    """The pending loans' ids in key order, ``ctx.batch_size`` at a time (read as it goes)."""
    after: uuid.UUID | None = None
    while True:
        ids = _next_ids(ctx, condition, after)
        if not ids:
            return
        yield ids
        after = ids[-1]


def _next_ids(
    ctx: runner.StepContext, condition: ColumnElement[bool], after: uuid.UUID | None
) -> list[uuid.UUID]:
    with unit_of_work(ctx.factory) as session:
        stmt = select(Loan.id).where(condition).order_by(Loan.id).limit(ctx.batch_size)
        if after is not None:
            stmt = stmt.where(Loan.id > after)
        return list(session.scalars(stmt))


def close_ids(factory: sessionmaker[Session], ids: list[uuid.UUID], day: dt.date) -> int:
    """Close for business day ``day`` the loans among ``ids`` still pending, in one
    transaction; returns how many."""
    on = Day(day)
    with unit_of_work(factory) as session:
        if db.is_postgres(session):
            # JIT compiling pays off for long analytical queries, not for a batch's short
            # statements, whose cost estimates can still cross its threshold.
            session.execute(text("SET LOCAL jit = off"))
        loans = lock_batch(session, and_(pending(on), db.uuid_in(session, Loan.id, ids)))
        close_batch(session, loans, on)
    return len(loans)
