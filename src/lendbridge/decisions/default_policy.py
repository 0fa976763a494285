"""The demo's default policy ``standard``: a Chinese small-loan lender's rules over the
German-credit scorecard (base score 600 at good:bad odds 50:1, 20 points to double the odds;
scores run roughly 450-750). The cut-offs are data: change them by proposing a new version.

Grades: A >= 600 (odds >= 50:1, default probability about 2 %), B >= 560 (12.5:1, ~7 %),
C >= 530 (4.4:1, ~18 %), D >= 510 (2.2:1, ~31 %: manual review), E >= 490 (declined), and
below 490 declined. Rates 9.6 % to 23.9 % a year, inside the products' 24 % APR cap.
"""

from __future__ import annotations

from lendbridge.decisions.policy import PolicyDocument

NAME = "standard"


def default_policy() -> PolicyDocument:
    return PolicyDocument.model_validate(
        {
            "name": NAME,
            "description": "Default small-loan policy (demo): German-credit scorecard cut-offs",
            "eligibility": [
                {
                    "code": "age_range",
                    "expression": "age >= 18 and age <= 60",
                    "reason": {
                        "zh": "年龄不在18至60周岁之间",
                        "en": "Age is not between 18 and 60",
                    },
                },
                {
                    "code": "kyc_level",
                    "expression": "kyc_rank >= 2",
                    "reason": {
                        "zh": "尚未完成实名认证并绑定银行卡",
                        "en": "Identity verification and a bound bank card are required",
                    },
                },
                {
                    "code": "no_overdue_loans",
                    "expression": "overdue_loans == 0",
                    "reason": {"zh": "存在逾期未还的借款", "en": "You have an overdue loan"},
                },
                {
                    "code": "not_blacklisted",
                    "expression": "not blacklisted",
                    "reason": {
                        "zh": "未通过风险名单核查",
                        "en": "The risk list check did not pass",
                    },
                },
                {
                    "code": "no_open_application",
                    "expression": "open_applications == 0",
                    "reason": {
                        "zh": "已有一笔申请正在处理中",
                        "en": "Another application of yours is still open",
                    },
                },
                {
                    "code": "application_frequency",
                    "expression": "applications_7d <= 3 and applications_30d <= 6",
                    "action": "review",
                    "reason": {
                        "zh": "近期申请次数过于频繁",
                        "en": "You have applied too often recently",
                    },
                },
            ],
            "grades": [
                {
                    "grade": "A",
                    "min_score": 600,
                    "outcome": "approve",
                    "annual_rate_percent": "9.6",
                },
                {"grade": "B", "min_score": 560, "outcome": "approve", "annual_rate_percent": "12"},
                {
                    "grade": "C",
                    "min_score": 530,
                    "outcome": "approve",
                    "annual_rate_percent": "15.4",
                },
                {"grade": "D", "min_score": 510, "outcome": "review", "annual_rate_percent": "18"},
                {
                    "grade": "E",
                    "min_score": 490,
                    "outcome": "decline",
                    "annual_rate_percent": "23.9",
                },
            ],
            "review_triggers": [
                {
                    "code": "large_amount",
                    "when": 'requested_amount > 5000000 and grade != "A"',
                    "reason": {
                        "zh": "申请金额超过5万元，需人工审核",
                        "en": "Amounts above 50,000 yuan need a manual review",
                    },
                },
            ],
            "limit": {
                "max_debt_to_income": "0.5",
                "person_cap": 300_000_00,
                "person_cap_income_share": "1/3",
                "step": 100_00,
            },
            "pricing": {"min_rate_percent": "6", "max_rate_percent": "24"},
        }
    )
