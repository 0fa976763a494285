"""The decision policy document: eligibility rules, grade cut-offs, the outcome per grade,
review triggers, the limit's parameters and the price per grade. Validated on save
(:func:`validate_policy`): every refusal names its field (``eligibility.2.expression``).

Money is integer fen; ratios and rates are decimal strings (a JSON number would round).
Rates: the policy prices by grade; the offered rate is the grade's rate, but never above the
product's ``annual_rate_percent`` (the product's published rate is the most any borrower
pays) nor below the policy's ``min_rate_percent``; grade rates must lie within the policy's
own ``[min_rate_percent, max_rate_percent]`` (``max_rate_percent`` at most 36) and not fall
from a better grade to a worse one. The product's APR cap is applied per offer
(``pricing.py``).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Annotated

from pydantic import Field, StrictInt, ValidationError

from lendbridge.decisions.expressions import ExpressionError, compile_expression
from lendbridge.kit.errors import FieldError, ValidationFailed
from lendbridge.kit.schemas import StrictModel

GRADES = ("A", "B", "C", "D", "E")
NAME_PATTERN = r"^[a-z][a-z0-9_-]{1,63}$"
MAX_RATE_BOUND = Decimal(36)

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
Text = Annotated[str, Field(min_length=1, max_length=300)]
Expression = Annotated[str, Field(min_length=1, max_length=1000)]
Ratio = Annotated[str, Field(pattern=r"^(0|1)(\.[0-9]{1,4})?$", description="0 to 1.")]
Share = Annotated[
    str,
    Field(
        pattern=r"^((0|1)(\.[0-9]{1,6})?|[1-9][0-9]{0,2}/[1-9][0-9]{0,2})$",
        description='0 to 1, as a decimal ("0.5") or an exact fraction ("1/3").',
    ),
]
Rate = Annotated[str, Field(pattern=r"^[0-9]{1,2}(\.[0-9]{1,4})?$", description="Percent.")]
Fen = Annotated[StrictInt, Field(ge=0, le=10**15)]


class Outcome(StrEnum):
    APPROVE = "approve"
    REVIEW = "review"
    DECLINE = "decline"


class RuleAction(StrEnum):
    DECLINE = "decline"
    REVIEW = "review"


class Reason(StrictModel):
    zh: Text
    en: Text


class EligibilityRule(StrictModel):
    """A condition that must hold; when it does not, the rule's action applies."""

    code: Code
    expression: Expression = Field(description="Must hold, e.g. `age >= 18 and age <= 60`.")
    action: RuleAction = RuleAction.DECLINE
    reason: Reason


class ReviewTrigger(StrictModel):
    """A condition that, when it holds, sends an otherwise approved application to review."""

    code: Code
    when: Expression
    reason: Reason


class GradeRule(StrictModel):
    grade: Annotated[str, Field(pattern=r"^[A-E]$")]
    min_score: Annotated[StrictInt, Field(ge=0, le=2000)]
    outcome: Outcome
    annual_rate_percent: Rate


class LimitRule(StrictModel):
    max_debt_to_income: Ratio = Field("0.5", description="Of monthly income, all obligations.")
    person_cap: Fen = Field(300_000_00, description="Most one person may owe on the platform.")
    person_cap_income_share: Share = Field(
        "1/3", description="The cap is also at most this share of annual income."
    )
    step: Annotated[StrictInt, Field(ge=1, le=10**9)] = Field(
        100, description="Limits are rounded down to a multiple of this (100 fen = whole yuan)."
    )


class PricingRule(StrictModel):
    min_rate_percent: Rate = "6"
    max_rate_percent: Rate = "24"


