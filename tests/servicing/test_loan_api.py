"""The loans API on both databases: a loan created, disbursed, repaid and quoted over HTTP;
idempotency keys; RFC 9457 problems naming the field for bad input and refusals (nothing
booked); each route's permission."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.identity.factories import bearer
from tests.servicing.conftest import Book

V1 = "/v1/loans"


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def fields(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body["errors"]]


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


@pytest.fixture
def api(client: TestClient, book: Book) -> tuple[TestClient, Book]:
    # ``client`` first: building the application configures payments, which ``book`` then
    # points at the scripted fake channel.
    return client, book


def test_a_loan_over_http_from_creation_to_payoff(api: tuple[TestClient, Book]) -> None:
    client, book = api
    customer = str(book.customer())
    body = {"customer_id": customer, "product_code": "LOAN-EI", "amount": 6_000_00, "term": 6}
    headers = {"Idempotency-Key": "loan-1"}
    created = client.post(V1, json=body, headers=headers)
    assert created.status_code == 201, created.text
    loan = created.json()
    assert loan["status"] == "pending_disbursement"
    assert len(loan["installments"]) == 6
    again = client.post(V1, json=body, headers=headers)
    assert (again.status_code, again.json()["id"]) == (200, loan["id"])
    conflict = problem(client.post(V1, json=body | {"term": 12}, headers=headers), 409)
    assert conflict["code"] == "idempotency_key_reused"

    listed = client.get(V1, params={"customer_id": customer, "status": "pending_disbursement"})
    assert [item["id"] for item in listed.json()["items"]] == [loan["id"]]
    assert client.get(V1, params={"status": "active"}).json()["items"] == []

    url = f"{V1}/{loan['id']}"
    disbursed = client.post(f"{url}/disburse", json={"channel": "sim"}, headers=key())
    assert disbursed.status_code == 202, disbursed.text
    book.drain()
    active = client.get(url).json()
    assert active["status"] == "active"
    assert active["outstanding"]["principal"] == 6_000_00

    quote = client.get(f"{url}/payoff-quote").json()
    assert quote["total"] == 6_000_00  # disbursed today: no interest earned yet
    repay_key = {"Idempotency-Key": "repay-1"}
    repayment = client.post(
        f"{url}/repayments", json={"channel": "sim", "purpose": "payoff"}, headers=repay_key
    )
    assert repayment.status_code == 201, repayment.text
    assert repayment.json()["amount"] == quote["total"]
    replay = client.post(
        f"{url}/repayments", json={"channel": "sim", "purpose": "payoff"}, headers=repay_key
    )
    assert (replay.status_code, replay.json()["id"]) == (200, repayment.json()["id"])
    book.drain()
    closed = client.get(url).json()
    assert closed["status"] == "paid_off"
    assert [r["status"] for r in client.get(f"{url}/repayments").json()] == ["applied"]
    kinds = [t["kind"] for t in client.get(f"{url}/transactions").json()["items"]]
    assert kinds == ["disbursement", "repayment"]
    refused = problem(
        client.post(f"{url}/repayments", json={"channel": "sim", "amount": 100}, headers=key()),
        409,
    )
    assert refused["code"] == "loan_not_repayable"
    illegal = problem(client.post(f"{url}/cancel"), 409)
    assert illegal["code"] == "loan_illegal_transition"
    book.check()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"amount": 999_99}, "amount"),
        ({"term": 7}, "term"),
        ({"product_code": "NOPE-1"}, "product_code"),
        ({"customer_id": "not-a-uuid"}, "customer_id"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_loans_are_refused_naming_the_field(
    api: tuple[TestClient, Book], changes: dict[str, Any], field: str
) -> None:
    client, book = api
    body = {
        "customer_id": str(book.customer()),
        "product_code": "LOAN-EI",
        "amount": 6_000_00,
        "term": 6,
    } | changes
    refused = problem(client.post(V1, json=body, headers=key()), 422)
    assert field in fields(refused)[0]
    assert client.get(V1).json()["items"] == []
    book.check()


def test_other_refusals(api: tuple[TestClient, Book]) -> None:
    client, book = api
    body = {
        "customer_id": str(book.customer()),
        "product_code": "LOAN-EI",
        "amount": 6_000_00,
        "term": 6,
    }
    missing_key = problem(client.post(V1, json=body), 422)
    assert "Idempotency-Key" in fields(missing_key)[0]
    loan = client.post(V1, json=body, headers=key()).json()
    url = f"{V1}/{loan['id']}"
    assert problem(client.get(f"{V1}/{uuid.uuid4()}"), 404)["code"] == "loan_not_found"
    assert fields(problem(client.get(V1, params={"cursor": "nonsense"}), 422)) == ["cursor"]
    pending = problem(
        client.post(f"{url}/repayments", json={"channel": "sim", "amount": 100}, headers=key()),
        409,
    )
    assert pending["code"] == "loan_not_repayable"
    negative = problem(
        client.post(f"{url}/repayments", json={"channel": "sim", "amount": -1}, headers=key()),
        422,
    )
    assert "amount" in fields(negative)[0]
    channel = problem(
        client.post(f"{url}/disburse", json={"channel": "nosuch"}, headers=key()), 422
    )
    assert fields(channel) == ["channel"]
    client.post(f"{url}/disburse", json={"channel": "sim"}, headers=key())
    book.drain()
    early = problem(client.get(f"{url}/payoff-quote", params={"date": "2020-01-01"}), 422)
    assert fields(early) == ["date"]
    assert fields(problem(client.get(f"{url}/payoff-quote", params={"date": "x"}), 422))
    zero = problem(
        client.post(f"{url}/repayments", json={"channel": "sim", "amount": 0}, headers=key()),
        422,
    )
    assert "amount" in fields(zero)[0]
    book.check()


def test_each_route_asks_its_permission(api: tuple[TestClient, Book], engine: Any) -> None:
    client, book = api
    app = client.app
    with Session(engine) as session:
        officer = bearer(app, session, "loan_officer")  # type: ignore[arg-type]
        service = bearer(app, session, "customer_service")  # type: ignore[arg-type]
    body = {
        "customer_id": str(book.customer()),
        "product_code": "LOAN-EI",
        "amount": 6_000_00,
        "term": 6,
    }
    created = client.post(V1, json=body, headers=key() | officer)
    assert created.status_code == 201, created.text
    url = f"{V1}/{created.json()['id']}"
    assert client.post(V1, json=body, headers=key() | service).status_code == 403
    assert client.get(url, headers=service).status_code == 200
    repay = {"channel": "sim", "amount": 100}
    assert client.post(f"{url}/repayments", json=repay, headers=key() | officer).status_code == 403
    assert (
        client.post(f"{url}/disburse", json={"channel": "sim"}, headers=key() | service).status_code
        == 403
    )
    assert client.get(url, headers={"Authorization": ""}).status_code == 401
