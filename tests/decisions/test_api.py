"""The policy API on both databases: list, read, propose (activation through the approvals
API: the maker cannot approve their own), what-if, permissions and problems naming fields."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.decisions import policies
from lendbridge.decisions.policy import PolicyDocument
from lendbridge.decisions.service import ModelRef, record_decision
from lendbridge.kit.actor import system_actor
from tests.decisions.factories import MAKER, facts, policy_data, score
from tests.identity import factories as f


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    return create_app(Settings(database_url=str(engine.url), log_format="console"), engine=engine)


@pytest.fixture
def people(app: FastAPI, engine: Engine) -> dict[str, TestClient]:
    with Session(engine) as session:
        policies.ensure_default_policy(session, system_actor("setup"))
        clients = {
            role: TestClient(
                app, raise_server_exceptions=False, headers=f.bearer(app, session, role)
            )
            for role in ("risk_analyst", "compliance_officer", "collector")
        }
        session.commit()
    return clients


def stricter() -> dict[str, Any]:
    data = policy_data(description="stricter C")
    data["grades"][2]["outcome"] = "review"
    return data


def test_list_and_read(people: dict[str, TestClient]) -> None:
    analyst = people["risk_analyst"]
    listed = analyst.get("/v1/policies")
    assert listed.status_code == 200, listed.text
    assert [(p["name"], p["version"], p["status"]) for p in listed.json()] == [
        ("standard", 1, "active")
    ]
    shown = analyst.get("/v1/policies/standard")
    assert shown.status_code == 200
    assert shown.json()["document"]["grades"][0] == {
        "grade": "A",
        "min_score": 600,
        "outcome": "approve",
        "annual_rate_percent": "9.6",
    }
    assert analyst.get("/v1/policies/standard?version=9").status_code == 404
    assert analyst.get("/v1/policies/nosuch").json()["code"] == "decisions.policy_not_found"


def test_propose_then_another_user_activates(people: dict[str, TestClient]) -> None:
    analyst, officer = people["risk_analyst"], people["compliance_officer"]
    proposed = analyst.post("/v1/policies", json=stricter())
    assert proposed.status_code == 201, proposed.text
    body = proposed.json()
    assert (body["policy"]["version"], body["policy"]["status"]) == (2, "pending")
    approval = body["approval_id"]
    again = analyst.post("/v1/policies", json=stricter())
    assert (again.status_code, again.json()["approval_id"]) == (200, approval)
    assert officer.post("/v1/policies", json=stricter()).status_code == 403
    own = analyst.post(f"/v1/approvals/{approval}/approve", json={"note": "mine"})
    assert own.status_code == 403
    approved = officer.post(f"/v1/approvals/{approval}/approve", json={"note": "ok"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["result"] == {"name": "standard", "version": 2, "status": "active"}
    statuses = {p["version"]: p["status"] for p in analyst.get("/v1/policies").json()}
    assert statuses == {1: "retired", 2: "active"}


def test_a_draft_is_activated_through_the_generic_approvals_api(
    people: dict[str, TestClient], engine: Engine
) -> None:
    with Session(engine) as session:
        draft = policies.propose(session, PolicyDocument.model_validate(stricter()), MAKER)
        session.commit()
        version = draft.row.version
    requested = people["risk_analyst"].post(
        "/v1/approvals",
        json={
            "action": "decisions.activate_policy",
            "payload": {"name": "standard", "version": version},
            "reason": "stricter C",
        },
    )
    assert requested.status_code == 201, requested.text
    bad = people["risk_analyst"].post(
        "/v1/approvals",
        json={
            "action": "decisions.activate_policy",
            "payload": {"name": "standard", "version": 1},
            "reason": "x",
        },
    )
    assert bad.status_code == 409
    assert bad.json()["code"] == "decisions.policy_not_activatable"


def test_invalid_policies_are_problems_naming_the_field(people: dict[str, TestClient]) -> None:
    data = policy_data()
    data["eligibility"][2]["expression"] = "overdue_loanz == 0"
    refused = people["risk_analyst"].post("/v1/policies", json=data)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"] for e in refused.json()["errors"]]
    assert fields == ["eligibility.2.expression"]
    data = policy_data()
    data["grades"][1]["min_score"] = 700
    refused = people["risk_analyst"].post("/v1/policies", json=data)
    assert [e["field"] for e in refused.json()["errors"]] == ["grades.1.min_score"]
    data = policy_data()
    data["eligibility"][0]["expression"] = "__import__('os').system('id')"
    refused = people["risk_analyst"].post("/v1/policies", json=data)
    assert refused.status_code == 422
    assert "unknown fact '__import__'" in refused.text


def test_what_if(people: dict[str, TestClient], engine: Engine) -> None:
    with Session(engine) as session:
        row = policies.get(session, "standard")
        for points in (650, 540, 540, 300):
            record_decision(
                session, uuid.uuid4(), facts(), score(points), row, ModelRef("m", "1"), MAKER
            )
        session.commit()
    report = people["compliance_officer"].post("/v1/policies/what-if", json={"policy": stricter()})
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["decisions"], body["changed"], body["transitions"]) == (
        4,
        2,
        {"approve->review": 2},
    )
    assert body["approval_rate_before"] == "0.7500"
    assert body["approval_rate_after"] == "0.2500"
    assert body["by_grade"]["C"] == {"total": 2, "changed": 2}
    assert len(body["changed_cases"]) == 2
    assert (
        people["collector"].post("/v1/policies/what-if", json={"policy": stricter()}).status_code
        == 403
    )
    assert people["collector"].get("/v1/policies").status_code == 403
