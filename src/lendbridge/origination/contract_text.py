"""The words of a contract that come from the product: method, frequency, penalty and
prepayment clauses, in Chinese."""

from __future__ import annotations

from decimal import Decimal

from lendbridge.kit.money import to_major
from lendbridge.products.schemas import PenaltyBasis, ProductIn
from lendbridge.servicing.schedule.terms import Frequency, Method

METHOD_ZH = {
    Method.EQUAL_INSTALLMENT: "等额本息",
    Method.EQUAL_PRINCIPAL: "等额本金",
    Method.FLAT: "等本等息",
    Method.INTEREST_ONLY: "先息后本",
    Method.BULLET: "到期一次性还本付息",
}
FREQUENCY_ZH = {
    Frequency.MONTHLY: "每月",
    Frequency.BIWEEKLY: "每两周",
    Frequency.WEEKLY: "每周",
    Frequency.SINGLE: "到期",
}


def term_unit_zh(product: ProductIn) -> str:
    return {
        Frequency.MONTHLY: "个月",
        Frequency.BIWEEKLY: "期（每两周一期）",
        Frequency.WEEKLY: "期（每周一期）",
        Frequency.SINGLE: "天",
    }[product.frequency]


def repayment_day_text(product: ProductIn) -> str:
    return (
        f"{FREQUENCY_ZH[product.frequency]}还款一次，还款日以实际放款日起算；"
        "如实际放款日与签署日不同，还款计划按实际放款日顺延并以放款后的还款计划为准。"
    )


def penalty_text(product: ProductIn) -> str:
    penalty = product.penalty
    grace = (
        f"还款日后{penalty.grace_days}天宽限期届满后，" if penalty.grace_days else "自逾期之日起，"
    )
    if penalty.basis is PenaltyBasis.RATE_MULTIPLE and penalty.rate_multiple is not None:
        return (
            f"借款人未按期足额还款的，{grace}对逾期本金按合同利率的"
            f"{Decimal(penalty.rate_multiple)}倍按日计收罚息。"
        )
    if penalty.basis is PenaltyBasis.DAILY_RATE and penalty.daily_rate_percent is not None:
        return (
            f"借款人未按期足额还款的，{grace}对逾期金额按日利率"
            f"{Decimal(penalty.daily_rate_percent)}%计收罚息。"
        )
    return "本产品不收取罚息；借款人仍应按期足额还款，逾期记录将如实报送。"


def prepayment_text(product: ProductIn) -> str:
    rule = product.prepayment
    when = f"借款人按期偿还前{rule.allowed_after}期后，" if rule.allowed_after else "借款人可随时"
    fee = rule.fee
    parts = []
    if fee.fixed:
        parts.append(f"{to_major(fee.fixed, product.currency)}元")
    if Decimal(fee.percent):
        parts.append(f"提前还款本金的{Decimal(fee.percent)}%")
    charge = "收取提前还款手续费" + "加".join(parts) if parts else "不收取提前还款手续费"
    mode = "缩短还款期限" if rule.mode.value == "reduce_term" else "减少每期还款金额"
    return f"{when}申请提前还款，{charge}；部分提前还款后按{mode}方式重新计算还款计划。"
