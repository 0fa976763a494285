"""The products API: versions, retirement and quotes; permissions (401 without a token, 403
for a role without the grant); problem details naming the field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from lendbridge.app import create_app
from lendbridge.config import Settings
from tests.identity.factories import bearer
from tests.products.factories import document

V1 = "/v1/products"


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    return create_app(Settings(database_url=str(engine.url), log_format="console"), engine=engine)


@pytest.fixture
def as_role(app: FastAPI, engine: Engine) -> Iterator[dict[str, TestClient]]:
    """A client per role: ``none`` has no token."""
    clients = {}
    with Session(engine) as session:
        for role in ("admin", "finance", "collector", "borrower", "integration"):
            clients[role] = TestClient(
                app, raise_server_exceptions=False, headers=bearer(app, session, role)
            )
    clients["none"] = TestClient(app, raise_server_exceptions=False)
    yield clients
    for client in clients.values():
        client.close()


def problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    return body


def error_fields(body: dict[str, object]) -> list[str]:
    errors = body["errors"]
    assert isinstance(errors, list)
    return [e["field"] for e in errors]


def test_versions_over_the_api(client: TestClient) -> None:
    created = client.post(V1, json=document())
    assert created.status_code == 201, created.text
    first = created.json()
    assert (first["code"], first["version"], first["status"]) == ("TEST-EI", 1, "active")
    assert first["penalty"] == {
        "basis": "none",
        "rate_multiple": None,
        "daily_rate_percent": None,
        "grace_days": 0,
    }
    again = client.post(V1, json=document())
    assert again.status_code == 200
    assert again.json()["version"] == 1
    second = client.post(V1, json=document(annual_rate_percent="9.9"))
    assert second.status_code == 201
    assert second.json()["version"] == 2
    newest = client.get(f"{V1}/TEST-EI").json()
    assert (newest["version"], newest["annual_rate_percent"]) == (2, "9.9")
    old = client.get(f"{V1}/TEST-EI", params={"version": 1}).json()
    assert (old["version"], old["latest_version"], old["annual_rate_percent"]) == (1, 2, "12")
    page = client.get(V1).json()
    assert [(p["code"], p["version"]) for p in page["items"]] == [("TEST-EI", 2)]
    assert page["next_cursor"] is None


def test_retire_over_the_api(client: TestClient) -> None:
    client.post(V1, json=document())
    retired = client.post(f"{V1}/TEST-EI/retire", json={"reason": "replaced"})
    assert retired.status_code == 200, retired.text
    assert retired.json()["status"] == "retired"
    assert client.post(f"{V1}/TEST-EI/retire").status_code == 200  # no body, already retired
    body = problem(client.post(V1, json=document(annual_rate_percent="9")), 409)
    assert body["code"] == "product_retired"
    body = problem(client.post(f"{V1}/TEST-EI/quote", json={"amount": 500_000, "term": 3}), 409)
    assert body["code"] == "product_retired"
    assert [p["code"] for p in client.get(V1, params={"status": "retired"}).json()["items"]] == [
        "TEST-EI"
    ]
    assert client.get(V1, params={"status": "active"}).json()["items"] == []


def test_quote_over_the_api(client: TestClient) -> None:
    client.post(V1, json=document(upfront_fee={"percent": "1"}))
    response = client.post(
        f"{V1}/TEST-EI/quote", json={"amount": 10_000_00, "term": 12, "start": "2026-01-31"}
    )
    assert response.status_code == 200, response.text
    quote = response.json()
    assert (quote["code"], quote["version"], quote["start"]) == ("TEST-EI", 1, "2026-01-31")
    schedule = quote["schedule"]
    assert schedule["installments"][0]["due_date"] == "2026-02-28"
    assert schedule["upfront_fee"] == 10_000
    assert schedule["disbursed"] == 990_000
    assert 12 < float(schedule["apr"]) < 24
    assert quote["max_apr_percent"] == "24"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 999_99, "term": 12}, "amount"),
        ({"amount": 20_000_01, "term": 12}, "amount"),
        ({"amount": 5_000_00, "term": 9}, "term"),
        ({"amount": 5_000_00, "term": 12, "start": "9999-06-01"}, "start"),
        ({"amount": 5_000_00, "term": 12, "start": "2026-02-30"}, "start"),
        ({"amount": "5000", "term": 12}, "amount"),
        ({"amount": 5_000_00}, "term"),
        ({"amount": 5_000_00, "term": 12, "rate": "1"}, "rate"),
    ],
)
def test_bad_quotes_name_the_field(client: TestClient, body: dict[str, object], field: str) -> None:
    client.post(V1, json=document())
    response = problem(client.post(f"{V1}/TEST-EI/quote", json=body), 422)
    assert field in error_fields(response), response


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"annual_rate_percent": 12}, "annual_rate_percent"),
        ({"code": "lower"}, "code"),
        ({"max_amount": 1}, "max_amount"),
        ({"allowed_terms": [12, 3]}, "allowed_terms"),
        ({"penalty": {"basis": "rate_multiple"}}, "penalty.rate_multiple"),
        ({"prepayment": {"allowed_after": 5}}, "prepayment.allowed_after"),
        ({"allocation": {"order": ["fee", "fee", "interest", "principal"]}}, "allocation.order"),
        ({"upfront_fee": {"fixed": 1, "percent": "1", "deducted": "yes"}}, "upfront_fee.deducted"),
    ],
)
def test_bad_products_get_problem_details_naming_the_field(
    client: TestClient, changes: dict[str, object], field: str
) -> None:
    body = problem(client.post(V1, json=document(**changes)), 422)
    assert body["code"] == "validation_failed"
    assert field in error_fields(body)
    assert client.get(f"{V1}/TEST-EI").status_code == 404


def test_the_apr_cap_refusal_names_amount_term_and_apr(client: TestClient) -> None:
    body = problem(
        client.post(
            V1, json=document(min_amount=500_00, upfront_fee={"fixed": 30_00}, allowed_terms=[3])
        ),
        422,
    )
    assert error_fields(body) == ["max_apr_percent"]
    (violation,) = body["apr_violations"]  # type: ignore[misc]
    assert (violation["amount"], violation["term"]) == (500_00, 3)
    assert float(violation["apr"]) > 24
    assert f"is {violation['apr']} %" in str(body["detail"])


def test_unknown_products_are_404(client: TestClient) -> None:
    assert problem(client.get(f"{V1}/NOPE"), 404)["code"] == "product_not_found"
    client.post(V1, json=document())
    assert problem(client.get(f"{V1}/TEST-EI", params={"version": 7}), 404)["code"] == (
        "product_not_found"
    )
    assert problem(client.post(f"{V1}/NOPE/retire"), 404)["code"] == "product_not_found"
    quote = client.post(f"{V1}/NOPE/quote", json={"amount": 1, "term": 1})
    assert problem(quote, 404)["code"] == "product_not_found"
    assert problem(client.get(f"{V1}/bad code"), 422)["errors"]


def test_permissions(as_role: dict[str, TestClient]) -> None:
    admin, finance = as_role["admin"], as_role["finance"]
    collector, borrower, integration = (
        as_role["collector"],
        as_role["borrower"],
        as_role["integration"],
    )
    quote = {"amount": 5_000_00, "term": 12}
    # No token: 401 everywhere.
    for method, path, body in (
        ("GET", V1, None),
        ("GET", f"{V1}/TEST-EI", None),
        ("POST", V1, document()),
        ("POST", f"{V1}/TEST-EI/retire", None),
        ("POST", f"{V1}/TEST-EI/quote", quote),
    ):
        response = as_role["none"].request(method, path, json=body)
        assert problem(response, 401)["code"] == "unauthenticated", (method, path)
    # products.manage: admin and finance.
    assert admin.post(V1, json=document()).status_code == 201
    assert finance.post(V1, json=document(annual_rate_percent="11")).status_code == 201
    for client in (collector, borrower, integration):
        assert problem(client.post(V1, json=document(code="OTHER")), 403)["code"] == (
            "permission_denied"
        )
        assert problem(client.post(f"{V1}/TEST-EI/retire"), 403)["code"] == "permission_denied"
    # products.read: staff and the integration role, not borrowers.
    for client in (collector, integration, finance):
        assert client.get(f"{V1}/TEST-EI").status_code == 200
        assert client.post(f"{V1}/TEST-EI/quote", json=quote).status_code == 200
    assert problem(borrower.get(V1), 403)["code"] == "permission_denied"
    assert problem(borrower.post(f"{V1}/TEST-EI/quote", json=quote), 403)
