"""Evaluation of the default policy: each rule kind, the grade cut-offs and their outcomes,
review triggers, and the reasons in Chinese and English."""

from __future__ import annotations

from typing import Any

import pytest

from lendbridge.decisions.evaluate import Decision, compile_policy, evaluate
from lendbridge.decisions.facts import Score
from lendbridge.decisions.policy import Outcome
from lendbridge.kit.errors import ValidationFailed
from tests.decisions.factories import facts, policy, policy_data, score

DEFAULT = compile_policy(policy())


def decide(
    points: int = 620, reasons: tuple[tuple[str, float], ...] = (), **changes: Any
) -> Decision:
    return evaluate(DEFAULT, facts(**changes), score(points, *reasons))


def failed(decision: Decision) -> list[str]:
    return [r.code for r in decision.rules if not r.passed]


def test_a_good_applicant_is_approved_with_an_offer() -> None:
    decision = decide()
    assert decision.outcome is Outcome.APPROVE
    assert decision.grade == "A"
    assert failed(decision) == []
    assert [r.code for r in decision.rules][:6] == [
        "age_range",
        "kyc_level",
        "no_overdue_loans",
        "not_blacklisted",
        "no_open_application",
        "application_frequency",
    ]
    assert decision.amount == 20_000_00
    assert decision.limit >= decision.amount
    assert decision.rate_percent == "9.6"
    assert decision.currency == "CNY"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"age": 17}, "age_range"),
        ({"age": 61}, "age_range"),
        ({"kyc_level": "identity_verified"}, "kyc_level"),
        ({"overdue_loans": 1}, "no_overdue_loans"),
        ({"blacklisted": True}, "not_blacklisted"),
        ({"open_applications": 1}, "no_open_application"),
    ],
)
def test_each_eligibility_rule_declines(changes: dict[str, Any], code: str) -> None:
    decision = decide(**changes)
    assert decision.outcome is Outcome.DECLINE
    assert failed(decision) == [code]
    assert (decision.limit, decision.amount, decision.rate_percent) == (0, 0, None)
    assert decision.reasons[0].code == code


def test_age_limits_are_inclusive() -> None:
    assert decide(age=18).outcome is Outcome.APPROVE
    assert decide(age=60).outcome is Outcome.APPROVE


def test_too_frequent_applications_go_to_review() -> None:
    decision = decide(applications_7d=4)
    assert decision.outcome is Outcome.REVIEW
    assert failed(decision) == ["application_frequency"]
    assert decision.limit > 0  # the reviewer sees the offer the policy would make
    assert decide(applications_30d=7).outcome is Outcome.REVIEW
    assert decide(applications_7d=3, applications_30d=6).outcome is Outcome.APPROVE


def test_a_decline_outranks_a_review() -> None:
    assert decide(applications_7d=9, blacklisted=True).outcome is Outcome.DECLINE


@pytest.mark.parametrize(
    ("points", "grade", "outcome", "rate"),
    [
        (750, "A", Outcome.APPROVE, "9.6"),
        (600, "A", Outcome.APPROVE, "9.6"),
        (599, "B", Outcome.APPROVE, "12"),
        (560, "B", Outcome.APPROVE, "12"),
        (559, "C", Outcome.APPROVE, "15.4"),
        (530, "C", Outcome.APPROVE, "15.4"),
        (529, "D", Outcome.REVIEW, "18"),
        (510, "D", Outcome.REVIEW, "18"),
        (509, "E", Outcome.DECLINE, None),
        (490, "E", Outcome.DECLINE, None),
        (489, None, Outcome.DECLINE, None),
        (0, None, Outcome.DECLINE, None),
    ],
)
def test_grade_cut_offs(points: int, grade: str | None, outcome: Outcome, rate: str | None) -> None:
    decision = decide(points)
    assert (decision.grade, decision.outcome, decision.rate_percent) == (grade, outcome, rate)


def test_cut_offs_are_data() -> None:
    data = policy_data()
    data["grades"][0]["min_score"] = 700
    strict = compile_policy(policy(grades=data["grades"]))
    assert evaluate(strict, facts(), score(650)).grade == "B"


def test_review_trigger_large_amount_unless_grade_a() -> None:
    large = {"requested_amount": 60_000_00, "monthly_income": 40_000_00}
    assert decide(620, **large).outcome is Outcome.APPROVE
    decision = decide(570, **large)
    assert decision.outcome is Outcome.REVIEW
    assert failed(decision) == ["large_amount"]


def test_reasons_eligibility_first_then_points_lost_in_zh_and_en() -> None:
    lost = (("credit_history", 10.0), ("duration_in_month", 25.0), ("purpose", 0.0))
    decision = decide(620, lost, blacklisted=True)
    assert [r.code for r in decision.reasons] == [
        "not_blacklisted",
        "score.duration_in_month",
        "score.credit_history",
    ]
    assert decision.reasons[0].zh == "未通过风险名单核查"
    assert decision.reasons[1].en == "The requested loan term is long"
    assert decision.reasons[1].zh == "申请期限较长"


def test_at_most_four_reasons_and_a_generic_text_for_unknown_characteristics() -> None:
    lost = tuple((f"mystery_{i}", float(10 - i)) for i in range(6))
    decision = decide(620, lost)
    assert len(decision.reasons) == 4
    assert decision.reasons[0].en == "mystery_0 lowered the score"
    assert decision.reasons[0].zh == "mystery_0 降低了评分"


def test_a_rule_that_cannot_be_evaluated_applies_its_action() -> None:
    data = policy_data()
    data["eligibility"].append(
        {
            "code": "ratio",
            "expression": "monthly_income / overdue_loans > 1",
            "reason": {"zh": "比例", "en": "ratio"},
        }
    )
    decision = evaluate(compile_policy(policy(eligibility=data["eligibility"])), facts(), score())
    assert decision.outcome is Outcome.DECLINE
    (ratio,) = [r for r in decision.rules if r.code == "ratio"]
    assert not ratio.passed
    assert "division by zero" in ratio.detail


def test_a_term_the_product_does_not_allow_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        decide(requested_term=7)
    assert caught.value.errors[0].field == "requested_term"
    with pytest.raises(ValidationFailed) as caught:
        decide(requested_amount=1)
    assert caught.value.errors[0].field == "requested_amount"


def test_the_score_is_any_object_with_the_protocol() -> None:
    class Reason:
        characteristic, points_lost, value = "housing", 5.0, "rent"

    class External:
        score, probability, reasons = 620, 0.03, [Reason()]

    decision = evaluate(DEFAULT, facts(), External())
    assert decision.reasons[0].en == "Your housing situation lowered the score"
    assert isinstance(score(), Score)
