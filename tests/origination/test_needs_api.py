"""The needs questionnaire over HTTP on both databases: a borrower's answers are kept (the
latest counts), bad answers are refused naming the field and store nothing, and staff and
anonymous callers are refused."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from lendbridge.app import create_app
from lendbridge.audit.models import AuditRecord
from lendbridge.config import Settings
from lendbridge.identity.models import User
from lendbridge.origination.needs_models import CustomerNeed
from tests.conftest import TODAY
from tests.identity.factories import bearer, token_for
from tests.servicing.factories import customer

URL = "/v1/me/needs"


def answer(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "purpose": "home_improvement",
        "amount": 50_000_00,
        "term_months": 12,
        "monthly_income": 15_000_00,
        "monthly_obligations": 2_000_00,
        "employment": "employed",
    }
    values.update(changes)
    return values


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> FastAPI:
    settings = Settings(database_url=str(engine.url), log_format="console", var_dir=tmp_path)
    return create_app(settings, engine=engine)


def signed_in(app: FastAPI, engine: Engine, who: str = "zhang") -> tuple[uuid.UUID, TestClient]:
    with Session(engine) as session:
        user_id = customer(session, who)
        user = session.get(User, user_id)
        assert user is not None
        headers = {"Authorization": f"Bearer {token_for(app, session, user)}"}
    return user_id, TestClient(app, raise_server_exceptions=False, headers=headers)


def stored(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(CustomerNeed)) or 0


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def test_answers_are_kept_and_the_latest_counts(app: FastAPI, engine: Engine) -> None:
    user_id, me = signed_in(app, engine)
    assert problem(me.get(URL), 404)["code"] == "origination.needs_not_found"

    first = me.post(URL, json=answer())
    assert first.status_code == 201, first.text
    body = first.json()
    assert {k: body[k] for k in answer()} == answer()
    assert body["currency"] == "CNY"
    assert (body["purpose_zh"], body["employment_zh"]) == ("家装", "受雇")
    assert body["answered_on"] == TODAY.isoformat()
    assert me.get(URL).json() == body

    second = me.post(URL, json=answer(amount=80_000_00, term_months=24, purpose="car"))
    assert second.status_code == 201, second.text
    latest = me.get(URL).json()
    assert latest["id"] == second.json()["id"] != body["id"]
    assert (latest["amount"], latest["term_months"], latest["purpose_zh"]) == (
        80_000_00,
        24,
        "购车",
    )
    assert stored(engine) == 2  # the history is kept
    with Session(engine) as session:
        actions = session.scalars(
            select(AuditRecord.action).where(AuditRecord.target_type == "customer_need")
        ).all()
        assert actions == ["origination.needs.answer"] * 2
        rows = session.scalars(select(CustomerNeed.customer_id)).all()
        assert set(rows) == {user_id}


def test_each_borrower_sees_only_their_own_answer(app: FastAPI, engine: Engine) -> None:
    _, zhang = signed_in(app, engine, "zhang")
    _, li = signed_in(app, engine, "li")
    assert zhang.post(URL, json=answer()).status_code == 201
    assert problem(li.get(URL), 404)["code"] == "origination.needs_not_found"
    assert li.post(URL, json=answer(amount=1_000_00)).status_code == 201
    assert zhang.get(URL).json()["amount"] == 50_000_00
    assert li.get(URL).json()["amount"] == 1_000_00


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (answer(amount=0), "amount"),
        (answer(amount=30_000_001), "amount"),
        (answer(amount="5000000"), "amount"),  # a string is not an integer of fen
        (answer(amount=5_000_000.5), "amount"),
        (answer(term_months=0), "term_months"),
        (answer(term_months=61), "term_months"),
        (answer(monthly_income=-1), "monthly_income"),
        (answer(monthly_income=1_000_000_001), "monthly_income"),
        (answer(monthly_obligations=-100), "monthly_obligations"),
        (answer(monthly_obligations=10**12), "monthly_obligations"),
        (answer(purpose="gambling"), "purpose"),
        (answer(employment="astronaut"), "employment"),
        (answer(currency="yuan"), "currency"),
        (answer(salary=1), "salary"),  # unknown fields are refused
        ({k: v for k, v in answer().items() if k != "monthly_income"}, "monthly_income"),
    ],
)
def test_bad_answers_name_the_field_and_store_nothing(
    app: FastAPI, engine: Engine, body: dict[str, Any], field: str
) -> None:
    _, me = signed_in(app, engine)
    refused = problem(me.post(URL, json=body), 422)
    assert [e["field"] for e in refused["errors"]] == [field]
    assert stored(engine) == 0


def test_the_largest_answers_are_accepted(app: FastAPI, engine: Engine) -> None:
    _, me = signed_in(app, engine)
    top = answer(
        amount=30_000_000,
        term_months=60,
        monthly_income=1_000_000_000,
        monthly_obligations=0,
        employment="self_employed",
    )
    created = me.post(URL, json=top)
    assert created.status_code == 201, created.text
    assert created.json()["amount"] == 30_000_000


def test_staff_and_anonymous_callers_are_refused(app: FastAPI, engine: Engine) -> None:
    with Session(engine) as session:
        headers = bearer(app, session, "loan_officer")
    staff = TestClient(app, raise_server_exceptions=False, headers=headers)
    assert problem(staff.post(URL, json=answer()), 404)["code"] == "identity.user_not_found"
    assert problem(staff.get(URL), 404)["code"] == "identity.user_not_found"
    anonymous = TestClient(app, raise_server_exceptions=False)
    assert anonymous.post(URL, json=answer()).status_code == 401
    assert anonymous.get(URL).status_code == 401
    assert stored(engine) == 0
