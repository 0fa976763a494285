"""The payments API: orders with idempotency keys, the manual queue, channels, callbacks and
settlement, with problem details that name the field."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from lendbridge.identity import live_sessions
from lendbridge.kit import jobs
from lendbridge.kit.db import make_session_factory
from lendbridge.ledger import service as ledger
from lendbridge.ledger.chart import load_chart
from lendbridge.ledger.models import AccountType
from lendbridge.ledger.schemas import AccountIn
from lendbridge.payments import runtime
from tests.payments.conftest import channel_request
from tests.payments.fakes import FakeChannel

V1 = "/v1/payments"


@pytest.fixture
def api(client: TestClient, engine: Engine) -> tuple[TestClient, FakeChannel]:
    fake = FakeChannel()
    runtime.current().adapters.override("sim", fake)
    with Session(engine) as session:
        load_chart(session)
        ledger.open_account(
            session,
            AccountIn(code="2241.001.c9", name="C9", type=AccountType.LIABILITY, currency="CNY"),
        )
        session.commit()
    body = channel_request().model_dump(mode="json")
    assert client.put(f"{V1}/channels/sim", json=body).status_code == 200
    return client, fake


def order_body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "kind": "disbursement",
        "channel": "sim",
        "account": "1303.001",
        "amount": 50_000,
        "currency": "CNY",
        "party": {"account_number": "6222021234567890123", "account_name": "李四"},
        "event_type": "loan.disbursement",
        "event_id": "loan-1",
    }
    body.update(changes)
    return body


def test_order_lifecycle_over_the_api(api: tuple[TestClient, FakeChannel], engine: Engine) -> None:
    client, fake = api
    key = {"Idempotency-Key": "disb-1"}
    created = client.post(f"{V1}/orders", json=order_body(), headers=key)
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["status"] == "created"
    assert order["party_account"] == "622202*********0123"
    assert "6222021234567890123" not in created.text
    assert "李四" not in created.text
    again = client.post(f"{V1}/orders", json=order_body(), headers=key)
    assert again.status_code == 200
    assert again.json()["id"] == order["id"]
    conflict = client.post(f"{V1}/orders", json=order_body(amount=1), headers=key)
    assert conflict.status_code == 409
    jobs.drain(make_session_factory(engine))
    detail = client.get(f"{V1}/orders/{order['id']}").json()
    assert detail["status"] == "succeeded"
    assert [t["to_status"] for t in detail["transitions"]] == ["created", "submitted", "succeeded"]
    assert len(fake.requests) == 1
    page = client.get(f"{V1}/orders", params={"status": "succeeded", "limit": 1}).json()
    assert [o["id"] for o in page["items"]] == [order["id"]]
    trial = client.get("/v1/ledger/accounts/1303.001/balance").json()
    assert trial["balance"] == 50_000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (order_body(amount=-5), "amount"),
        (order_body(amount=2**63), "amount"),
        (order_body(amount=1.5), "amount"),
        (order_body(channel="nope"), "channel"),
        (order_body(kind="collection"), "authorisation_ref"),
        (order_body(party={"account_number": "12ab", "account_name": "x"}), "party.account_number"),
    ],
)
def test_bad_orders_get_problem_details(
    api: tuple[TestClient, FakeChannel], body: dict[str, object], field: str
) -> None:
    client, _ = api
    response = client.post(f"{V1}/orders", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"].startswith(field) for e in problem["errors"]), problem
    assert client.get(f"{V1}/orders").json()["items"] == []


def test_order_needs_an_idempotency_key(api: tuple[TestClient, FakeChannel]) -> None:
    client, _ = api
    response = client.post(f"{V1}/orders", json=order_body())
    assert response.status_code == 422
    assert "Idempotency-Key" in response.text


def test_manual_queue_over_the_api(api: tuple[TestClient, FakeChannel], engine: Engine) -> None:
    client, fake = api
    one_try = channel_request(max_attempts=1).model_dump(mode="json")
    assert client.put(f"{V1}/channels/sim", json=one_try).status_code == 200
    fake.will("SYSTEM_BUSY")
    order = client.post(
        f"{V1}/orders", json=order_body(), headers={"Idempotency-Key": "m-1"}
    ).json()
    jobs.drain(make_session_factory(engine))
    queue = client.get(f"{V1}/orders", params={"manual": "true"}).json()["items"]
    assert [o["id"] for o in queue] == [order["id"]]
    bad = client.post(f"{V1}/orders/{order['id']}/manual", json={"action": "resolve", "note": "x"})
    assert bad.status_code == 422
    # The first request after the process forgot the session reads it from the database; that
    # read must be over before the action's own transactions begin (on SQLite it held the
    # write lock, and the action waited for it until the busy timeout).
    live_sessions._live.clear()
    done = client.post(
        f"{V1}/orders/{order['id']}/manual",
        json={"action": "resolve", "note": "bank confirmed", "outcome": "failed"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "failed"
    assert done.json()["notes"][0]["note"] == "bank confirmed"
    again = client.post(
        f"{V1}/orders/{order['id']}/manual", json={"action": "retry", "note": "again"}
    )
    assert again.status_code == 409


def test_callback_needs_a_valid_signature(api: tuple[TestClient, FakeChannel]) -> None:
    client, _ = api
    body = json.dumps({"order_no": str(uuid.uuid4()), "status": "succeeded"})
    anonymous = TestClient(client.app)
    refused = anonymous.post(f"{V1}/callbacks/sim", content=body, headers={"x-signature": "bad"})
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["field"] == "body"
    accepted = anonymous.post(f"{V1}/callbacks/sim", content=body, headers={"x-signature": "good"})
    assert accepted.status_code == 200
    assert accepted.json()["effect"].startswith("unknown order")
    assert anonymous.post(f"{V1}/callbacks/nope", content=body).status_code == 404


def test_channels_and_settlement(api: tuple[TestClient, FakeChannel]) -> None:
    client, _ = api
    channels = client.get(f"{V1}/channels").json()
    assert [c["name"] for c in channels] == ["sim"]
    assert channels[0]["error_classes"]["SYSTEM_BUSY"] == "retryable"
    wrong = client.put(f"{V1}/channels/other", json=channel_request().model_dump(mode="json"))
    assert wrong.status_code == 422
    bad_account = channel_request().model_dump(mode="json") | {"clearing_account": "9999"}
    assert client.put(f"{V1}/channels/sim", json=bad_account).status_code == 422
    assert client.post(f"{V1}/channels/sim/disable").json()["status"] == "disabled"
    refused = client.post(f"{V1}/orders", json=order_body(), headers={"Idempotency-Key": "d-1"})
    assert refused.status_code == 422
    assert "disabled" in refused.text
    assert client.post(f"{V1}/channels/sim/enable").json()["status"] == "active"
    settled = client.post(f"{V1}/channels/sim/settlements", json={"business_date": "2026-01-14"})
    assert settled.status_code == 201, settled.text
    assert settled.json()["net"] == 0
    assert settled.json()["entry_id"] is None
    again = client.post(f"{V1}/channels/sim/settlements", json={"business_date": "2026-01-14"})
    assert again.status_code == 200
    listed = client.get(f"{V1}/channels/sim/settlements").json()
    assert [s["business_date"] for s in listed] == ["2026-01-14"]
