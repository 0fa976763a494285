"""Evaluating a policy: facts + score -> decision. Pure and fast: a policy's expressions are
compiled once (``compile_policy``; the service caches the result per policy version) and the
schedule engine's answers are cached (``offer_math``).

Order: the grade from the score's cut-offs; every eligibility rule and review trigger (all of
them, so the decision records each rule's outcome); then, unless already declined, the
offered rate (the grade's rate, at most the product's rate), the limit at that rate, and the
offer's APR against the product's cap (the rate is lowered to fit, down to the policy's
minimum rate; below that the application is declined). The outcome is the worst of: any
declining rule, the grade's outcome, no limit, the APR cap (decline); any review rule or
trigger (review); else approve.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from lendbridge.decisions import limits, offer_math
from lendbridge.decisions.expressions import Condition, ExpressionError, compile_expression
from lendbridge.decisions.facts import Facts, ScoreLike, symbol_values
from lendbridge.decisions.policy import Outcome, PolicyDocument, Reason, RuleAction
from lendbridge.decisions.reasons import ReasonText, top_reasons
from lendbridge.kit.errors import ValidationFailed, field_error

RATE_PLACES = Decimal("0.01")
# How often the rate is lowered towards the APR cap before giving up (each step removes the
# APR's excess, so one or two suffice; fixed fees on small amounts may need a few).
MAX_RATE_STEPS = 5

NO_GRADE = Reason(zh="信用评分未达到最低要求", en="The credit score is below the minimum")
GRADE_DECLINE = Reason(zh="信用评分等级不符合要求", en="The credit grade does not qualify")
GRADE_REVIEW = Reason(zh="需人工审核信用评分等级", en="The credit grade needs a manual review")
NO_LIMIT = Reason(
    zh="还款能力不足以支持最低借款金额",
    en="Repayment capacity does not cover the product's minimum amount",
)
APR_CAP = Reason(
    zh="该产品的综合年化利率上限无法满足",
    en="No rate within the product's APR cap fits this loan",
)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    code: str
    condition: Condition
    action: RuleAction
    reason: Reason
    fires_when_true: bool  # review triggers fire when true; eligibility rules when false


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    document: PolicyDocument
    rules: tuple[CompiledRule, ...]


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    code: str
    passed: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    grade: str | None
    score: int
    rules: tuple[RuleOutcome, ...]
    limit: int  # fen; 0 when declined
    amount: int  # the offer: the requested amount up to the limit; 0 when declined
    currency: str
    rate_percent: str | None
    apr_percent: str | None
    reasons: tuple[ReasonText, ...]


def compile_policy(document: PolicyDocument) -> CompiledPolicy:
    rules = [
        CompiledRule(r.code, compile_expression(r.expression), r.action, r.reason, False)
        for r in document.eligibility
    ]
    rules += [
        CompiledRule(t.code, compile_expression(t.when), RuleAction.REVIEW, t.reason, True)
        for t in document.review_triggers
    ]
    return CompiledPolicy(document, tuple(rules))


def _check_request(facts: Facts) -> None:
    product = facts.product
    if facts.requested_term not in product.allowed_terms:
        allowed = ", ".join(str(t) for t in product.allowed_terms)
        raise field_error(
            ValidationFailed, "requested_term", f"must be one of {allowed} for {product.code}"
        )
    if facts.requested_amount < product.min_amount:
        raise field_error(
            ValidationFailed,
            "requested_amount",
            f"must be at least {product.min_amount} (product {product.code}'s minimum)",
        )


def _grade(policy: CompiledPolicy, score: int) -> tuple[str | None, Outcome]:
    for grade in policy.document.grades:
        if score >= grade.min_score:
            return grade.grade, grade.outcome
    return None, Outcome.DECLINE


@dataclass(frozen=True, slots=True)
class _Offer:
    limit: int
    amount: int
    rate: Decimal
    apr: Decimal | None  # None: no offer, for the reason in ``refusal``
    refusal: str = ""


def _offer(facts: Facts, policy: PolicyDocument, rate: Decimal) -> _Offer:
    product, floor = facts.product, Decimal(policy.pricing.min_rate_percent)
    cap = Decimal(product.max_apr_percent)
    for _ in range(MAX_RATE_STEPS):
        limit = limits.credit_limit(facts, policy.limit, rate).amount
        if limit < product.min_amount:
            return _Offer(0, 0, rate, None, "limit")
        amount = min(facts.requested_amount, limit)
        base = offer_math.base_terms(product, facts.requested_term, facts.start, rate)
        apr = offer_math.offer_apr(base, amount)
        if apr <= cap:
            return _Offer(limit, amount, rate, apr)
        lower = (rate - (apr - cap)).quantize(RATE_PLACES, ROUND_FLOOR)
        rate = min(lower, rate - RATE_PLACES)
        if rate < floor or rate < 0:
            break
    return _Offer(0, 0, rate, None, "apr_cap")


@dataclass
class _Verdict:
    """What the rules found so far: each rule's outcome, the reasons, decline or review."""

    outcomes: list[RuleOutcome]
    failed: list[ReasonText]
    declined: bool = False
    reviewed: bool = False

    def refuse(self, code: str, reason: Reason) -> None:
        self.outcomes.append(RuleOutcome(code, False, reason.en))
        self.failed.append(ReasonText(code, reason.zh, reason.en))
        self.declined = True


