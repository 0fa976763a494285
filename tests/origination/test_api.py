"""The origination API on both databases: a borrower applies, reads the offer, asks for a
signing code, signs and downloads the contract; a loan officer works the review queue;
problems name the field; every route's permission holds."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from lendbridge.identity.models import User
from tests.identity.factories import bearer, token_for
from tests.origination.conftest import Desk
from tests.origination.test_applications import GRADE_A, GRADE_D

ME = "/v1/me/applications"


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def api(client: TestClient, desk: Desk) -> tuple[TestClient, Desk]:
    return client, desk


def as_borrower(client: TestClient, desk: Desk, who: str = "zhang") -> dict[str, str]:
    actor = desk.borrower(who)

    def token(session: Session) -> str:
        user = session.get(User, uuid.UUID(str(actor.user_id)))
        assert user is not None
        return token_for(client.app, session, user)  # type: ignore[arg-type]

    return {"Authorization": f"Bearer {desk.book.run(token)}"}


def body(desk: Desk, score: tuple[int, int], **changes: Any) -> dict[str, Any]:
    return desk.body(desk.features_scoring(*score), **changes).model_dump(mode="json")


def test_apply_sign_and_download_the_contract_over_http(api: tuple[TestClient, Desk]) -> None:
    client, desk = api
    me = as_borrower(client, desk)
    form = client.get(f"{ME}/form", headers=me)
    assert form.status_code == 200, form.text
    assert {f["name"] for f in form.json()["fields"] if f["from_application"]} == {
        "credit_amount",
        "duration_in_month",
        "age_in_years",
    }
    headers = me | {"Idempotency-Key": "apply-http"}
    created = client.post(ME, json=body(desk, GRADE_A), headers=headers)
    assert created.status_code == 201, created.text
    application = created.json()
    assert application["status"] == "offered"
    offer = application["offer"]
    assert offer["amount"] == 10_000_00
    assert len(offer["schedule"]["installments"]) == 12
    assert isinstance(offer["schedule"]["total_interest"], int)
    again = client.post(ME, json=body(desk, GRADE_A), headers=headers)
    assert (again.status_code, again.json()["id"]) == (200, application["id"])

    url = f"{ME}/{application['id']}"
    sent = client.post("/v1/me/step-up-codes", json={"purpose": "sign_contract"}, headers=me)
    assert sent.status_code == 202, sent.text
    code = client.app.state.sms.sent[-1].params["code"]  # type: ignore[attr-defined]
    wrong = problem(client.post(f"{url}/sign", json={"code": "12345"}, headers=me | key()), 422)
    assert wrong["errors"][0]["field"] == "code"
    signed = client.post(f"{url}/sign", json={"code": code}, headers=me | key())
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "signed"
    contract = signed.json()["contract"]
    assert contract["sha256"]
    assert contract["number"].startswith("LB")
    twice = problem(client.post(f"{url}/sign", json={"code": code}, headers=me | key()), 409)
    assert twice["code"] == "origination.already_signed"

    pdf = client.get(f"{url}/contract", headers=me)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["x-content-sha256"] == contract["sha256"]
    assert pdf.content.startswith(b"%PDF")

    listed = client.get(ME, headers=me, params={"status": "signed"}).json()["items"]
    assert [a["id"] for a in listed] == [application["id"]]
    staff_view = client.get(f"/v1/applications/{application['id']}").json()
    assert staff_view["decision"]["rules"]
    assert "*" in staff_view["applicant"]["resident_id"]


def test_the_review_queue_over_http(api: tuple[TestClient, Desk]) -> None:
    client, desk = api
    me = as_borrower(client, desk)
    created = client.post(
        ME, json=body(desk, GRADE_D, employment="self_employed"), headers=me | key()
    )
    application = created.json()
    if application["status"] != "in_review":  # age changes the score: D for this applicant
        pytest.fail(f"expected a review, got {application['status']}: {application['grade']}")
    officer = desk.book.run(lambda s: bearer(client.app, s, "loan_officer"))  # type: ignore[arg-type]
    queue = client.get("/v1/review-queue", headers=officer).json()["items"]
    assert [a["id"] for a in queue] == [application["id"]]
    assert queue[0]["decision"]["score"] > 0
    url = f"/v1/applications/{application['id']}"
    bad = problem(
        client.post(f"{url}/approve", json={"limit": 1, "note": "x"}, headers=officer), 422
    )
    assert bad["errors"][0]["field"] == "limit"
    approved = client.post(f"{url}/approve", json={"note": "verified by phone"}, headers=officer)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "offered"
    mine = client.get(f"{ME}/{application['id']}", headers=me).json()
    assert mine["offer"]["amount"] == approved.json()["offer"]["amount"]


def test_problems_name_the_field(api: tuple[TestClient, Desk]) -> None:
    client, desk = api
    me = as_borrower(client, desk)
    missing = body(desk, GRADE_A)
    del missing["features"]["housing"]
    refused = problem(client.post(ME, json=missing, headers=me | key()), 422)
    assert [e["field"] for e in refused["errors"]] == ["features.housing"]
    over = problem(
        client.post(ME, json=body(desk, GRADE_A, amount=90_000_00), headers=me | key()), 422
    )
    assert over["errors"][0]["field"] == "amount"
    unknown = problem(
        client.post(ME, json=body(desk, GRADE_A) | {"salary": 1}, headers=me | key()), 422
    )
    assert "salary" in unknown["errors"][0]["field"]
    first = client.post(ME, json=body(desk, GRADE_A), headers=me | key())
    assert first.status_code == 201
    open_ = problem(client.post(ME, json=body(desk, GRADE_A), headers=me | key()), 409)
    assert open_["code"] == "origination.application_open"
    missing_key = problem(client.post(ME, json=body(desk, GRADE_A), headers=me), 422)
    assert missing_key["errors"][0]["field"] == "Idempotency-Key"


def test_permissions(api: tuple[TestClient, Desk]) -> None:
    client, desk = api
    me = as_borrower(client, desk)
    other = as_borrower(client, desk, "wang")
    created = client.post(ME, json=body(desk, GRADE_A), headers=me | key()).json()
    assert client.get(f"{ME}/{created['id']}", headers=other).status_code == 404
    assert client.get("/v1/review-queue", headers=me).status_code == 403
    assert client.get(f"/v1/applications/{created['id']}", headers=me).status_code == 403

    def auditor(session: Session) -> dict[str, str]:
        return bearer(client.app, session, "auditor")  # type: ignore[arg-type]

    reader = desk.book.run(auditor)
    assert client.get(f"/v1/applications/{created['id']}", headers=reader).status_code == 200
    approve = client.post(
        f"/v1/applications/{created['id']}/approve", json={"note": "x"}, headers=reader
    )
    assert approve.status_code == 403
