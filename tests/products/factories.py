"""Products for tests: a plain, cheap monthly product with short names for what varies."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lendbridge.kit.actor import Actor, system_actor
from lendbridge.products import service
from lendbridge.products.schemas import ProductIn, ProductOut

ACTOR = system_actor("tests")


def document(**changes: Any) -> dict[str, Any]:
    """A valid product definition as JSON (12 % a year, equal installments, no fees)."""
    values: dict[str, Any] = {
        "code": "TEST-EI",
        "name": "测试产品 / Test product",
        "min_amount": 1_000_00,
        "max_amount": 20_000_00,
        "allowed_terms": [3, 6, 12],
        "frequency": "monthly",
        "method": "equal_installment",
        "annual_rate_percent": "12",
    }
    values.update(changes)
    return values


def product(**changes: Any) -> ProductIn:
    return ProductIn.model_validate(document(**changes))


def saved(session: Session, actor: Actor = ACTOR, **changes: Any) -> ProductOut:
    out, _ = service.save_product(session, product(**changes), actor)
    session.flush()
    return out
