"""The loans demo's money path: the simulated bank on a free loopback port for the duration
of the load, and the payment orders of the demo's loans sent and settled through it.

The demo channel ``simbank`` normally reaches the gateway that ``serve --gateway`` runs on
port 8900, which is not running while ``init`` runs (and may be taken). The load therefore
starts a gateway of its own (same code, its own merchant secret, no faults) and points the
channel's adapter at it through the payments runtime, for the load only. The orders then go
through the real path: payment order, hold, signed HTTP request, answer, booking, event,
and the loans subscriber that activates the loan or applies the repayment.

Only the demo's own orders are sent (``submission.submit`` by id), and only the loans jobs
are run: the payments demo's orders stay queued for the server, as that demo intends.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.kit import jobs
from lendbridge.kit.db import unit_of_work
from lendbridge.kit.outbox import OutboxMessage
from lendbridge.payments import runtime, submission
from lendbridge.payments.channels.registry import Adapters
from lendbridge.payments.channels.simulated import SimulatedGatewayAdapter
from lendbridge.payments.demo import CHANNEL, MERCHANT
from lendbridge.payments.gateway.config import GatewayConfig
from lendbridge.payments.gateway.faults import FaultConfig
from lendbridge.payments.gateway.server import running_gateway
from lendbridge.payments.models import OrderStatus
from lendbridge.servicing import subscribers

QUERY_ROUNDS = 20
# Callbacks are never needed (the gateway answers each order at once) and no platform server
# listens during init: hold them past the end of the load.
NO_CALLBACKS = FaultConfig(callback_delay_ms=(3_600_000, 3_600_000))
LOAN_JOBS = jobs.PREFIX + subscribers.JOB


@contextlib.contextmanager
def demo_bank(timezone: str) -> Iterator[None]:
    """Run the simulated bank and route the demo channel to it while the block runs."""
    secret = secrets.token_hex(32).encode()
    previous = runtime._runtime
    with running_gateway(GatewayConfig({MERCHANT: secret}, seed=1), NO_CALLBACKS) as gateway:
        adapter = SimulatedGatewayAdapter(CHANNEL, gateway.base_url, MERCHANT, secret)
        runtime.configure(
            runtime.PaymentsRuntime(
                adapters=Adapters(overrides={CHANNEL: adapter}),
                public_url=gateway.base_url,  # nobody listens for callbacks at the default
                timezone=timezone,
            )
        )
        try:
            yield
        finally:
            runtime._runtime = previous


def settle(factory: sessionmaker[Session], order_id: uuid.UUID) -> OrderStatus:
    """Send one order, follow it up until the bank's answer is final, then let the loans
    subscriber apply it. Raises if the order does not succeed: the demo expects every one to."""
    status = submission.submit(factory, order_id)
    for _ in range(QUERY_ROUNDS):
        if status not in (OrderStatus.CREATED, OrderStatus.SUBMITTED):
            break
        status = submission.query(factory, order_id)
    if status != OrderStatus.SUCCEEDED:
        raise RuntimeError(f"demo payment order {order_id} ended {status}")
    run_loan_jobs(factory)
    return status


def run_loan_jobs(factory: sessionmaker[Session]) -> int:
    """Run the loans subscriber's queued jobs (only those); raise if one fails."""
    with unit_of_work(factory) as session:
        ids = list(
            session.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.topic == LOAN_JOBS, OutboxMessage.processed_at.is_(None))
                .order_by(OutboxMessage.id)
            )
        )
    for message_id in ids:
        jobs.run_one(factory, message_id)
    with unit_of_work(factory) as session:
        stuck = list(
            session.execute(
                select(OutboxMessage.id, OutboxMessage.last_error).where(
                    OutboxMessage.id.in_(ids), OutboxMessage.processed_at.is_(None)
                )
            )
        )
    if stuck:
        raise RuntimeError(f"a loans job of the demo did not run: {stuck[0].last_error}")
    return len(ids)
