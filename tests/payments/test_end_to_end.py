"""End to end over loopback: the API, the job runner of each mode (threads in the server,
Dramatiq on RabbitMQ, Dramatiq on Redis), the simulated gateway with faults, and its
callbacks. At the end every order is final or with staff, none was executed twice at the
channel, and the ledger matches the orders."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from lendbridge.payments.gateway.faults import Action, FinalError
from lendbridge.payments.gateway.server import RunningGateway
from tests.payments.e2e import Platform, serve_platform

pytest_plugins = ["tests.payments.gateway_fixtures"]

RABBITMQ = os.environ.get("LENDBRIDGE_TEST_RABBITMQ_URL")
REDIS = os.environ.get("LENDBRIDGE_TEST_REDIS_URL")
TIMED_OUT_PARTY = "6222020000000001"


@pytest.fixture
def platform(engine: Engine, sim_gateway: RunningGateway) -> Iterator[Platform]:
    yield from serve_platform(engine, sim_gateway)


def run_mixed_faults(platform: Platform, gateway: RunningGateway, count: int) -> list[str]:
    gateway.set_faults(
        async_rate=0.3,
        async_delay_ms=(10, 300),
        failure_rates={FinalError.INSUFFICIENT_FUNDS: 0.1, FinalError.CARD_FROZEN: 0.05},
        system_busy_rate=0.15,
        timeout_rate=0.08,
        timeout_delay_ms=2_500,
        lost_rate=0.05,
        reversal_rate=0.05,
        callback_duplicate_rate=0.3,
        callback_stale_rate=0.2,
        callback_delay_ms=(0, 200),
        # One party whose every answer is lost after execution: the drawn faults are random
        # per order id, so at least this one status-query recovery always happens.
        by_account={TIMED_OUT_PARTY: Action.TIMEOUT},
    )
    ids = [platform.order(1_000 + i) for i in range(count)]
    ids.append(platform.order(999, party_account=TIMED_OUT_PARTY))
    ids += [platform.order(2_000 + i, kind="collection") for i in range(count // 4)]
    platform.wait_settled()
    return ids


def check_outcome(platform: Platform, gateway: RunningGateway, ids: list[str]) -> None:
    """The platform's view of every order comes to agree with the gateway's book (late
    reversals and callbacks included), and nothing was executed twice."""
    platform.wait_agreement(gateway)
    stats = gateway.stats()
    assert stats["duplicate_executions"] == {}
    assert all(gateway.executions(i) <= 1 for i in ids)
    # The faults really happened: retries, lost answers and lost requests were exercised.
    requests = stats["requests"]
    assert requests.get("system_busy", 0) + requests.get("lost", 0) > 0
    assert requests.get("timeout", 0) > 0
    platform.assert_consistent()


def test_threads_in_the_server(platform: Platform, sim_gateway: RunningGateway) -> None:
    ids = run_mixed_faults(platform, sim_gateway, 24)
    check_outcome(platform, sim_gateway, ids)


@pytest.mark.parametrize(
    "broker_url",
    [
        pytest.param(
            RABBITMQ,
            id="rabbitmq",
            marks=pytest.mark.skipif(
                not RABBITMQ, reason="LENDBRIDGE_TEST_RABBITMQ_URL is not set"
            ),
        ),
        pytest.param(
            REDIS,
            id="redis",
            marks=pytest.mark.skipif(not REDIS, reason="LENDBRIDGE_TEST_REDIS_URL is not set"),
        ),
    ],
)
def test_through_a_broker(pg_engine: Engine, sim_gateway: RunningGateway, broker_url: str) -> None:
    for platform in serve_platform(pg_engine, sim_gateway, broker_url=broker_url):
        ids = run_mixed_faults(platform, sim_gateway, 24)
        check_outcome(platform, sim_gateway, ids)
