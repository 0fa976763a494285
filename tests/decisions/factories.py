"""Decision inputs for tests: a plain product, an applicant who passes every default rule,
a score, and policy documents with short names for what varies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from lendbridge.decisions.default_policy import default_policy
from lendbridge.decisions.facts import Facts, Score, ScoreReason
from lendbridge.decisions.policy import PolicyDocument
from lendbridge.kit.actor import Actor
from tests.products.factories import document as product_document

START = dt.date(2026, 1, 15)
MAKER = Actor(
    user_id="risk.maker", roles=("risk_analyst",), permissions=frozenset({"policies.propose"})
)
CHECKER = Actor(user_id="compliance.checker", roles=("compliance_officer",))


def product(**changes: Any) -> dict[str, Any]:
    """12 % a year, equal installments, 1,000-200,000 yuan over 6 or 12 months, 24 % APR cap."""
    values: dict[str, Any] = {
        "code": "TEST-EI",
        "min_amount": 1_000_00,
        "max_amount": 200_000_00,
        "allowed_terms": [6, 12],
        "annual_rate_percent": "24",
    }
    values.update(changes)
    return product_document(**values)


def facts(**changes: Any) -> Facts:
    values: dict[str, Any] = {
        "age": 30,
        "kyc_level": "bank_card_bound",
        "monthly_income": 10_000_00,
        "requested_amount": 20_000_00,
        "requested_term": 12,
        "product": product(),
        "start": START.isoformat(),
    }
    values.update(changes)
    return Facts.model_validate(values)


def score(points: int = 620, *reasons: tuple[str, float]) -> Score:
    return Score(points, 0.02, tuple(ScoreReason(c, p, None) for c, p in reasons))


def policy_data(**changes: Any) -> dict[str, Any]:
    data = default_policy().model_dump(mode="json")
    data.update(changes)
    return data


def policy(**changes: Any) -> PolicyDocument:
    return PolicyDocument.model_validate(policy_data(**changes))
