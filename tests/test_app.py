"""The application shell: health, readiness, the OpenAPI contract, routing errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from lendbridge import __version__
from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.identity import catalog
from lendbridge.kit.db import make_engine
from lendbridge.kit.migrate import head_revision, upgrade

MONEY_WORDS = ("amount", "balance", "debit", "credit", "min_balance", "available")
MONEY_MOVING_POSTS = {
    "/v1/ledger/entries",
    "/v1/ledger/entries/{entry_id}/reverse",
    "/v1/ledger/batches",
    "/v1/ledger/holds",
    "/v1/ledger/holds/{hold_id}/post",
    "/v1/ledger/holds/{hold_id}/void",
    "/v1/ledger/fx-conversions",
}


def _app_on(engine: Engine) -> FastAPI:
    return create_app(Settings(database_url=str(engine.url), log_format="console"), engine=engine)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """The OpenAPI document as served (it does not depend on the database)."""
    app = create_app(Settings(database_url="sqlite://", log_format="console"))
    with TestClient(app) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


def test_ready_with_schema_at_head(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "schema": head_revision()}


@pytest.fixture
def unmigrated_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    yield engine
    engine.dispose()


def _assert_not_ready(app: FastAPI, words: str) -> None:
    with TestClient(app) as client:
        response = client.get("/ready", headers={"X-Request-ID": "ready-check"})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "not_ready"
    assert body["request_id"] == "ready-check"
    assert words in body["detail"]


def test_not_ready_when_schema_is_not_migrated(unmigrated_engine: Engine) -> None:
    _assert_not_ready(_app_on(unmigrated_engine), "schema at None")


def test_not_ready_when_schema_is_behind(unmigrated_engine: Engine) -> None:
    upgrade(unmigrated_engine, "0001")
    _assert_not_ready(_app_on(unmigrated_engine), f"expected {head_revision()}")


def test_not_ready_when_database_is_unreachable() -> None:
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none")
    try:
        _assert_not_ready(_app_on(engine), "database unreachable")
    finally:
        engine.dispose()


def test_docs_are_served(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert "/openapi.json" in docs.text


def test_every_route_declares_its_permission(spec: dict[str, Any]) -> None:
    operations = [
        (path, method, op)
        for path, item in spec["paths"].items()
        if path.startswith("/v1/")
        for method, op in item.items()
    ]
    assert len(operations) >= 16
    missing = [f"{m.upper()} {p}" for p, m, op in operations if not op.get("x-permission")]
    assert missing == []
    declared = {op["x-permission"] for _, _, op in operations}
    assert declared <= set(catalog.PERMISSIONS) | catalog.ROUTE_CLASSES
    assert {"ledger.read", "ledger.post", "ledger.accounts.manage", "audit.read"} <= declared
    # Only public operations go without the bearer token in the contract.
    for path, method, op in operations:
        needs_token = op["x-permission"] != catalog.PUBLIC
        assert bool(op.get("security")) == needs_token, f"{method.upper()} {path}"


def test_money_moving_posts_require_an_idempotency_key(spec: dict[str, Any]) -> None:
    for path in MONEY_MOVING_POSTS:
        params = spec["paths"][path]["post"].get("parameters", [])
        keys = [p for p in params if p["name"] == "Idempotency-Key" and p["in"] == "header"]
        assert keys, path
        assert keys[0]["required"] is True
        assert keys[0]["schema"]["pattern"]


def _money_numbers(node: Any, path: str, name: str = "") -> Iterator[str]:
    """Paths of every schema typed as a JSON number under a money-like property name."""
    if isinstance(node, dict):
        types = node.get("type")
        types = types if isinstance(types, list) else [types]
        if "number" in types and any(word in name.lower() for word in MONEY_WORDS):
            yield path
        for key, value in node.items():
            child = key if isinstance(value, dict) and path.endswith("/properties") else name
            yield from _money_numbers(value, f"{path}/{key}", child)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _money_numbers(value, f"{path}/{i}", name)


def test_no_money_field_is_a_json_number(spec: dict[str, Any]) -> None:
    assert list(_money_numbers(spec, "")) == []
    # And the money fields found are integers: the walk above is not vacuous.
    schemas = spec["components"]["schemas"]
    assert schemas["PostingIn"]["properties"]["amount"]["type"] == "integer"
    assert schemas["BalanceOut"]["properties"]["balance"]["type"] == "integer"
    assert schemas["TrialBalanceLine"]["properties"]["debit"]["type"] == "integer"


def test_money_walk_catches_a_float_amount() -> None:
    doctored = {"properties": {"amount": {"anyOf": [{"type": "number"}, {"type": "null"}]}}}
    assert list(_money_numbers(doctored, "")) == ["/properties/amount/anyOf/0"]


def test_no_json_number_anywhere(spec: dict[str, Any]) -> None:
    """Stricter than money fields: the API has no float input or output at all."""
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "number":
                found.append(path)
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}/{i}")

    walk(spec, "")
    assert found == []


def test_fx_rate_is_a_decimal_string(spec: dict[str, Any]) -> None:
    rate = spec["components"]["schemas"]["FxConversionIn"]["properties"]["rate"]
    assert rate["type"] == "string"
    assert rate["pattern"]


def test_unknown_route_and_wrong_method_are_problems(client: TestClient) -> None:
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["code"] == "not_found"

    wrong = client.delete("/v1/ledger/accounts")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"
    allowed = {m.strip() for m in wrong.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed
