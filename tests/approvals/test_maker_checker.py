"""Maker-checker through the API: a role grant and a manual ledger entry each run only after
another user approves, exactly once; makers cannot approve their own; requests expire."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from lendbridge.app import create_app
from lendbridge.approvals import service
from lendbridge.audit.models import AuditRecord
from lendbridge.config import Settings
from lendbridge.identity.models import UserRole
from lendbridge.kit import clock
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.ledger.models import Entry
from tests.identity import factories as f
from tests.ledger import factories as lf


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    return create_app(Settings(database_url=str(engine.url), log_format="console"), engine=engine)


@pytest.fixture
def people(app: FastAPI, engine: Engine) -> Iterator[dict[str, TestClient]]:
    with Session(engine) as session:
        lf.basic_chart(session)
        clients = {
            role: TestClient(
                app, raise_server_exceptions=False, headers=f.bearer(app, session, role)
            )
            for role in ("admin", "finance", "compliance_officer", "loan_officer")
        }
        second_admin = f.bearer(app, session, "admin", "compliance_officer")
        clients["admin2"] = TestClient(app, raise_server_exceptions=False, headers=second_admin)
        target = f.staff(session, "loan_officer", username="target.user")
        session.commit()
        clients["target_id"] = str(target.id)  # type: ignore[assignment]
    return clients


def grant(people, role: str = "risk_analyst"):
    return people["admin"].post(
        "/v1/approvals",
        json={
            "action": "identity.grant_role",
            "payload": {"user_id": people["target_id"], "role": role},
            "reason": "joins the risk team",
        },
    )


def roles_of(engine: Engine, user_id: str) -> set[str]:
    with Session(engine) as session:
        return {
            r.role_code
            for r in session.scalars(select(UserRole)).all()
            if str(r.user_id) == user_id
        }


def test_a_role_grant_runs_only_when_another_user_approves(people, engine):
    requested = grant(people)
    assert requested.status_code == 201, requested.text
    assert requested.json()["status"] == "pending"
    assert "risk_analyst" not in roles_of(engine, people["target_id"])
    request_id = requested.json()["id"]
    approved = people["compliance_officer"].post(
        f"/v1/approvals/{request_id}/approve", json={"note": "checked with HR"}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert "risk_analyst" in roles_of(engine, people["target_id"])
    again = people["admin2"].post(f"/v1/approvals/{request_id}/approve", json={"note": "again"})
    assert again.status_code == 409
    with Session(engine) as session:
        actions = set(session.scalars(select(AuditRecord.action)))
    assert {"approvals.request", "approvals.approve", "identity.grant_role"} <= actions


def test_the_maker_can_never_approve_their_own_request(people):
    # admin2 holds both the maker's and the checker's permissions, and still cannot.
    requested = people["admin2"].post(
        "/v1/approvals",
        json={
            "action": "identity.grant_role",
            "payload": {"user_id": people["target_id"], "role": "collector"},
            "reason": "self-approval attempt",
        },
    )
    assert requested.status_code == 201
    own = people["admin2"].post(
        f"/v1/approvals/{requested.json()['id']}/approve", json={"note": "mine"}
    )
    assert own.status_code == 403
    assert own.json()["code"] == "approvals.own_request"


def test_rejection_runs_nothing(people, engine):
    request_id = grant(people).json()["id"]
    rejected = people["compliance_officer"].post(
        f"/v1/approvals/{request_id}/reject", json={"note": "not justified"}
    )
    assert rejected.json()["status"] == "rejected"
    assert "risk_analyst" not in roles_of(engine, people["target_id"])


def test_requests_need_the_actions_own_permission_and_valid_payloads(people):
    denied = people["loan_officer"].post(
        "/v1/approvals",
        json={
            "action": "identity.grant_role",
            "payload": {"user_id": people["target_id"], "role": "admin"},
            "reason": "promote myself",
        },
    )
    assert denied.status_code == 403
    unknown_role = grant(people, role="emperor")
    assert unknown_role.status_code == 422
    assert unknown_role.json()["errors"][0]["field"] == "payload.role"
    checker_only = people["loan_officer"].post(
        "/v1/approvals/01933b0e-0000-7000-8000-000000000000/approve", json={"note": "x"}
    )
    assert checker_only.status_code == 403


def test_manual_ledger_entry_is_posted_once_on_approval(people, engine):
    body = {
        "action": "ledger.manual_entry",
        "payload": {
            "postings": [
                {"account": "bank", "side": "debit", "amount": 5000, "currency": "CNY"},
                {"account": "income", "side": "credit", "amount": 5000, "currency": "CNY"},
            ],
            "description": "bank interest not yet booked",
        },
        "reason": "month-end correction",
    }
    requested = people["finance"].post("/v1/approvals", json=body)
    assert requested.status_code == 201, requested.text
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Entry)) == 0
    approved = people["compliance_officer"].post(
        f"/v1/approvals/{requested.json()['id']}/approve", json={"note": "matches statement"}
    )
    assert approved.status_code == 200, approved.text
    entry_id = approved.json()["result"]["entry_id"]
    entry = people["finance"].get(f"/v1/ledger/entries/{entry_id}")
    assert entry.json()["metadata"]["approval"] == requested.json()["id"]
    bad = people["finance"].post(
        "/v1/approvals",
        json={**body, "payload": {**body["payload"], "postings": body["payload"]["postings"][:1]}},
    )
    assert bad.status_code == 422


def test_unanswered_requests_expire(people, engine):
    request_id = grant(people).json()["id"]
    later = clock.now() + service.TTL + dt.timedelta(minutes=1)
    checker = Actor(user_id="checker-1", roles=("compliance_officer",))
    with clock.use_clock(clock.fixed(later)), Session(engine) as session:
        assert service.expire_overdue(session, system_actor("tests")) == 1
        session.commit()
        with pytest.raises(service.NotPending, match="expired"):
            service.decide(session, checker, uuid.UUID(request_id), approve=True, note="late")
    assert "risk_analyst" not in roles_of(engine, people["target_id"])


def test_checkers_see_the_inbox_makers_see_their_own(people):
    grant(people)
    inbox = people["compliance_officer"].get("/v1/approvals", params={"state": "pending"})
    assert len(inbox.json()) == 1
    assert people["finance"].get("/v1/approvals").json() == []
    assert len(people["admin"].get("/v1/approvals", params={"mine": True}).json()) == 1
