"""Real-name verification, bank cards with step-up, consents, staff look-up and audited
reveal — and no clear personal data in responses, logs or the raw database."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from lendbridge.app import create_app
from lendbridge.audit.models import AuditRecord
from lendbridge.config import Settings
from lendbridge.identity.consents import seed_agreements
from lendbridge.kit.notify import DevelopmentSms
from tests.identity import factories as f

# Documented development identities (docs/identity-test-data.md).
ZHANG = {"name": "张伟", "resident_id": "110105199003071239"}
ZHANG_CARD = {"card_number": "6222020200012345670", "reserved_mobile": "13800000001"}
LI = {"name": "李娜", "resident_id": "31010419880520006X"}
LI_CARD = {"card_number": "6217000200023456783", "reserved_mobile": "13800000002"}
UNAVAILABLE_ID = "440106198901010129"
EMAIL, ADDRESS = "zhang.wei@example.com", "北京市朝阳区建国路88号3单元502"
CLEAR_VALUES = [
    "110105199003071239",
    "6222020200012345670",
    "13800000001",
    "张伟",
    "13911112222",
    EMAIL,
    "建国路88号",
]


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> FastAPI:
    settings = Settings(database_url=str(engine.url), log_format="json", var_dir=tmp_path)
    with Session(engine) as session:
        seed_agreements(session)
        session.commit()
    return create_app(settings, engine=engine)


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def customer(api: TestClient, app: FastAPI, phone: str) -> dict[str, str]:
    assert api.post("/v1/auth/register/code", json={"phone": phone}).status_code == 202
    sms = app.state.sms
    assert isinstance(sms, DevelopmentSms)
    code = sms.last_to(phone).params["code"]
    body = {"phone": phone, "code": code, "password": "a long enough secret"}
    created = api.post("/v1/auth/register", json=body)
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['access_token']}"}


def test_verification_raises_the_kyc_level_step_by_step(api, app):
    me = customer(api, app, "13911112222")
    card_first = api.post("/v1/me/bank-cards", json=ZHANG_CARD, headers=me)
    assert card_first.status_code == 409  # identity first
    verified = api.post("/v1/me/identity", json=ZHANG, headers=me)
    assert verified.status_code == 201, verified.text
    assert verified.json() == {
        **verified.json(),
        "name": "张*",
        "resident_id": "110105********1239",
        "kyc_level": "identity_verified",
    }
    card = api.post("/v1/me/bank-cards", json=ZHANG_CARD, headers=me)
    assert card.status_code == 201, card.text
    assert card.json()["card"].startswith("622202")
    assert "*" in card.json()["card"]
    assert card.json()["bank_code"] == "ICBC"
    assert api.get("/v1/me", headers=me).json()["kyc_level"] == "bank_card_bound"


def test_mismatch_and_unavailable_provider_are_audited_and_change_nothing(api, app, engine):
    me = customer(api, app, "13911112222")
    wrong_name = api.post("/v1/me/identity", json={**ZHANG, "name": "王五"}, headers=me)
    assert wrong_name.status_code == 422
    assert wrong_name.json()["errors"][0]["field"] == "name"
    down = api.post(
        "/v1/me/identity", json={"name": "赵六", "resident_id": UNAVAILABLE_ID}, headers=me
    )
    assert down.status_code == 503
    assert api.get("/v1/me", headers=me).json()["kyc_level"] == "registered"
    with Session(engine) as session:
        outcomes = [
            r.after["outcome"]
            for r in session.scalars(
                select(AuditRecord).where(AuditRecord.action == "identity.verify_person")
            )
        ]
    assert outcomes == ["mismatch", "failed"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ZHANG, "resident_id": "110105199003071238"}, "resident_id"),  # check digit
        ({**ZHANG, "resident_id": "110105209903071236"}, "resident_id"),  # born in the future
        ({**ZHANG, "name": "   "}, "name"),
    ],
)
def test_bad_identity_input_names_the_field(api, app, body, field):
    me = customer(api, app, "13911112222")
    response = api.post("/v1/me/identity", json=body, headers=me)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"].endswith(field)


def test_one_identity_per_account_and_one_account_per_identity(api, app):
    first = customer(api, app, "13911112222")
    second = customer(api, app, "13911113333")
    assert api.post("/v1/me/identity", json=ZHANG, headers=first).status_code == 201
    assert api.post("/v1/me/identity", json=ZHANG, headers=first).status_code == 409
    taken = api.post("/v1/me/identity", json=ZHANG, headers=second)
    assert taken.status_code == 409


def test_changing_the_bank_card_needs_a_step_up_code(api, app):
    me = customer(api, app, "13911112222")
    api.post("/v1/me/identity", json=ZHANG, headers=me)
    assert api.post("/v1/me/bank-cards", json=ZHANG_CARD, headers=me).status_code == 201
    no_code = api.post("/v1/me/bank-cards", json=ZHANG_CARD, headers=me)
    assert no_code.status_code == 422
    assert no_code.json()["errors"][0]["field"] == "step_up_code"
    sent = api.post("/v1/me/step-up-codes", json={"purpose": "change_bank_card"}, headers=me)
    assert sent.status_code == 202
    code = app.state.sms.last_to("13911112222").params["code"]
    changed = api.post("/v1/me/bank-cards", json={**ZHANG_CARD, "step_up_code": code}, headers=me)
    assert changed.status_code == 201, changed.text
    reused = api.post("/v1/me/bank-cards", json={**ZHANG_CARD, "step_up_code": code}, headers=me)
    assert reused.status_code == 422


def test_a_borrower_never_sees_another_borrowers_records(api, app):
    zhang = customer(api, app, "13911112222")
    li = customer(api, app, "13911113333")
    api.post("/v1/me/identity", json=ZHANG, headers=zhang)
    card_id = api.post("/v1/me/bank-cards", json=ZHANG_CARD, headers=zhang).json()["id"]
    consent = api.post(
        "/v1/me/consents", json={"agreement_code": "privacy_policy", "version": 1}, headers=zhang
    ).json()
    assert api.get(f"/v1/me/bank-cards/{card_id}", headers=li).status_code == 404
    assert api.post(f"/v1/me/consents/{consent['id']}/withdraw", headers=li).status_code == 404
    assert api.get(f"/v1/me/bank-cards/{card_id}", headers=zhang).status_code == 200
    # Staff routes are closed to customers.
    assert (
        api.post("/v1/user-lookups", json={"phone": "13911112222"}, headers=li).status_code == 403
    )


def test_consents_record_the_exact_text_and_can_be_withdrawn(api, app):
    me = customer(api, app, "13911112222")
    text_v1 = api.get("/v1/agreements/debit_authorization").json()
    given = api.post(
        "/v1/me/consents", json={"agreement_code": "debit_authorization", "version": 1}, headers=me
    )
    assert given.status_code == 201
    assert text_v1["version"] == 1
    withdrawn = api.post(f"/v1/me/consents/{given.json()['id']}/withdraw", headers=me)
    assert withdrawn.json()["withdrawn_at"] is not None
    again = api.post(f"/v1/me/consents/{given.json()['id']}/withdraw", headers=me)
    assert again.status_code == 409
    missing = api.post(
        "/v1/me/consents", json={"agreement_code": "debit_authorization", "version": 9}, headers=me
    )
    assert missing.status_code == 404


def test_staff_find_customers_by_blind_index_and_reveal_is_audited(api, app, engine):
    me = customer(api, app, "13911112222")
    api.post("/v1/me/identity", json=ZHANG, headers=me)
    with Session(engine) as session:
        service_desk = f.bearer(app, session, "customer_service")
        officer = f.bearer(app, session, "loan_officer")
    found = api.post(
        "/v1/user-lookups", json={"resident_id": ZHANG["resident_id"]}, headers=officer
    )
    assert found.status_code == 200
    (user,) = found.json()
    assert user["phone"] == "139****2222"
    assert user["resident_id"] == "110105********1239"
    body = {"fields": ["phone", "resident_id"], "reason": "customer called about a repayment"}
    assert api.post(f"/v1/users/{user['id']}/reveal", json=body, headers=officer).status_code == 403
    clear = api.post(f"/v1/users/{user['id']}/reveal", json=body, headers=service_desk)
    assert clear.json()["values"] == {
        "phone": "13911112222",
        "resident_id": ZHANG["resident_id"],
    }
    with Session(engine) as session:
        reveal = session.scalar(
            select(AuditRecord).where(AuditRecord.action == "identity.pii_reveal")
        )
    assert reveal is not None
    assert reveal.after["fields"] == ["phone", "resident_id"]


def test_no_clear_personal_data_in_logs_or_the_raw_database(api, app, engine, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    me = customer(api, app, "13911112222")
    api.post("/v1/me/identity", json=ZHANG, headers=me)
    api.post("/v1/me/bank-cards", json=ZHANG_CARD, headers=me)
    contact = api.put("/v1/me/contact", json={"email": EMAIL, "address": ADDRESS}, headers=me)
    assert contact.json() == {"email": "z***@example.com", "address": "北京市朝阳区****"}
    api.post("/v1/me/identity", json={**ZHANG, "name": "王五"}, headers=me)  # refused, logged
    api.post("/v1/auth/sign-in", json={"phone": "13911112222", "password": "wrong password!"})
    logged = caplog.text + capsys.readouterr().err
    dump = _database_text(engine)
    assert "139****2222" in dump  # the scan does see stored text (the masked copy)
    for value in CLEAR_VALUES:
        assert value not in logged, f"{value} appears in the logs"
        assert value not in dump, f"{value} appears in the raw database"


def _database_text(engine: Engine) -> str:
    """Every value of every table, as stored (what a stolen backup would show)."""
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        assert path is not None
        # The database file and its write-ahead log, where recent pages still live.
        files = [Path(path), Path(f"{path}-wal")]
        return "".join(p.read_bytes().decode("utf-8", errors="ignore") for p in files if p.exists())
    with engine.connect() as conn:
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        return "\n".join(
            str(row) for t in tables for row in conn.execute(text(f'SELECT * FROM "{t}"'))
        )


def test_contact_details_are_masked_and_revealed_only_with_the_right(api, app, engine):
    me = customer(api, app, "13911112222")
    assert api.put("/v1/me/contact", json={"email": "not-an-email"}, headers=me).status_code == 422
    api.put("/v1/me/contact", json={"email": EMAIL, "address": ADDRESS}, headers=me)
    with Session(engine) as session:
        service_desk = f.bearer(app, session, "customer_service")
    (user,) = api.post(
        "/v1/user-lookups", json={"phone": "13911112222"}, headers=service_desk
    ).json()
    body = {"fields": ["email", "address"], "reason": "sending the loan contract by post"}
    clear = api.post(f"/v1/users/{user['id']}/reveal", json=body, headers=service_desk)
    assert clear.json()["values"] == {"email": EMAIL, "address": ADDRESS}
