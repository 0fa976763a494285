"""The workout API on both databases: restructure (preview, request, approve), write-off and
recoveries over HTTP; RFC 9457 problems naming the field for bad input and refusals, with
nothing requested or booked; each route's permission; the maker cannot approve their own."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.identity.factories import bearer
from tests.servicing.conftest import Book
from tests.servicing.test_restructure import MAR_20, active_loan

V1 = "/v1/loans"


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


@pytest.fixture
def api(client: TestClient, book: Book, engine: Any) -> tuple[TestClient, Book, Any]:
    # ``client`` (finance among its roles: the maker) first: building the application
    # configures payments, which ``book`` then points at the scripted fake channel.
    def sign_in(*roles: str) -> dict[str, str]:
        # Signed in when needed: the fake clock moves hours on while jobs drain.
        with Session(engine) as session:
            return bearer(client.app, session, *roles)  # type: ignore[arg-type]

    return client, book, sign_in


def test_restructure_and_write_off_over_http(
    api: tuple[TestClient, Book, Any],
) -> None:
    client, book, sign_in = api
    loan_id = active_loan(book)
    book.set_date(MAR_20)
    checker = sign_in("compliance_officer")
    url = f"{V1}/{loan_id}"
    terms = {"new_term": 24, "new_annual_rate_percent": "10", "capitalise": False}
    preview = client.post(f"{url}/restructure/preview", json=terms)
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert shown["term"] == 24
    assert len(shown["installments"]) == 24
    assert sum(r["principal"] for r in shown["installments"]) == 12_000_00
    assert shown["interest_outstanding"] > 0  # accrued to today, not booked
    assert client.get(url).json()["outstanding"]["interest"] == 0
    requested = client.post(f"{url}/restructure", json=terms | {"reason": "income fell"})
    assert requested.status_code == 201, requested.text
    approval = requested.json()
    assert (approval["action"], approval["status"]) == ("loans.restructure", "pending")
    assert client.get(url).json()["status"] == "active"  # not before it is approved
    approved = client.post(
        f"/v1/approvals/{approval['id']}/approve", json={"note": "ok"}, headers=checker
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["result"]["status"] == "restructured"
    loan = client.get(url).json()
    assert (loan["status"], loan["annual_rate_percent"]) == ("restructured", "10")
    book.check()

    asked = client.post(f"{url}/write-off", json={"reason": "uncollectable"})
    assert asked.status_code == 201, asked.text
    done = client.post(
        f"/v1/approvals/{asked.json()['id']}/approve", json={"note": "ok"}, headers=checker
    )
    assert done.status_code == 200, done.text
    assert client.get(url).json()["status"] == "written_off"
    refused = problem(
        client.post(f"{url}/repayments", json={"channel": "sim", "amount": 100}, headers=key()), 409
    )
    assert refused["code"] == "loan_not_repayable"
    book.check()

    headers = key()
    body = {"amount": 200_00, "channel": "sim", "note": "paid to the agency"}
    created = client.post(f"{url}/recoveries", json=body, headers=headers)
    assert created.status_code == 201, created.text
    again = client.post(f"{url}/recoveries", json=body, headers=headers)
    assert (again.status_code, again.json()["id"]) == (200, created.json()["id"])
    reused = problem(
        client.post(f"{url}/recoveries", json=body | {"amount": 1}, headers=headers), 409
    )
    assert reused["code"] == "idempotency_key_reused"
    book.drain()
    listed = client.get(f"{url}/recoveries").json()
    assert [(r["status"], r["booked"]) for r in listed] == [("booked", 200_00)]
    assert client.get(url).json()["status"] == "written_off"
    book.check()


def test_bad_input_and_illegal_states_are_problems_and_request_nothing(
    api: tuple[TestClient, Book, Any],
) -> None:
    client, book, _ = api
    loan_id = active_loan(book)
    url = f"{V1}/{loan_id}"
    cases = [
        ({"new_annual_rate_percent": "30", "reason": "r"}, 422, "new_annual_rate_percent"),
        ({"new_annual_rate_percent": "1.5.2", "reason": "r"}, 422, "new_annual_rate_percent"),
        ({"new_term": 0, "reason": "r"}, 422, "new_term"),
        ({"new_term": 1.5, "reason": "r"}, 422, "new_term"),
        ({"reason": "r"}, 422, "new_term"),
        ({"new_term": 6}, 422, "reason"),
        ({"new_term": 6, "reason": "r", "extra": 1}, 422, "extra"),
    ]
    for body, status, field in cases:
        refused = problem(client.post(f"{url}/restructure", json=body), status)
        assert field in refused["errors"][0]["field"], body
    assert (
        problem(
            client.post(f"{V1}/{uuid.uuid4()}/restructure", json={"new_term": 6, "reason": "r"}),
            404,
        )["code"]
        == "loan_not_found"
    )
    pending = book.create(book.customer("li")).id
    illegal = problem(client.post(f"{V1}/{pending}/write-off", json={"reason": "r"}), 409)
    assert illegal["code"] == "loan_illegal_transition"
    not_written_off = problem(
        client.post(f"{url}/recoveries", json={"amount": 100, "channel": "sim"}, headers=key()), 409
    )
    assert not_written_off["code"] == "loan_not_written_off"
    for amount in (0, -1, 1.5):
        bad = problem(client.post(f"{url}/recoveries", json={"amount": amount}, headers=key()), 422)
        assert "amount" in bad["errors"][0]["field"]
    missing_key = problem(client.post(f"{url}/recoveries", json={"amount": 100}), 422)
    assert "Idempotency-Key" in missing_key["errors"][0]["field"]
    assert client.get("/v1/approvals").json() == []
    assert client.get(f"{url}/recoveries").json() == []
    assert client.get(url).json()["status"] == "active"
    book.check()


def test_each_route_asks_its_permission_and_makers_do_not_check(
    api: tuple[TestClient, Book, Any],
) -> None:
    client, book, sign_in = api
    loan_id = active_loan(book)
    auditor, officer = sign_in("auditor"), sign_in("loan_officer")
    both = sign_in("finance", "compliance_officer")
    url = f"{V1}/{loan_id}"
    terms = {"new_term": 6, "reason": "r"}
    assert client.post(f"{url}/restructure/preview", json=terms, headers=auditor).status_code == 403
    assert client.post(f"{url}/restructure", json=terms, headers=auditor).status_code == 403
    assert client.post(f"{url}/write-off", json={"reason": "r"}, headers=auditor).status_code == 403
    recover = {"amount": 100}
    assert (
        client.post(f"{url}/recoveries", json=recover, headers=key() | officer).status_code == 403
    )
    assert client.get(f"{url}/recoveries", headers=auditor).status_code == 200
    # A loan officer may ask; a user who may also decide still cannot decide their own.
    asked = client.post(f"{url}/restructure", json=terms, headers=officer)
    assert asked.status_code == 201, asked.text
    mine = client.post(f"{url}/restructure", json=terms, headers=both).json()
    own = problem(
        client.post(f"/v1/approvals/{mine['id']}/approve", json={"note": "x"}, headers=both), 403
    )
    assert own["code"] == "approvals.own_request"
    assert client.get(url).json()["status"] == "active"
    book.check()