class PolicyDocument(StrictModel):
    """One version of a named decision policy (see docs/decisions.md)."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    description: Annotated[str, Field(max_length=500)] = ""
    eligibility: Annotated[list[EligibilityRule], Field(max_length=100)]
    grades: Annotated[list[GradeRule], Field(min_length=1, max_length=5)] = Field(
        description="Best grade first: score >= min_score gives the grade; below the last "
        "cut-off the application is declined."
    )
    review_triggers: Annotated[list[ReviewTrigger], Field(max_length=100)] = Field(
        default_factory=list
    )
    limit: LimitRule = Field(default_factory=LimitRule)
    pricing: PricingRule = Field(default_factory=PricingRule)


def canonical_json(document: PolicyDocument) -> str:
    return json.dumps(
        document.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def fingerprint(document: PolicyDocument) -> str:
    """sha256 of the canonical document: equal documents, equal fingerprints."""
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()


def parse_policy(data: object) -> PolicyDocument:
    """A validated policy from JSON data, or ``ValidationFailed`` naming every field."""
    try:
        document = PolicyDocument.model_validate(data)
    except ValidationError as exc:
        errors = [
            FieldError(".".join(str(p) for p in e["loc"]) or "(document)", e["msg"])
            for e in exc.errors()
        ]
        raise ValidationFailed("the policy is not valid", errors) from None
    validate_policy(document)
    return document


def validate_policy(document: PolicyDocument) -> None:
    """The rules that span fields: expressions, unique codes, ordered grades, rates."""
    errors: list[FieldError] = []
    _check_expressions(document, errors)
    _check_grades(document, errors)
    _check_rates(document, errors)
    _check_limit(document, errors)
    if errors:
        raise ValidationFailed(
            "the policy is not valid: " + "; ".join(f"{e.field}: {e.message}" for e in errors),
            errors,
        )


def _check_expressions(document: PolicyDocument, errors: list[FieldError]) -> None:
    seen: set[str] = set()
    rules = [
        ("eligibility", i, r.code, "expression", r.expression)
        for i, r in enumerate(document.eligibility)
    ]
    rules += [
        ("review_triggers", i, t.code, "when", t.when)
        for i, t in enumerate(document.review_triggers)
    ]
    for section, index, code, field, text in rules:
        if code in seen:
            errors.append(FieldError(f"{section}.{index}.code", f"code {code!r} is used twice"))
        seen.add(code)
        try:
            compile_expression(text)
        except ExpressionError as exc:
            errors.append(FieldError(f"{section}.{index}.{field}", str(exc)))


def _check_grades(document: PolicyDocument, errors: list[FieldError]) -> None:
    grades = [g.grade for g in document.grades]
    if grades != list(GRADES[: len(grades)]):
        errors.append(
            FieldError("grades", f"must be {', '.join(GRADES[: len(grades)])} in this order")
        )
    for i in range(1, len(document.grades)):
        if document.grades[i].min_score >= document.grades[i - 1].min_score:
            errors.append(
                FieldError(
                    f"grades.{i}.min_score",
                    "cut-offs must fall strictly from the best grade to the worst "
                    f"({document.grades[i].min_score} is not below "
                    f"{document.grades[i - 1].min_score})",
                )
            )


def _check_limit(document: PolicyDocument, errors: list[FieldError]) -> None:
    share = Fraction(document.limit.person_cap_income_share)
    if share > 1:
        errors.append(FieldError("limit.person_cap_income_share", "must be at most 1"))
    if Decimal(document.limit.max_debt_to_income) > 1:
        errors.append(FieldError("limit.max_debt_to_income", "must be at most 1"))


def _check_rates(document: PolicyDocument, errors: list[FieldError]) -> None:
    low = Decimal(document.pricing.min_rate_percent)
    high = Decimal(document.pricing.max_rate_percent)
    if high > MAX_RATE_BOUND:
        errors.append(FieldError("pricing.max_rate_percent", f"must be at most {MAX_RATE_BOUND}"))
    if low > high:
        errors.append(FieldError("pricing.min_rate_percent", "must not exceed max_rate_percent"))
    previous = None
    for i, grade in enumerate(document.grades):
        rate = Decimal(grade.annual_rate_percent)
        if not low <= rate <= high:
            errors.append(
                FieldError(
                    f"grades.{i}.annual_rate_percent",
                    f"must be within the policy's range {low} to {high} %",
                )
            )
        elif previous is not None and rate < previous:
            errors.append(
                FieldError(
                    f"grades.{i}.annual_rate_percent",
                    "a worse grade must not be priced below a better one",
                )
            )
        previous = rate
