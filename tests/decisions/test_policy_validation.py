"""A policy is refused on save, naming the field, for anything it could not evaluate safely:
unknown facts, type errors, syntax errors, code (no eval), non-monotonic cut-offs, rates."""

from __future__ import annotations

from typing import Any

import pytest

from lendbridge.decisions.expressions import ExpressionError, compile_expression
from lendbridge.decisions.policy import fingerprint, parse_policy
from lendbridge.kit.errors import ValidationFailed
from tests.decisions.factories import policy, policy_data


def refused(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_policy(data)
    return {e.field: e.message for e in caught.value.errors}


def with_expression(index: int, expression: str) -> dict[str, Any]:
    data = policy_data()
    data["eligibility"][index]["expression"] = expression
    return data


def test_the_default_policy_is_valid_and_fingerprinted() -> None:
    assert parse_policy(policy_data()) == policy()
    assert fingerprint(policy()) == fingerprint(policy())
    assert fingerprint(policy(description="other")) != fingerprint(policy())


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("agee >= 18", "unknown fact 'agee'"),
        ("kyc_level > 2", "not a valid expression"),
        ('age == "thirty"', "compares a FLOAT with a STRING"),
        ("age >= ", "syntax error"),
        ("(age > 1", "syntax error"),
        ("age + 1", "must be a condition"),
        ("__import__('os').system('true')", "unknown fact '__import__'"),
        ("exec('1')", "unknown fact 'exec'"),
    ],
)
def test_bad_expressions_are_refused_naming_the_field(expression: str, message: str) -> None:
    errors = refused(with_expression(2, expression))
    assert list(errors) == ["eligibility.2.expression"]
    assert message in errors["eligibility.2.expression"]


def test_review_trigger_expressions_are_checked_too() -> None:
    data = policy_data()
    data["review_triggers"][0]["when"] = "grade == 1"
    assert "compares a STRING with a FLOAT" in refused(data)["review_triggers.0.when"]


def test_no_python_runs_from_an_expression() -> None:
    for text in ("__import__", "age.__class__ == 1", "[].__class__"):
        with pytest.raises(ExpressionError):
            compile_expression(text)


def test_grade_cut_offs_must_fall_strictly() -> None:
    data = policy_data()
    data["grades"][2]["min_score"] = data["grades"][1]["min_score"]
    assert "must fall strictly" in refused(data)["grades.2.min_score"]


def test_grades_must_be_in_order() -> None:
    data = policy_data()
    data["grades"][0]["grade"], data["grades"][1]["grade"] = "B", "A"
    assert "A, B, C, D, E in this order" in refused(data)["grades"]


def test_rates_must_be_in_the_policy_range_and_rise_with_risk() -> None:
    data = policy_data()
    data["grades"][0]["annual_rate_percent"] = "30"
    assert "within the policy's range 6 to 24" in refused(data)["grades.0.annual_rate_percent"]
    data = policy_data()
    data["grades"][3]["annual_rate_percent"] = "10"
    assert "below a better one" in refused(data)["grades.3.annual_rate_percent"]
    data = policy_data()
    data["pricing"]["max_rate_percent"] = "40"
    assert "at most 36" in refused(data)["pricing.max_rate_percent"]


def test_codes_are_unique_and_shapes_checked() -> None:
    data = policy_data()
    data["eligibility"][1]["code"] = data["eligibility"][0]["code"]
    assert "used twice" in refused(data)["eligibility.1.code"]
    data = policy_data()
    data["eligibility"][0]["action"] = "shrug"
    assert "eligibility.0.action" in refused(data)
    assert "limit.max_debt_to_income" in refused(policy_data(limit={"max_debt_to_income": 0.5}))
