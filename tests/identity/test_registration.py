"""Customers register with an SMS code and sign in with phone and password; the phone is
stored encrypted, found by blind index, and never shown in clear."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.identity.models import OneTimeCode, User
from lendbridge.kit.notify import DevelopmentSms

PHONE = "13812345678"
PASSWORD = "a long enough secret"


@pytest.fixture
def app(engine: Engine, tmp_path) -> FastAPI:
    settings = Settings(database_url=str(engine.url), log_format="console", var_dir=tmp_path)
    return create_app(settings, engine=engine)


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def outbox(app: FastAPI) -> DevelopmentSms:
    sender = app.state.sms
    assert isinstance(sender, DevelopmentSms)
    return sender


def code_for(app: FastAPI, phone: str = PHONE) -> str:
    message = outbox(app).last_to(phone)
    assert message is not None
    assert message.template == "register_code"
    return message.params["code"]


def register(api: TestClient, app: FastAPI, phone: str = PHONE, **extra: str):
    assert api.post("/v1/auth/register/code", json={"phone": phone}).status_code == 202
    body = {
        "phone": phone,
        "code": code_for(app, phone.replace(" ", "")[-11:]),
        "password": PASSWORD,
    }
    return api.post("/v1/auth/register", json={**body, **extra})


def test_register_then_sign_in(api, app, engine):
    created = register(api, app, phone="+86 138 1234 5678", kind="investor")
    assert created.status_code == 201, created.text
    assert created.json()["roles"] == ["investor"]
    me = api.get("/v1/me", headers={"Authorization": f"Bearer {created.json()['access_token']}"})
    assert me.json()["phone"] == "138****5678"
    assert me.json()["kind"] == "investor"
    signed_in = api.post("/v1/auth/sign-in", json={"phone": PHONE, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    with Session(engine) as session:
        user = session.scalars(select(User)).one()
        assert user.phone == PHONE  # decrypts
        stored = session.execute(text("SELECT phone_cipher, phone_index FROM identity_user")).one()
    assert PHONE not in stored.phone_cipher
    assert PHONE not in stored.phone_index
    assert stored.phone_cipher.startswith("v1.")


def test_a_code_works_once_and_wrong_codes_are_counted(api, app, engine):
    assert api.post("/v1/auth/register/code", json={"phone": PHONE}).status_code == 202
    good = code_for(app)
    wrong = "000000" if good != "000000" else "111111"
    body = {"phone": PHONE, "password": PASSWORD}
    refused = api.post("/v1/auth/register", json={**body, "code": wrong})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "code"
    with Session(engine) as session:
        assert session.scalar(select(OneTimeCode.attempts)) == 1
        assert session.scalar(select(User.id)) is None
    assert api.post("/v1/auth/register", json={**body, "code": good}).status_code == 201
    again = api.post("/v1/auth/register", json={**body, "code": good})
    assert again.status_code == 422


def test_five_wrong_codes_spend_the_code(api, app):
    assert api.post("/v1/auth/register/code", json={"phone": PHONE}).status_code == 202
    good = code_for(app)
    wrong = "000000" if good != "000000" else "111111"
    for _ in range(5):
        api.post("/v1/auth/register", json={"phone": PHONE, "password": PASSWORD, "code": wrong})
    last = api.post("/v1/auth/register", json={"phone": PHONE, "password": PASSWORD, "code": good})
    assert last.status_code == 422
    assert "request a new one" in last.json()["detail"]


def test_a_registered_number_is_told_by_sms_not_by_the_api(api, app):
    assert register(api, app).status_code == 201
    again = api.post("/v1/auth/register/code", json={"phone": PHONE})
    assert again.status_code == 202
    assert outbox(app).last_to(PHONE).template == "already_registered"


@pytest.mark.parametrize(
    ("phone", "password", "field"),
    [
        ("12812345678", PASSWORD, "phone"),
        ("1381234567x", PASSWORD, "phone"),
        (PHONE, "short", "password"),
        (PHONE, "12345678", "password"),
        (PHONE, f"my{PHONE}pw", "password"),
    ],
)
def test_bad_registrations_name_the_field_and_write_nothing(
    api, app, engine, phone, password, field
):
    api.post("/v1/auth/register/code", json={"phone": PHONE})
    response = api.post(
        "/v1/auth/register", json={"phone": phone, "password": password, "code": "123456"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"].endswith(field)
    with Session(engine) as session:
        assert session.scalar(select(User.id)) is None


def test_codes_are_rate_limited_per_phone(api):
    statuses = [
        api.post("/v1/auth/register/code", json={"phone": PHONE}).status_code for _ in range(6)
    ]
    assert statuses == [202] * 5 + [429]
