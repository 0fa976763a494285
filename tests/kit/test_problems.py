"""RFC 9457 problem details: every error, whatever raised it, has the one shape."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

from lendbridge.kit import problems
from lendbridge.kit.errors import (
    Conflict,
    DomainError,
    IdempotencyConflict,
    NotFound,
    ValidationFailed,
    field_error,
)
from lendbridge.kit.http import RequestContextMiddleware


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int
    lines: list[int] = []


class Overdrawn(Conflict):
    code = "test.overdrawn"
    title = "Overdrawn"


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    problems.install(app)
    app.add_middleware(RequestContextMiddleware)

    @app.post("/items")
    def create(item: Item, page: Annotated[int, Query(ge=1)] = 1) -> dict[str, int]:
        return {"amount": item.amount}

    @app.get("/raise/{kind}")
    def fail(kind: str) -> None:
        errors: dict[str, DomainError] = {
            "field": field_error(ValidationFailed, "postings.1.amount", "must be positive"),
            "missing": NotFound("no such thing"),
            "conflict": Overdrawn("wallet would go below 0", extra={"account": "wallet"}),
            "shadow": Overdrawn("x", extra={"status": 200, "code": "ok", "entry_id": "e1"}),
            "idem": IdempotencyConflict("key reused"),
            "plain": DomainError("plain"),
        }
        raise errors[kind]

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret connection string postgres://user:pw@db")

    return TestClient(app, raise_server_exceptions=False)


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == problems.PROBLEM_JSON
    body = response.json()
    problems.Problem.model_validate(body)
    assert body["type"] == problems.TYPE_BASE + body["code"]
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    return body


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("field", 422, "validation_failed"),
        ("missing", 404, "not_found"),
        ("conflict", 409, "test.overdrawn"),
        ("idem", 409, "idempotency_key_reused"),
        ("plain", 400, "bad_request"),
    ],
)
def test_domain_errors_carry_status_and_code(
    client: TestClient, kind: str, status: int, code: str
) -> None:
    body = problem(client.get(f"/raise/{kind}"), status)
    assert body["code"] == code
    assert body["instance"] == f"/raise/{kind}"


def test_field_error_names_the_field_in_errors_and_detail(client: TestClient) -> None:
    body = problem(client.get("/raise/field"), 422)
    assert body["errors"] == [{"field": "postings.1.amount", "message": "must be positive"}]
    assert body["detail"] == "postings.1.amount: must be positive"


def test_extra_members_are_added_but_never_replace_standard_ones(client: TestClient) -> None:
    assert problem(client.get("/raise/conflict"), 409)["account"] == "wallet"
    shadow = problem(client.get("/raise/shadow"), 409)
    assert (shadow["status"], shadow["code"], shadow["entry_id"]) == (409, "test.overdrawn", "e1")


@pytest.mark.parametrize(
    ("content", "params", "field"),
    [
        ('{"amount": "ten"}', {}, "amount"),
        ('{"amount": 1, "lines": [1, "x"]}', {}, "lines.1"),
        ('{"amount": 1, "colour": "red"}', {}, "colour"),
        ("{}", {}, "amount"),
        ('{"amount": 1', {}, "body"),
        ('{"amount": 1}', {"page": "0"}, "page"),
    ],
)
def test_validation_errors_name_the_field(
    client: TestClient, content: str, params: dict[str, str], field: str
) -> None:
    response = client.post(
        "/items", content=content, params=params, headers={"Content-Type": "application/json"}
    )
    body = problem(response, 422)
    assert body["code"] == "validation_failed"
    assert field in [e["field"] for e in body["errors"]]
    assert field in body["detail"]


def test_malformed_json_says_so(client: TestClient) -> None:
    response = client.post("/items", content="{nope", headers={"Content-Type": "application/json"})
    body = problem(response, 422)
    assert body["errors"][0]["message"].startswith("malformed JSON")


def test_unexpected_error_is_a_500_problem_that_leaks_nothing(client: TestClient) -> None:
    body = problem(client.get("/boom", headers={"X-Request-ID": "incident-9"}), 500)
    assert body["code"] == "internal_error"
    assert body["request_id"] == "incident-9"
    assert "secret" not in str(body)
    assert "postgres" not in str(body)


def test_routing_errors_are_problems(client: TestClient) -> None:
    assert problem(client.get("/nowhere"), 404)["code"] == "not_found"
    wrong = problem(client.delete("/items"), 405)
    assert wrong["code"] == "method_not_allowed"
    assert client.delete("/items").headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("loc", "field"),
    [
        (("body", "postings", 1, "amount"), "postings.1.amount"),
        (("query", "as_of"), "as_of"),
        (("header", "Idempotency-Key"), "Idempotency-Key"),
        (("body",), "body"),
        (("path", "code"), "code"),
        (("other", 2), "other.2"),
    ],
)
def test_location_to_field(loc: tuple[int | str, ...], field: str) -> None:
    assert problems._loc_to_field(loc) == field
