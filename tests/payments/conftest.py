"""Payments test fixtures: the standard chart, a channel named ``sim`` on a scripted fake,
and a funded investor account."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.kit import crypto
from lendbridge.kit.actor import system_actor
from lendbridge.kit.crypto import Keyring
from lendbridge.kit.db import unit_of_work
from lendbridge.ledger import service as ledger
from lendbridge.ledger.chart import load_chart
from lendbridge.ledger.models import AccountType, Side
from lendbridge.ledger.schemas import AccountIn, EntryIn, PostingIn
from lendbridge.payments import channel_config, runtime
from lendbridge.payments.channels.registry import Adapters
from lendbridge.payments.schemas import ChannelIn
from tests.conftest import FakeClock
from tests.payments.fakes import FakeChannel

ACTOR = system_actor("tests")
INVESTOR = "2241.002.inv1"
CUSTOMER = "2241.001.c1"


def channel_request(**changes: object) -> ChannelIn:
    values: dict[str, object] = {
        "name": "sim",
        "display_name": "Simulated bank",
        "adapter": "simulated",
        "base_url": "http://127.0.0.1:9",
        "merchant_id": "M001",
        "secret_env": "LENDBRIDGE_TEST_SIM_SECRET",
        "clearing_account": "3001.001",
        "settlement_account": "1002.001",
        "fee_account": "6421.001",
        "per_order_limit": 5_000_000,
        "daily_limit": 100_000_000,
        "fee_fixed": 100,
        "fee_bps": 10,
        "max_attempts": 3,
        "timeout_seconds": 5,
    }
    values.update(changes)
    return ChannelIn.model_validate(values)


@dataclass
class Payments:
    factory: sessionmaker[Session]
    fake: FakeChannel
    clock: FakeClock


@pytest.fixture
def payments(session_factory: sessionmaker[Session], time: FakeClock) -> Iterator[Payments]:
    fake = FakeChannel()
    previous = runtime._runtime
    previous_keys = crypto.configure(Keyring.from_env(os.environ["LENDBRIDGE_MASTER_KEYS"]))
    runtime.configure(runtime.PaymentsRuntime(adapters=Adapters(overrides={"sim": fake})))
    with unit_of_work(session_factory) as session:
        load_chart(session)
        for code, name in ((INVESTOR, "Investor 1"), (CUSTOMER, "Customer 1")):
            ledger.open_account(
                session,
                AccountIn(
                    code=code, name=name, type=AccountType.LIABILITY, currency="CNY", min_balance=0
                ),
            )
        ledger.post_entry(
            session,
            EntryIn(
                postings=[
                    PostingIn(
                        account="1002.001", side=Side.DEBIT, amount=1_000_000, currency="CNY"
                    ),
                    PostingIn(account=INVESTOR, side=Side.CREDIT, amount=1_000_000, currency="CNY"),
                ]
            ),
        )
        channel_config.save_channel(session, channel_request(), ACTOR)
    yield Payments(factory=session_factory, fake=fake, clock=time)
    runtime._runtime = previous
    crypto.configure(previous_keys)
