"""The close of business killed (SIGKILL) in the middle of a day on PostgreSQL, with its two
workers, and run again: the rerun finishes the day with every loan booked exactly once.

The test holds a row lock on one loan so that the close (``lendbridge cob run`` in its own
process) stalls on that loan's batch after committing others around it, kills the process
there, lets the lease expire as it would after a crash, and closes the day again."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from lendbridge.servicing.cob import parallel, runner, steps  # noqa: F401  (registers the steps)
from lendbridge.servicing.cob.models import CobLease, CobRun
from lendbridge.servicing.models import Loan, LoanTransaction, TransactionKind
from tests.servicing.conftest import Book

pytestmark = pytest.mark.postgres_only

LOANS = 12
BATCH = 2


@pytest.fixture(autouse=True)
def _postgres(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a killed or multi-process close needs PostgreSQL (row locks, workers)")


def start_close(engine: Engine, to_date: dt.date, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["LENDBRIDGE_DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    env["LENDBRIDGE_LOG_LEVEL"] = "WARNING"
    code = "from lendbridge.cli import main; main()"
    command = ["cob", "run", "--to-date", to_date.isoformat(), "--batch-size", str(BATCH)]
    return subprocess.Popen(
        [sys.executable, "-c", code, *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def closed(engine: Engine, to: dt.date) -> int:
    with engine.connect() as conn:
        stmt = select(func.count()).select_from(Loan).where(Loan.interest_accrued_to == to)
        return int(conn.scalar(stmt) or 0)


def test_a_close_killed_mid_day_reruns_to_every_loan_booked_once(
    book: Book, engine: Engine, tmp_path: Path
) -> None:
    borrower = book.customer()
    made = [book.create(borrower, 12_000_00, 12) for _ in range(LOANS)]
    for loan in made:
        book.disburse(loan.id)
    day = book.today()
    to = day + dt.timedelta(days=1)
    ids = sorted(loan.id for loan in made)
    stalled = ids[5]  # in the third batch of two

    log = tmp_path / "cob.log"
    with engine.connect() as blocker:
        blocker.begin()
        blocker.execute(select(Loan.id).where(Loan.id == stalled).with_for_update())
        process = start_close(engine, to, log)
        try:
            deadline = time.monotonic() + 120
            # Batches before and after the stalled one commit (two workers), then it waits.
            while closed(engine, to) < 6:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the close made no progress"
                time.sleep(0.2)
            time.sleep(0.5)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        blocker.rollback()

    reached = closed(engine, to)
    assert 6 <= reached < LOANS
    assert book.loan(stalled).interest_accrued_to == day  # its batch never committed
    book.check()  # what did commit is whole: the sub-ledger equals the ledger
    with engine.begin() as conn:  # the dead process's lease expires, as after a crash
        conn.execute(update(CobLease).values(expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))

    runner.run_cob(book.factory, to, batch_size=BATCH)

    assert closed(engine, to) == LOANS
    assert book.today() == to
    with engine.connect() as conn:
        assert conn.scalar(select(CobRun.attempts).where(CobRun.business_date == day)) == 2
        kinds = Counter(
            (loan_id, kind)
            for loan_id, kind in conn.execute(
                select(LoanTransaction.loan_id, LoanTransaction.kind).where(
                    LoanTransaction.business_date == day,
                    LoanTransaction.kind.in_(
                        [TransactionKind.ACCRUAL.value, TransactionKind.PROVISION.value]
                    ),
                )
            )
        )
    for loan_id in ids:  # exactly once each: one day's interest, one first provision
        assert kinds[(loan_id, TransactionKind.ACCRUAL.value)] == 1
        assert kinds[(loan_id, TransactionKind.PROVISION.value)] == 1
    book.check()


def test_a_large_portfolio_is_closed_by_worker_processes_each_loan_once(
    book: Book, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The threshold lowered so that twelve loans count as a large portfolio: the batches go
    # to spawned worker processes with their own connections.
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 4)
    borrower = book.customer()
    made = [book.create(borrower, 12_000_00, 12) for _ in range(LOANS)]
    for loan in made:
        book.disburse(loan.id)
    day = book.today()
    to = day + dt.timedelta(days=2)

    reports = runner.run_cob(book.factory, to, batch_size=BATCH)

    assert [r.steps[0][1].items for r in reports] == [LOANS, LOANS]
    with engine.connect() as conn:
        per_loan = Counter(
            conn.execute(
                select(LoanTransaction.loan_id).where(
                    LoanTransaction.kind == TransactionKind.ACCRUAL.value
                )
            ).scalars()
        )
    assert sorted(per_loan.values()) == [2] * LOANS  # two days, once each
    assert closed(engine, to) == LOANS
    book.check()
