"""Reason codes in plain language, Chinese and English: a declined or reviewed applicant is
told why. Eligibility failures come first (their texts are in the policy), then the
characteristics that cost the most score points (texts from this table; an unknown
characteristic gets a generic sentence naming it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lendbridge.decisions.facts import ScoreReasonLike

TOP_REASONS = 4

# The German credit data's characteristics (docs/decisions.md) and the usual Chinese ones.
CHARACTERISTIC_TEXT: dict[str, tuple[str, str]] = {
    "status_of_existing_checking_account": (
        "支票账户余额状况不佳",
        "The balance of your checking account lowered the score",
    ),
    "duration_in_month": ("申请期限较长", "The requested loan term is long"),
    "credit_history": ("过往信用记录不足或有逾期", "Your credit history lowered the score"),
    "purpose": ("借款用途的风险较高", "The purpose of the loan lowered the score"),
    "credit_amount": ("申请金额较高", "The requested amount is high"),
    "savings_account_and_bonds": ("储蓄或债券资产较少", "Your savings are low"),
    "present_employment_since": ("当前工作年限较短", "Your time in your current job is short"),
    "installment_rate_in_percentage_of_disposable_income": (
        "月供占可支配收入比例较高",
        "Installments take a large share of your disposable income",
    ),
    "personal_status_and_sex": ("个人状况影响了评分", "Your personal status lowered the score"),
    "other_debtors_or_guarantors": (
        "缺少共同借款人或担保人",
        "There is no co-applicant or guarantor",
    ),
    "present_residence_since": ("当前住址居住时间较短", "You have lived at your address briefly"),
    "property": ("名下资产较少", "You have little property"),
    "age_in_years": ("年龄因素影响了评分", "Your age lowered the score"),
    "other_installment_plans": ("存在其他分期还款计划", "You have other installment plans"),
    "housing": ("住房状况影响了评分", "Your housing situation lowered the score"),
    "number_of_existing_credits_at_this_bank": (
        "在本平台已有借款笔数较多",
        "You already have several loans with us",
    ),
    "job": ("职业类型影响了评分", "Your type of job lowered the score"),
    "number_of_people_being_liable_to_provide_maintenance_for": (
        "需抚养人数较多",
        "You support many dependants",
    ),
    "telephone": ("未登记电话", "No telephone is registered in your name"),
    "foreign_worker": ("外籍务工身份影响了评分", "Foreign-worker status lowered the score"),
    "income": ("收入水平较低", "Your income is low"),
    "debt_to_income": ("负债收入比较高", "Your debts are high compared with your income"),
}


@dataclass(frozen=True, slots=True)
class ReasonText:
    code: str  # a rule code, or "score.<characteristic>"
    zh: str
    en: str


def characteristic_text(characteristic: str) -> tuple[str, str]:
    known = CHARACTERISTIC_TEXT.get(characteristic)
    if known is not None:
        return known
    return (f"{characteristic} 降低了评分", f"{characteristic} lowered the score")


def score_reasons(reasons: Sequence[ScoreReasonLike], limit: int) -> list[ReasonText]:
    """The characteristics that cost points, most points first (ties: by name)."""
    costly = sorted(
        (r for r in reasons if r.points_lost > 0),
        key=lambda r: (-r.points_lost, r.characteristic),
    )
    out = []
    for reason in costly[:limit]:
        zh, en = characteristic_text(reason.characteristic)
        out.append(ReasonText(f"score.{reason.characteristic}", zh, en))
    return out


def top_reasons(
    rule_reasons: Sequence[ReasonText], reasons: Sequence[ScoreReasonLike]
) -> list[ReasonText]:
    first = list(rule_reasons[:TOP_REASONS])
    return first + score_reasons(reasons, TOP_REASONS - len(first))
