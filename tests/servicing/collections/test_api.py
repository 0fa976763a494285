"""The collections API on both databases: the collector queue by bucket and assignee with
cursor pages, assignment (history kept), the contact log (phone numbers masked), promises to
pay with idempotency keys; RFC 9457 problems naming the field for bad input, changing
nothing; each route's permission; every write audited."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from lendbridge.audit.models import AuditRecord
from tests.identity.factories import bearer, staff, token_for
from tests.servicing.collections.conftest import close
from tests.servicing.conftest import Book

Q = "/v1/collections/queue"
L = "/v1/loans"
# A is due 2026-02-15, B (disbursed 2026-01-20) 2026-02-20; on 2026-03-18 A is 31 days past
# due (M2), B 26 (M1).
MAR_18 = dt.date(2026, 3, 18)


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def fields(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body["errors"]]


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def auth(client: TestClient, engine: Engine, *roles: str) -> tuple[str, dict[str, str]]:
    with Session(engine) as session:
        user = staff(session, *roles)
        token = token_for(client.app, session, user)  # type: ignore[arg-type]
        return str(user.id), {"Authorization": f"Bearer {token}"}


@pytest.fixture
def overdue(client: TestClient, book: Book) -> tuple[str, str]:
    """Two overdue loans: A (M2) and B (M1)."""
    a = book.disburse(book.create(book.customer("zhang"), 12_000_00, 12).id)
    book.set_date(dt.date(2026, 1, 20))
    b = book.disburse(book.create(book.customer("li"), 6_000_00, 6).id)
    close(book, MAR_18, batch_size=50)
    return str(a.id), str(b.id)


def test_the_queue_by_bucket_and_assignee_a_page_at_a_time(
    client: TestClient, book: Book, engine: Engine, overdue: tuple[str, str]
) -> None:
    a, b = overdue
    page = client.get(Q).json()
    assert [(i["loan_id"], i["dpd"], i["bucket"]) for i in page["items"]] == [
        (a, 31, "M2"),
        (b, 26, "M1"),
    ]
    assert page["next_cursor"] is None
    first = page["items"][0]
    assert first["amount_overdue"] > 0
    assert first["outstanding"] > first["amount_overdue"]
    assert (first["assignee"], first["last_contact"], first["open_promise"]) == (None, None, None)
    assert [i["loan_id"] for i in client.get(Q, params={"bucket": "M2"}).json()["items"]] == [a]
    assert [i["loan_id"] for i in client.get(Q, params={"bucket": "M1"}).json()["items"]] == [b]
    assert client.get(Q, params={"bucket": "M3+"}).json()["items"] == []
    one = client.get(Q, params={"limit": 1}).json()
    assert [i["loan_id"] for i in one["items"]] == [a]
    two = client.get(Q, params={"limit": 1, "cursor": one["next_cursor"]}).json()
    assert ([i["loan_id"] for i in two["items"]], two["next_cursor"]) == ([b], None)
    assert "bucket" in fields(problem(client.get(Q, params={"bucket": "current"}), 422))[0]
    assert fields(problem(client.get(Q, params={"cursor": "nonsense"}), 422)) == ["cursor"]

    collector, as_collector = auth(client, engine, "collector")
    other, _ = auth(client, engine, "collector")
    url = f"{L}/{a}/collection/assign"
    assigned = client.post(url, json={"collector": collector}, headers=as_collector)
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["collector_id"] == collector
    mine = client.get(Q, params={"assignee": collector}).json()["items"]
    assert [(i["loan_id"], i["assignee"]) for i in mine] == [(a, collector)]
    moved = client.post(url, json={"collector": other}, headers=as_collector)
    assert moved.json()["collector_id"] == other
    assert client.get(Q, params={"assignee": collector}).json()["items"] == []
    officer, _ = auth(client, engine, "loan_officer")
    refused = problem(client.post(url, json={"collector": officer}, headers=as_collector), 422)
    assert fields(refused) == ["collector"]
    stranger = problem(
        client.post(url, json={"collector": str(uuid.uuid4())}, headers=as_collector), 422
    )
    assert fields(stranger) == ["collector"]
    assert client.get(Q, params={"assignee": other}).json()["items"][0]["loan_id"] == a
    nowhere = client.post(
        f"{L}/{uuid.uuid4()}/collection/assign", json={"collector": other}, headers=as_collector
    )
    assert problem(nowhere, 404)["code"] == "loan_not_found"
    book.check()


def test_contacts_and_promises(
    client: TestClient, book: Book, engine: Engine, overdue: tuple[str, str]
) -> None:
    a, _ = overdue
    _, as_collector = auth(client, engine, "collector")
    contacts = f"{L}/{a}/contacts"
    logged = client.post(
        contacts,
        json={"channel": "phone", "outcome": "promised", "note": "called 13812345678, will pay"},
        headers=as_collector,
    )
    assert logged.status_code == 201, logged.text
    assert logged.json()["note"] == "called 138****5678, will pay"
    bad = problem(
        client.post(
            contacts, json={"channel": "pigeon", "outcome": "reached"}, headers=as_collector
        ),
        422,
    )
    assert "channel" in fields(bad)[0]
    too_long = client.post(
        contacts,
        json={"channel": "sms", "outcome": "reached", "note": "x" * 501},
        headers=as_collector,
    )
    assert "note" in fields(problem(too_long, 422))[0]
    assert [c["outcome"] for c in client.get(contacts).json()] == ["promised"]
    assert problem(client.get(f"{L}/{uuid.uuid4()}/contacts"), 404)["code"] == "loan_not_found"

    promises = f"{L}/{a}/promises"
    today = book.today()
    body = {"amount": 1_000_00, "promised_date": (today + dt.timedelta(days=3)).isoformat()}
    assert (
        "Idempotency-Key"
        in fields(problem(client.post(promises, json=body, headers=as_collector), 422))[0]
    )
    zero = client.post(promises, json=body | {"amount": 0}, headers=key() | as_collector)
    assert "amount" in fields(problem(zero, 422))[0]
    past = body | {"promised_date": (today - dt.timedelta(days=1)).isoformat()}
    assert fields(problem(client.post(promises, json=past, headers=key() | as_collector), 422)) == [
        "promised_date"
    ]
    assert client.get(promises).json() == []  # refusals wrote nothing
    same = {"Idempotency-Key": "promise-1"} | as_collector
    made = client.post(promises, json=body, headers=same)
    assert made.status_code == 201, made.text
    promise = made.json()
    assert (promise["status"], promise["currency"]) == ("open", "CNY")
    again = client.post(promises, json=body, headers=same)
    assert (again.status_code, again.json()["id"]) == (200, promise["id"])
    reused = problem(client.post(promises, json=body | {"amount": 5}, headers=same), 409)
    assert reused["code"] == "idempotency_key_reused"
    (item,) = [i for i in client.get(Q).json()["items"] if i["loan_id"] == a]
    assert item["open_promise"]["id"] == promise["id"]
    assert item["last_contact"]["outcome"] == "promised"
    cancel = f"{promises}/{promise['id']}/cancel"
    cancelled = client.post(cancel, headers=as_collector)
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert problem(client.post(cancel, headers=as_collector), 409)["code"] == (
        "collection_promise_not_open"
    )
    unknown = client.post(f"{promises}/{uuid.uuid4()}/cancel", headers=as_collector)
    assert problem(unknown, 404)["code"] == "collection_promise_not_found"
    assert [p["status"] for p in client.get(promises).json()] == ["cancelled"]

    actions = book.run(
        lambda s: list(
            s.scalars(select(AuditRecord.action).where(AuditRecord.action.like("collections.%")))
        )
    )
    assert sorted(actions) == [
        "collections.contact.log",
        "collections.promise.cancel",
        "collections.promise.open",
    ]
    book.check()


def test_each_route_asks_its_permission(
    client: TestClient, book: Book, engine: Engine, overdue: tuple[str, str]
) -> None:
    a, _ = overdue
    with Session(engine) as session:
        service = bearer(client.app, session, "customer_service")  # type: ignore[arg-type]
        officer = bearer(client.app, session, "loan_officer")  # type: ignore[arg-type]
    contact = {"channel": "phone", "outcome": "no_answer"}
    assert client.get(Q, headers=service).status_code == 200
    assert client.get(f"{L}/{a}/contacts", headers=service).status_code == 200
    assert client.post(f"{L}/{a}/contacts", json=contact, headers=service).status_code == 403
    body = {"amount": 100, "promised_date": book.today().isoformat()}
    assert client.post(f"{L}/{a}/promises", json=body, headers=key() | service).status_code == 403
    assert client.get(Q, headers=officer).status_code == 403
    assert client.get(f"{L}/{a}/promises", headers=officer).status_code == 403
    assert (
        client.post(
            f"{L}/{a}/collection/assign", json={"collector": str(uuid.uuid4())}, headers=officer
        ).status_code
        == 403
    )
    assert client.get(Q, headers={"Authorization": ""}).status_code == 401
    assert client.get(f"{L}/{a}/contacts").json() == []  # nothing was written
    book.check()
