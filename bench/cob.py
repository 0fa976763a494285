"""The daily close of business on a portfolio of loans: loans closed per second, and whether a
loan's cost grows with its age.

The script creates its own PostgreSQL database (or SQLite file with ``--sqlite``), makes
``--loans`` loans through the real services (products, loans, payments: every loan is
disbursed by a payment order through an in-process channel that answers "succeeded" at
once, and activated by the loans' event subscriber), then times ``run_cob`` for one day,
for ``--days`` more days, and for one day again: the first and last figures compare a new
portfolio with the same one ``--days`` days older.

    .venv/bin/python bench/cob.py                     # 10,000 loans on PostgreSQL
    .venv/bin/python bench/cob.py --loans 2000 --sqlite
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import secrets
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import column, insert, select, table, text

import benchlib
from lendbridge.identity import kyc
from lendbridge.identity.models import UserKind
from lendbridge.identity.registration import new_customer
from lendbridge.identity.users import seed_catalog
from lendbridge.identity.verification import DevelopmentVerifier
from lendbridge.kit import calendar, crypto, jobs
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.kit.crypto import Keyring
from lendbridge.kit.db import make_engine, make_session_factory, unit_of_work
from lendbridge.kit.ids import new_id
from lendbridge.kit.logging import configure_logging
from lendbridge.kit.migrate import upgrade
from lendbridge.ledger.chart import load_chart
from lendbridge.payments import (
    channel_config,
    submission,  # noqa: F401  (registers the sending jobs)
)
from lendbridge.payments import runtime as payments_runtime
from lendbridge.payments.channel_config import DEFAULT_ERROR_CLASSES
from lendbridge.payments.channels.base import (
    ChannelAnswer,
    ChannelRequest,
    ErrorClass,
    Outcome,
)
from lendbridge.payments.channels.registry import Adapters
from lendbridge.payments.schemas import ChannelIn
from lendbridge.products.demo import load_products_demo
from lendbridge.servicing import disbursement, loans
from lendbridge.servicing import subscribers as loan_subscribers  # noqa: F401
from lendbridge.servicing.cob import runner, steps  # noqa: F401  (registers the steps)
from lendbridge.servicing.loan_schemas import DisburseIn, LoanIn
from lendbridge.servicing.models import Loan, LoanInstallment

ACTOR = system_actor("bench")
PRODUCT = "CONSUMER-EI"


class InstantChannel:
    """A channel that executes every order at once: the bench measures the close, not the
    bank."""

    name = "sim"

    def submit(self, request: ChannelRequest) -> ChannelAnswer:
        return ChannelAnswer(request.order_no, Outcome.SUCCEEDED, channel_ref=request.order_no)

    def query(self, order_no: str) -> ChannelAnswer:
        return ChannelAnswer(order_no, Outcome.SUCCEEDED, channel_ref=order_no)

    def parse_callback(self, headers: Any, body: bytes, now: dt.datetime) -> ChannelAnswer:
        raise NotImplementedError

    def fetch_statement(self, day: dt.date) -> Iterator[bytes]:
        yield b""

    def classify(self, error_code: str) -> ErrorClass:
        return DEFAULT_ERROR_CLASSES.get(error_code, ErrorClass.RETRYABLE)


def borrower(session: Any) -> uuid.UUID:
    user = new_customer(
        session, phone="13900000001", password="a long enough secret", kind=UserKind.BORROWER
    )
    actor = Actor(user_id=str(user.id), roles=("borrower",))
    verifier = DevelopmentVerifier()
    kyc.verify_identity(session, verifier, actor, name="张伟", resident_id="110105199003071239")
    kyc.bind_card(
        session,
        verifier,
        actor,
        card_number="6222020200012345670",
        reserved_mobile="13800000001",
        step_up_code=None,
    )
    session.flush()
    return user.id


def make_portfolio(factory: Any, count: int, batch: int) -> float:
    with unit_of_work(factory) as session:
        load_chart(session)
        seed_catalog(session)
        load_products_demo(session)
        channel_config.save_channel(
            session,
            ChannelIn(
                name="sim",
                display_name="Instant channel",
                base_url="http://127.0.0.1:9",
                merchant_id="M0001",
                secret_env="LENDBRIDGE_BENCH_SECRET",
                clearing_account="3001.001",
                settlement_account="1002.001",
                fee_account="6421.001",
                per_order_limit=10**9,
                daily_limit=10**15,
                timeout_seconds=10,
                # Orders made after the cut-off wait for the next day (00:00 in the
                # platform's time zone): the latest cut-off keeps a run at 23:30 from stalling.
                cutoff="23:59",
            ),
            ACTOR,
        )
        customer = borrower(session)
    start = time.perf_counter()
    for first in range(0, count, batch):
        with unit_of_work(factory) as session:
            for i in range(first, min(first + batch, count)):
                out, _ = loans.create_loan(
                    session,
                    LoanIn(
                        customer_id=customer,
                        product_code=PRODUCT,
                        amount=10_000_00 + (i % 50) * 100_00,
                        term=12,
                    ),
                    idempotency_key=f"bench-loan-{i}",
                    actor=ACTOR,
                )
                disbursement.disburse(
                    session,
                    out.id,
                    DisburseIn(channel="sim"),
                    idempotency_key=f"bench-disburse-{i}",
                    actor=ACTOR,
                )
        jobs.drain(factory)
        print(f"  {min(first + batch, count)} loans disbursed", flush=True)
    return time.perf_counter() - start


def clone_portfolio(engine: Any, total: int) -> float:
    """Copy the loans made through the services (rows of ``loan`` and ``loan_installment``,
    new time-ordered ids, in id order) until there are ``total``: making a million loans
    through the services would take hours, and the close reads only these two tables. The
    copies have no transactions or ledger entries of their own, so the sub-ledger check is
    not run on a cloned portfolio (the close's bookings still go through the real ledger)."""
    start = time.perf_counter()
    loan_t, inst_t = Loan.__table__, LoanInstallment.__table__
    with engine.begin() as conn:
        sources = [row[0] for row in conn.execute(select(loan_t.c.id).order_by(loan_t.c.id))]
    copies = total // len(sources) - 1
    pending = [(src, n) for n in range(1, copies + 1) for src in sources]
    pending += [(src, copies + 1) for src in sources[: total - len(sources) * (copies + 1)]]
    chunk = 50_000
    for first in range(0, len(pending), chunk):
        part = pending[first : first + chunk]
        with engine.begin() as conn:
            conn.execute(text("CREATE TEMP TABLE clone_map (src CHAR(36), dst CHAR(36), n INT)"))
            temp = table("clone_map", column("src"), column("dst"), column("n"))
            conn.execute(
                insert(temp),
                [
                    {"src": _uuid_text(engine, s), "dst": _uuid_text(engine, new_id()), "n": n}
                    for s, n in part
                ],
            )
            _copy_rows(
                conn,
                loan_t,
                "id",
                {
                    "id": "m.dst",
                    "idempotency_key": "t.idempotency_key || '/c' || CAST(m.n AS VARCHAR)",
                },
            )
            _copy_rows(conn, inst_t, "loan_id", {"loan_id": "m.dst"})
            conn.execute(text("DROP TABLE clone_map"))
        print(f"  {len(sources) + first + len(part)} loans", flush=True)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE loan"))
            conn.execute(text("ANALYZE loan_installment"))
    return time.perf_counter() - start


def _uuid_text(engine: Any, value: uuid.UUID) -> str:
    return str(value) if engine.dialect.name == "postgresql" else value.hex


def _copy_rows(conn: Any, source: Any, key: str, replace: dict[str, str]) -> None:
    names = [c.name for c in source.columns]
    pg = conn.dialect.name == "postgresql"
    cast = "CAST(m.dst AS UUID)" if pg else "m.dst"
    picks = ", ".join(
        (replace[n].replace("m.dst", cast) if n in replace else f"t.{n}") for n in names
    )
    src = "CAST(m.src AS UUID)" if pg else "m.src"
    conn.execute(
        text(
            f"INSERT INTO {source.name} ({', '.join(names)}) SELECT {picks} "
            f"FROM {source.name} t JOIN clone_map m ON t.{key} = {src} ORDER BY m.dst"
        )
    )


class PeakRss(threading.Thread):
    """The highest resident memory of this process and its children (the close's worker
    processes) together, sampled every 200 ms (the list of children every second: finding
    them scans every process of the machine)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        me = psutil.Process()
        family = [me]
        ticks = 0
        while not self.done.wait(0.2):
            if ticks % 5 == 0:
                family = [me, *me.children(recursive=True)]
            ticks += 1
            total = 0
            for proc in family:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total / 1024 / 1024)


def close(factory: Any, days: int, batch_size: int) -> tuple[float, dict[str, int]]:
    """Seconds to close ``days`` days, and the last day's milliseconds per step."""
    with unit_of_work(factory) as session:
        today = calendar.business_date(session)
    plan = runner.registered_steps()  # accrual and delinquency
    start = time.perf_counter()
    reports = runner.run_cob(
        factory, today + dt.timedelta(days=days), steps=plan, batch_size=batch_size
    )
    return time.perf_counter() - start, {name: ms for name, _, ms in reports[-1].steps}


def run(count: int, real: int, days: int, batch_size: int, sqlite: bool) -> dict[str, Any]:
    configure_logging("WARNING")
    crypto.configure(Keyring.generate())
    payments_runtime.configure(
        payments_runtime.PaymentsRuntime(adapters=Adapters(overrides={"sim": InstantChannel()}))
    )
    with tempfile.TemporaryDirectory() as tmp:
        context = (
            _sqlite(Path(tmp)) if sqlite else benchlib.ledger_database(f"cob{secrets.token_hex(2)}")
        )
        with context as url:
            engine = make_engine(url, pool_size=4)
            if sqlite:
                upgrade(engine)
                with unit_of_work(make_session_factory(engine)) as session:
                    calendar.set_business_date(session, dt.date(2026, 1, 15))
            factory = make_session_factory(engine)
            rss = PeakRss()
            setup = make_portfolio(factory, min(real, count), 500)
            if count > real:
                setup += clone_portfolio(engine, count)
            rss.start()
            first, first_steps = close(factory, 1, batch_size)
            aged, _ = close(factory, days, batch_size)
            last, last_steps = close(factory, 1, batch_size)
            rss.done.set()
            rss.join()
            peak = rss.peak
            engine.dispose()
    return {
        "loans": count,
        "database": "SQLite" if sqlite else "PostgreSQL",
        "setup_seconds": round(setup, 1),
        "first_day_seconds": round(first, 2),
        "first_day_loans_per_s": round(count / first, 1),
        "first_day_step_ms": first_steps,
        "aging_days": days,
        "aging_seconds": round(aged, 1),
        "day_after_aging_seconds": round(last, 2),
        "day_after_aging_loans_per_s": round(count / last, 1),
        "day_after_aging_step_ms": last_steps,
        "age_cost_ratio": round(last / first, 2),
        "peak_rss_mib": round(peak, 1),
    }


class _sqlite:  # noqa: N801  (a context manager used like benchlib.ledger_database)
    def __init__(self, folder: Path) -> None:
        self.url = f"sqlite:///{folder / 'cob.db'}"

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc: object) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--loans", type=int, default=10_000)
    # 45 days: the last measured day falls between due dates (no loan changes status on it),
    # so it compares like with like; the loans are 47 days old and overdue by then.
    parser.add_argument(
        "--real",
        type=int,
        default=2_000,
        help="loans made through the services; the rest are copies of them (clone_portfolio)",
    )
    parser.add_argument("--days", type=int, default=45, help="days to age the portfolio")
    parser.add_argument("--batch-size", type=int, default=runner.BATCH_SIZE)
    parser.add_argument("--sqlite", action="store_true", help="an SQLite file instead")
    parser.add_argument("--quick", action="store_true", help="1,000 loans, 5 days")
    args = parser.parse_args()
    if args.quick:
        args.loans, args.days = 1_000, 5
    info = benchlib.print_machine()
    result = run(args.loans, args.real, args.days, args.batch_size, args.sqlite)
    target = 1_000_000 / 120 if not args.sqlite else 100_000 / 60
    print(
        f"{result['loans']} loans on {result['database']}: set up in {result['setup_seconds']} s; "
        f"one day closed in {result['first_day_seconds']} s = "
        f"{result['first_day_loans_per_s']} loans/s (target {target:,.0f}/s: "
        f"{benchlib.verdict(result['first_day_loans_per_s'] >= target)}); "
        f"after {result['aging_days']} more days, one day in "
        f"{result['day_after_aging_seconds']} s = {result['day_after_aging_loans_per_s']} loans/s "
        f"(ratio {result['age_cost_ratio']}); peak RSS of the close (its workers included) "
        f"{result['peak_rss_mib']} MiB"
    )
    print(
        f"ms per step: first day {result['first_day_step_ms']}, "
        f"after aging {result['day_after_aging_step_ms']}"
    )
    benchlib.save("cob", {"machine": info, "result": result, "command": benchlib.command_line()})


if __name__ == "__main__":
    main()
