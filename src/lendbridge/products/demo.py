"""The products part of the demo: four products with the parameters of the Chinese market,
each within the 24 % APR cap (IRR basis, fees included) for every allowed amount and term.

Loaded through the service (validated and audited like any save). A product whose code
exists already is left alone: a later ``init --demo`` never overwrites what staff changed
(a new version, a retirement) with the demo's definition.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lendbridge.kit.actor import system_actor
from lendbridge.products import service
from lendbridge.products.errors import ProductNotFound
from lendbridge.products.schemas import ProductIn

ACTOR = system_actor("demo")

PRODUCTS: tuple[dict[str, Any], ...] = (
    {
        # 消费贷, 等额本息: a daily rate of 0.048 % (17.28 % a year), no fees; penalty at the
        # contract rate plus 30 % after 3 days' grace; prepay after the first installment.
        "code": "CONSUMER-EI",
        "name": "消费贷·等额本息 / Consumer loan, equal installments",
        "min_amount": 1_000_00,
        "max_amount": 50_000_00,
        "allowed_terms": [6, 12],
        "frequency": "monthly",
        "method": "equal_installment",
        "annual_rate_percent": "17.28",
        "penalty": {"basis": "rate_multiple", "rate_multiple": "1.3", "grace_days": 3},
        "prepayment": {"allowed_after": 1, "mode": "reduce_term"},
    },
    {
        # 小微经营贷, 先息后本: 0.04 % a day on ACT/360 (14.4 % a year), a 1 % service fee
        # deducted at disbursement, the principal with the last installment.
        "code": "SME-IO",
        "name": "小微经营贷·先息后本 / Small business loan, interest first",
        "min_amount": 10_000_00,
        "max_amount": 300_000_00,
        "allowed_terms": [3, 6],
        "frequency": "monthly",
        "method": "interest_only",
        "interest_period": "daily",
        "day_count": "ACT/360",
        "annual_rate_percent": "14.4",
        "upfront_fee": {"fixed": 0, "percent": "1", "deducted": True},
        "penalty": {"basis": "rate_multiple", "rate_multiple": "1.5", "grace_days": 3},
        "prepayment": {"allowed_after": 1, "fee": {"percent": "1"}},
        "allocation": {
            "order": ["penalty", "interest", "fee", "principal"],
            "strategy": "due_first",
        },
    },
    {
        # 30 天短期借款: one payment after 30 days at 0.05 % a day plus a 0.2 % service fee
        # with it; APR 20.68 % for every amount (no fixed fee, so small amounts cost the same).
        "code": "SHORT-30D",
        "name": "30天短期借款 / 30-day single-payment loan",
        "min_amount": 500_00,
        "max_amount": 5_000_00,
        "allowed_terms": [30],
        "frequency": "single",
        "method": "bullet",
        "annual_rate_percent": "18.25",
        "installment_fee": {"fixed": 0, "percent": "0.2"},
        "penalty": {"basis": "daily_rate", "daily_rate_percent": "0.05", "grace_days": 1},
    },
    {
        # 周还款小额贷: weekly equal installments at 12 % a year plus a 0.1 % fee on every
        # installment.
        "code": "MICRO-WEEKLY",
        "name": "周周还·小额贷 / Weekly micro-loan",
        "min_amount": 300_00,
        "max_amount": 3_000_00,
        "allowed_terms": [4, 8, 12],
        "frequency": "weekly",
        "method": "equal_installment",
        "annual_rate_percent": "12",
        "installment_fee": {"fixed": 0, "percent": "0.1"},
        "penalty": {"basis": "daily_rate", "daily_rate_percent": "0.05", "grace_days": 1},
        "prepayment": {"allowed_after": 2, "mode": "reduce_term"},
    },
)


def load_products_demo(session: Session) -> int:
    """Save the demo products that do not exist yet (idempotent); returns how many."""
    saved = 0
    for document in PRODUCTS:
        request = ProductIn.model_validate(document)
        try:
            service.get_product(session, request.code)
            continue
        except ProductNotFound:
            pass
        service.save_product(session, request, ACTOR)
        saved += 1
    return saved
