"""The platform served over real HTTP next to the simulated gateway, for end-to-end tests:
orders go out through a job runner (threads or a broker), answers and callbacks come back
over loopback."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.kit.db import make_session_factory
from lendbridge.ledger import service as ledger
from lendbridge.ledger.chart import load_chart
from lendbridge.ledger.check import check_ledger
from lendbridge.ledger.models import AccountType, Side
from lendbridge.ledger.schemas import AccountIn, EntryIn, PostingIn
from lendbridge.payments import check, runtime
from lendbridge.payments.gateway.server import RunningGateway, running_app
from lendbridge.payments.models import OrderStatus, PaymentOrder
from tests.identity.factories import bearer
from tests.payments.conftest import channel_request

SECRET_ENV = "LENDBRIDGE_TEST_GATEWAY_SECRET"
INVESTOR = "2241.002.e2e"


@dataclass
class Platform:
    url: str
    http: httpx.Client
    engine: Engine

    def session(self) -> Session:
        return make_session_factory(self.engine)()

    def order(
        self,
        amount: int,
        kind: str = "payout",
        account: str = INVESTOR,
        party_account: str = "6222021234561234",
    ) -> str:
        body = {
            "kind": kind,
            "channel": "sim",
            "account": account,
            "amount": amount,
            "currency": "CNY",
            "party": {"account_number": party_account, "account_name": "王五"},
        }
        if kind == "collection":
            body["authorisation_ref"] = "mandate-e2e"
        response = self.http.post(
            "/v1/payments/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def unsettled(self) -> int:
        """Orders neither final nor waiting for staff."""
        with self.session() as session:
            return int(
                session.scalar(
                    select(func.count()).where(
                        PaymentOrder.status.in_(
                            [OrderStatus.CREATED.value, OrderStatus.SUBMITTED.value]
                        ),
                        PaymentOrder.manual.is_(False),
                    )
                )
                or 0
            )

    def wait_settled(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.unsettled():
            assert time.monotonic() < deadline, f"{self.unsettled()} orders still in flight"
            time.sleep(0.1)

    def disagreements(self, gateway: RunningGateway) -> list[str]:
        """Orders (not with staff) whose status differs from the gateway's book; an order the
        gateway never received must have failed."""
        found = []
        with self.session() as session:
            rows = session.execute(
                select(PaymentOrder.id, PaymentOrder.status, PaymentOrder.manual)
            ).all()
        for order_id, status, manual in rows:
            if manual:
                continue
            at_gateway = gateway.order(str(order_id))
            expected = at_gateway.status.value if at_gateway else OrderStatus.FAILED.value
            if status != expected:
                found.append(f"{order_id}: platform {status}, gateway {expected}")
        return found

    def wait_agreement(self, gateway: RunningGateway, timeout: float = 60.0) -> None:
        """Late reversals and callbacks arrive after the orders look final: wait for them."""
        deadline = time.monotonic() + timeout
        while found := self.disagreements(gateway):
            assert time.monotonic() < deadline, found[:10]
            time.sleep(0.2)

    def assert_consistent(self) -> None:
        with self.session() as session:
            assert check.consistency(session) == []
            report = check_ledger(session)
            assert report.ok, report


def prepare_books(engine: Engine, funds: int) -> None:
    with Session(engine) as session:
        load_chart(session)
        ledger.open_account(
            session,
            AccountIn(
                code=INVESTOR,
                name="E2E investor",
                type=AccountType.LIABILITY,
                currency="CNY",
                min_balance=0,
            ),
        )
        ledger.post_entry(
            session,
            EntryIn(
                postings=[
                    PostingIn(account="1002.001", side=Side.DEBIT, amount=funds, currency="CNY"),
                    PostingIn(account=INVESTOR, side=Side.CREDIT, amount=funds, currency="CNY"),
                ]
            ),
        )
        session.commit()


def serve_platform(
    engine: Engine,
    gateway: RunningGateway,
    *,
    broker_url: str | None = None,
    timeout_seconds: int = 1,
    funds: int = 10**10,
    before_start: Callable[[Settings], None] | None = None,
) -> Iterator[Platform]:
    os.environ[SECRET_ENV] = gateway.secret.decode()
    settings = Settings(
        database_url=str(engine.url),
        log_format="console",
        log_level="WARNING",
        run_jobs=broker_url is None,
        broker_url=broker_url,
        broker_queue=f"lb-test-{uuid.uuid4().hex[:8]}",
        job_threads=4,
    )
    if before_start is not None:
        before_start(settings)
    prepare_books(engine, funds)
    app = create_app(settings, engine=engine)
    with Session(engine) as session:
        headers = bearer(app, session, "integration", "finance")
    with running_app(app) as url:
        runtime.current().public_url = url
        consumer = None
        if broker_url is not None:
            consumer = app.state.jobs.broker.worker(4)
            consumer.start()
        try:
            with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
                channel = channel_request(
                    base_url=gateway.base_url,
                    merchant_id=gateway.merchant_id,
                    secret_env=SECRET_ENV,
                    timeout_seconds=timeout_seconds,
                    max_attempts=5,
                    per_order_limit=10**9,
                    daily_limit=10**12,
                ).model_dump(mode="json")
                assert http.put("/v1/payments/channels/sim", json=channel).status_code == 200
                yield Platform(url=url, http=http, engine=engine)
        finally:
            if consumer is not None:
                consumer.stop()
