"""The proof of issue 4's failure handling: two thousand orders through the simulated gateway
with timeouts, lost requests, duplicate, late and stale callbacks, reversals and bursts of
"system busy", sent by a worker process that is killed (SIGKILL) in the middle and then
restarted. At the end every order is final or in the manual queue, no order was executed
twice at the channel, the platform agrees with the gateway's book, the ledger balances, and
pending holds equal the orders in flight."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from lendbridge.kit.actor import system_actor
from lendbridge.kit.db import make_session_factory, unit_of_work
from lendbridge.payments import orders
from lendbridge.payments.gateway.faults import BusyBurst, FinalError
from lendbridge.payments.gateway.server import RunningGateway
from lendbridge.payments.models import (
    AttemptState,
    OrderKind,
    OrderStatus,
    PaymentAttempt,
    PaymentOrder,
)
from lendbridge.payments.recon import importer
from lendbridge.payments.recon.models import ReconBreak
from lendbridge.payments.schemas import OrderIn, PartyIn
from tests.conftest import TODAY
from tests.payments.e2e import INVESTOR, SECRET_ENV, Platform, serve_platform

pytest_plugins = ["tests.payments.gateway_fixtures"]

ORDERS = 2_000
ACTOR = system_actor("fault-injection")


@pytest.fixture
def platform(pg_engine: Engine, sim_gateway: RunningGateway) -> Iterator[Platform]:
    """The platform's HTTP side (callbacks) in this process, with no job runner: jobs run
    only in the worker processes this test starts and kills."""
    sim_gateway.set_trade_date(TODAY)  # the bank's trade date is the platform's business date

    def no_jobs(settings: object) -> None:
        settings.run_jobs = False  # type: ignore[attr-defined]

    yield from serve_platform(pg_engine, sim_gateway, before_start=no_jobs)


def start_worker(platform: Platform, gateway: RunningGateway, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "LENDBRIDGE_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
            "LENDBRIDGE_PUBLIC_URL": platform.url,
            "LENDBRIDGE_JOB_LEASE_SECONDS": "3",
            "LENDBRIDGE_LOG_LEVEL": "WARNING",
            "LENDBRIDGE_RUN_JOBS": "true",
            SECRET_ENV: gateway.secret.decode(),
        }
    )
    env.pop("LENDBRIDGE_BROKER_URL", None)
    code = "from lendbridge.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "worker", "--threads", "6"],
        env=env,
        stdout=subprocess.DEVNULL,
        # A file, not a pipe: a pipe nobody reads would block a worker that logs a lot.
        stderr=log.open("ab"),
    )


def create_orders(platform: Platform) -> list[str]:
    factory = make_session_factory(platform.engine)
    ids: list[str] = []
    for start in range(0, ORDERS, 250):
        with unit_of_work(factory) as session:
            for i in range(start, min(start + 250, ORDERS)):
                kind = OrderKind.COLLECTION if i % 5 == 0 else OrderKind.PAYOUT
                out, _ = orders.create_order(
                    session,
                    OrderIn(
                        kind=kind,
                        channel="sim",
                        account=INVESTOR,
                        amount=100 + i,
                        currency="CNY",
                        party=PartyIn(account_number="6222021234561234", account_name="赵六"),
                        authorisation_ref="mandate-fi" if kind == OrderKind.COLLECTION else None,
                    ),
                    idempotency_key=f"fi-{i}",
                    actor=ACTOR,
                )
                ids.append(str(out.id))
    return ids


def count(platform: Platform, *where: object) -> int:
    with Session(platform.engine) as session:
        return int(session.scalar(select(func.count()).where(*where)) or 0)  # type: ignore[arg-type]


def test_thousands_of_orders_survive_faults_and_a_killed_worker(
    platform: Platform, sim_gateway: RunningGateway, tmp_path: Path
) -> None:
    sim_gateway.set_faults(
        latency_ms=5,
        jitter_ms=20,
        async_rate=0.3,
        async_delay_ms=(10, 500),
        failure_rates={FinalError.INSUFFICIENT_FUNDS: 0.05, FinalError.ACCOUNT_CLOSED: 0.02},
        system_busy_rate=0.05,
        busy_burst=BusyBurst(every_ms=3_000, length_ms=300, rate=0.9),
        timeout_rate=0.03,
        timeout_delay_ms=2_500,
        lost_rate=0.02,
        reversal_rate=0.02,
        callback_delay_ms=(0, 800),
        callback_duplicate_rate=0.2,
        callback_stale_rate=0.1,
        callback_reversal_first_rate=0.3,
    )
    ids = create_orders(platform)
    log = tmp_path / "worker.log"
    worker = start_worker(platform, sim_gateway, log)
    try:
        deadline = time.monotonic() + 120
        while count(platform, PaymentOrder.status != OrderStatus.CREATED.value) < ORDERS // 3:
            assert worker.poll() is None, log.read_text()[-5000:]
            assert time.monotonic() < deadline, "the worker made no progress"
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        in_flight = count(
            platform,
            PaymentAttempt.state == AttemptState.SENDING.value,
            PaymentAttempt.operation == "submit",
        )
        assert in_flight > 0, "the kill should catch sends without an answer"
        worker = start_worker(platform, sim_gateway, log)
        platform.wait_settled(timeout=600)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
    stats = sim_gateway.stats()
    assert stats["duplicate_executions"] == {}
    assert stats["requests"].get("timeout", 0) > 0
    assert stats["requests"].get("system_busy", 0) > 0
    platform.wait_agreement(sim_gateway)
    with Session(platform.engine) as session:
        manual = int(session.scalar(select(func.count()).where(PaymentOrder.manual)) or 0)
        for order_id in session.scalars(select(PaymentOrder.id)):
            assert sim_gateway.executions(str(order_id)) <= 1
    assert manual < ORDERS // 20
    assert len(ids) == ORDERS
    platform.assert_consistent()
    # Reconciliation against the bank's own statement: the only breaks are orders the bank
    # executed that wait in the manual queue (staff resolve them), none unexplained.
    statement = tmp_path / "statement.csv"
    sim_gateway.write_statement(statement, TODAY)
    with platform.session() as session:
        run, _ = importer.import_statement(
            session, "sim", io.BytesIO(statement.read_bytes()), actor=ACTOR
        )
        session.commit()
        queued = {
            str(i) for i in session.scalars(select(PaymentOrder.id).where(PaymentOrder.manual))
        }
        unexplained = [
            b
            for b in session.scalars(select(ReconBreak).where(ReconBreak.run_id == run.id))
            if str(b.order_id) not in queued
        ]
    assert run.bad_lines == 0
    assert run.matched_lines > ORDERS // 2
    assert unexplained == []
