"""Fixtures for tests that talk to the simulated gateway over real HTTP on loopback.

Use them from a test module with ``pytest_plugins = ["tests.payments.gateway_fixtures"]``
(or import them into a conftest.py):

- ``gateway_server`` (session): the gateway, started once per test process on a free port,
  merchants :data:`MERCHANT` and :data:`OTHER_MERCHANT`, seed :data:`SEED`, fees
  :data:`FEES`;
- ``sim_gateway``: the same gateway, reset for this test (empty book, no faults, the seed,
  fees and trade date of the start) — a
  :class:`~lendbridge.payments.gateway.server.RunningGateway`: ``.base_url``,
  ``.set_faults(async_rate=1.0)``, ``.stats()``, ``.executions(order_no)``, ...;
- ``sim_adapter``: a :class:`SimulatedGatewayAdapter` on it;
- ``signed_client``: raw signed protocol requests (:class:`SignedClient`);
- ``callback_receiver``: a callback endpoint (``.url``) that records what it is sent.

Helpers (``wait_until``, ``sample_order``, ...) are in
:mod:`lendbridge.payments.gateway.testkit`.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from lendbridge.payments.channels.simulated import SimulatedGatewayAdapter
from lendbridge.payments.gateway.config import FeeSchedule, GatewayConfig
from lendbridge.payments.gateway.server import RunningGateway, running_app, running_gateway
from lendbridge.payments.gateway.testkit import PATIENCE, CallbackReceiver, SignedClient

MERCHANT = "M0001"
SECRET = b"gateway-test-secret"
OTHER_MERCHANT = "M0002"
OTHER_SECRET = b"other-merchant-secret"
SEED = 20260115
FEES = FeeSchedule(fixed=50, bps=Decimal(10), maximum=1_000)  # 0.50 + 0.1 %, at most 10.00


@pytest.fixture(scope="session")
def gateway_server() -> Iterator[RunningGateway]:
    config = GatewayConfig(
        {MERCHANT: SECRET, OTHER_MERCHANT: OTHER_SECRET},
        seed=SEED,
        fees=FEES,
        callback_backoff=0.02,  # retries within a test's patience
        callback_timeout=PATIENCE,
    )
    with running_gateway(config) as running:
        yield running


@pytest.fixture
def sim_gateway(gateway_server: RunningGateway) -> RunningGateway:
    gateway_server.reset()
    return gateway_server


@pytest.fixture
def sim_adapter(sim_gateway: RunningGateway) -> Iterator[SimulatedGatewayAdapter]:
    with SimulatedGatewayAdapter(
        "sim", sim_gateway.base_url, MERCHANT, SECRET, timeout=PATIENCE
    ) as simulated:
        yield simulated


@pytest.fixture
def signed_client(sim_gateway: RunningGateway) -> Iterator[SignedClient]:
    signed = SignedClient(sim_gateway.base_url, MERCHANT, SECRET)
    yield signed
    signed.close()


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    with running_app(receiver.app()) as base_url:
        receiver.url = base_url + receiver.path
        yield receiver


@pytest.fixture
def callback_receiver(
    receiver_server: CallbackReceiver, sim_gateway: RunningGateway
) -> CallbackReceiver:
    receiver_server.reset()

    def current(data: dict[str, Any]) -> bool:
        transaction = sim_gateway.order(str(data.get("order_no")))
        return transaction is not None and transaction.channel_ref == data.get("channel_ref")

    receiver_server.current = current
    return receiver_server
