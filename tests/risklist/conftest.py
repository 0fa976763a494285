"""Risk-list fixtures: the application, staff who manage or only read the list, and
borrowers who went through real-name verification and bound a card (through the API, so
their blind indexes are the identity domain's own)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.identity.consents import seed_agreements
from lendbridge.kit.notify import DevelopmentSms
from tests.identity import factories as f

# Documented development identities (docs/identity-test-data.md).
ZHANG = {"name": "张伟", "resident_id": "110105199003071239"}
ZHANG_CARD = {"card_number": "6222020200012345670", "reserved_mobile": "13800000001"}
LI = {"name": "李娜", "resident_id": "31010419880520006X"}
LI_CARD = {"card_number": "6217000200023456783", "reserved_mobile": "13800000002"}


@dataclass(frozen=True)
class Borrower:
    user_id: uuid.UUID
    headers: dict[str, str]


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> FastAPI:
    settings = Settings(database_url=str(engine.url), log_format="console", var_dir=tmp_path)
    with Session(engine) as session:
        seed_agreements(session)
        session.commit()
    return create_app(settings, engine=engine)


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def staff(app: FastAPI, engine: Engine) -> dict[str, dict[str, str]]:
    """Headers of a risk analyst (manages the list) and a loan officer (reads it)."""
    with Session(engine) as session:
        return {role: f.bearer(app, session, role) for role in ("risk_analyst", "loan_officer")}


@pytest.fixture
def borrower(api: TestClient, app: FastAPI) -> Callable[..., Borrower]:
    def make(
        phone: str, identity: dict[str, str] | None = None, card: dict[str, str] | None = None
    ) -> Borrower:
        assert api.post("/v1/auth/register/code", json={"phone": phone}).status_code == 202
        sms = app.state.sms
        assert isinstance(sms, DevelopmentSms)
        code = sms.last_to(phone).params["code"]
        body = {"phone": phone, "code": code, "password": "a long enough secret"}
        created = api.post("/v1/auth/register", json=body)
        assert created.status_code == 201, created.text
        headers = {"Authorization": f"Bearer {created.json()['access_token']}"}
        if identity is not None:
            verified = api.post("/v1/me/identity", json=identity, headers=headers)
            assert verified.status_code == 201, verified.text
        if card is not None:
            bound = api.post("/v1/me/bank-cards", json=card, headers=headers)
            assert bound.status_code == 201, bound.text
        me = api.get("/v1/me", headers=headers)
        return Borrower(uuid.UUID(me.json()["user_id"]), headers)

    return make