def _run_rules(policy: CompiledPolicy, values: dict[str, Any]) -> _Verdict:
    verdict = _Verdict([], [])
    for rule in policy.rules:
        try:
            fired = rule.condition.holds(values) is rule.fires_when_true
            detail = rule.reason.en if fired else "ok"
        except ExpressionError as exc:
            # A rule that cannot be evaluated is not passed: its action applies.
            fired, detail = True, f"{rule.reason.en} ({exc})"
        verdict.outcomes.append(RuleOutcome(rule.code, not fired, detail))
        if fired:
            verdict.failed.append(ReasonText(rule.code, rule.reason.zh, rule.reason.en))
            verdict.declined |= rule.action is RuleAction.DECLINE
            verdict.reviewed |= rule.action is RuleAction.REVIEW
    return verdict


def _apply_grade(verdict: _Verdict, grade: str | None, outcome: Outcome) -> None:
    if grade is None:
        verdict.refuse("grade", NO_GRADE)
    elif outcome is Outcome.DECLINE:
        verdict.refuse("grade", GRADE_DECLINE)
    elif outcome is Outcome.REVIEW:
        verdict.outcomes.append(RuleOutcome("grade", True, f"grade {grade}: {GRADE_REVIEW.en}"))
        verdict.failed.append(ReasonText("grade", GRADE_REVIEW.zh, GRADE_REVIEW.en))
        verdict.reviewed = True
    else:
        verdict.outcomes.append(RuleOutcome("grade", True, f"grade {grade}"))


def evaluate(policy: CompiledPolicy, facts: Facts, score: ScoreLike) -> Decision:
    """The decision for one application (see the module's docstring for the order)."""
    _check_request(facts)
    document = policy.document
    grade, grade_outcome = _grade(policy, score.score)
    verdict = _run_rules(policy, symbol_values(facts, score, grade or ""))
    _apply_grade(verdict, grade, grade_outcome)
    offer = _Offer(0, 0, Decimal(0), None)
    if not verdict.declined and grade is not None:
        graded = next(g for g in document.grades if g.grade == grade)
        rate = min(Decimal(graded.annual_rate_percent), Decimal(facts.product.annual_rate_percent))
        offer = _offer(facts, document, rate)
        if offer.apr is None:
            verdict.refuse(offer.refusal, NO_LIMIT if offer.refusal == "limit" else APR_CAP)
        else:
            verdict.outcomes.append(RuleOutcome("limit", True, f"limit {offer.limit}"))
    declined = verdict.declined
    outcome = (
        Outcome.DECLINE if declined else Outcome.REVIEW if verdict.reviewed else Outcome.APPROVE
    )
    return Decision(
        outcome=outcome,
        grade=grade,
        score=score.score,
        rules=tuple(verdict.outcomes),
        limit=0 if declined else offer.limit,
        amount=0 if declined else offer.amount,
        currency=facts.product.currency,
        rate_percent=None if declined or offer.apr is None else str(offer.rate),
        apr_percent=None if declined or offer.apr is None else str(offer.apr),
        reasons=tuple(top_reasons(verdict.failed, score.reasons)),
    )
