"""Every route declares a permission, and every role is allowed exactly what its grants say.

The walk: for each route of the application and each role, call the route with a token of a
user holding only that role. A role without the route's permission must get 403 before the
endpoint runs; a role with it must get anything but 401/403 (the request may still be
invalid: the permission check comes first). Public routes answer without a token; every other
route answers 401 without one.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.identity import catalog
from tests.identity import factories as f


def concrete(path: str) -> str:
    """A path with every parameter filled by a syntactically valid placeholder."""
    return re.sub(r"\{[^}]+\}", "01933b0e-0000-7000-8000-000000000000", path)


def calls(app: FastAPI) -> list[tuple[str, str, str]]:
    """Every operation of the application, from its OpenAPI document (which lists the routes
    of every included router), with the permission it declares."""
    found = []
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            permission = operation.get("x-permission")
            assert permission is not None, f"{method.upper()} {path} declares no permission"
            found.append((method.upper(), concrete(path), permission))
    assert len(found) >= 40, "the walk must see the routes of every router"
    return found


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    return create_app(Settings(database_url=str(engine.url), log_format="console"), engine=engine)


def test_every_route_declares_a_known_permission(app: FastAPI) -> None:
    known = set(catalog.PERMISSIONS) | catalog.ROUTE_CLASSES
    for method, path, permission in calls(app):
        assert permission in known, f"{method} {path} declares unknown {permission!r}"


def test_without_a_token_only_public_routes_answer(app: FastAPI) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path, permission in calls(app):
            response = client.request(method, path, json={})
            if permission == catalog.PUBLIC:
                assert response.status_code != 401, (method, path)
            else:
                assert response.status_code == 401, (method, path, response.text)
                assert response.json()["code"] == "unauthenticated"


@pytest.mark.parametrize("role", sorted(catalog.ROLES))
def test_each_role_is_allowed_exactly_its_grants(app: FastAPI, engine: Engine, role: str) -> None:
    granted = catalog.ROLES[role][1]
    with Session(engine) as session:
        headers = f.bearer(app, session, role)
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        for method, path, permission in calls(app):
            if method == "POST" and path.endswith("/sign-out"):
                continue  # would end the session the walk uses; covered in test_signin
            response = client.request(method, path, json={}, headers=_idempotency(method))
            allowed = permission in catalog.ROUTE_CLASSES or permission in granted
            if allowed:
                assert response.status_code not in (401, 403), (role, method, path, response.text)
            else:
                assert response.status_code == 403, (role, method, path, response.status_code)
                assert response.json()["code"] == "permission_denied"


def _idempotency(method: str) -> dict[str, Any]:
    return {"Idempotency-Key": "walk-1"} if method == "POST" else {}


def test_auditor_is_read_only() -> None:
    assert all(p.endswith(".read") for p in catalog.ROLES["auditor"][1])
    assert catalog.ROLES["auditor"][1] == catalog.READ_ONLY
