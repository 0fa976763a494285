"""Factories for servicing tests: schedule terms (the engine's defaults with short names for
what varies), verified borrowers and loan products."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from lendbridge.identity import kyc
from lendbridge.identity.models import UserKind
from lendbridge.identity.registration import new_customer
from lendbridge.identity.verification import DevelopmentVerifier
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.products import service
from lendbridge.products.schemas import ProductIn
from lendbridge.servicing.schedule import Terms


def terms(
    *,
    principal: int = 1_000_000,
    rate: str = "12",
    term: int = 12,
    start: str | dt.date = "2024-01-01",
    **changes: Any,
) -> Terms:
    """Terms with the rate as a percent string and the start as an ISO date."""
    day = dt.date.fromisoformat(start) if isinstance(start, str) else start
    return Terms(
        principal=principal, annual_rate_percent=Decimal(rate), term=term, start=day, **changes
    )


# --- loans ----------------------------------------------------------------------------------

# Documented development identities (docs/identity-test-data.md): name, resident id, card, mobile.
PEOPLE = {
    "zhang": ("张伟", "110105199003071239", "6222020200012345670", "13800000001"),
    "li": ("李娜", "31010419880520006X", "6217000200023456783", "13800000002"),
    "wang": ("王芳", "440305199512310469", "6228480200034567897", "13800000003"),
}
_phones = itertools.count(13900000001)


def customer(
    session: Session, who: str = "zhang", *, verify: bool = True, card: bool = True
) -> uuid.UUID:
    """A borrower, verified and with a bound card unless told otherwise."""
    name, resident_id, card_number, mobile = PEOPLE[who]
    user = new_customer(
        session, phone=str(next(_phones)), password="a long enough secret", kind=UserKind.BORROWER
    )
    actor = Actor(user_id=str(user.id), roles=("borrower",))
    verifier = DevelopmentVerifier()
    if verify:
        kyc.verify_identity(session, verifier, actor, name=name, resident_id=resident_id)
        if card:
            kyc.bind_card(
                session,
                verifier,
                actor,
                card_number=card_number,
                reserved_mobile=mobile,
                step_up_code=None,
            )
    session.flush()
    return user.id


def product_document(**changes: Any) -> dict[str, Any]:
    """A loan product: 12 % a year, 12 monthly equal installments, no fees."""
    values: dict[str, Any] = {
        "code": "LOAN-EI",
        "name": "测试贷款 / Test loan",
        "min_amount": 1_000_00,
        "max_amount": 50_000_00,
        "allowed_terms": [3, 6, 12],
        "frequency": "monthly",
        "method": "equal_installment",
        "annual_rate_percent": "12",
    }
    values.update(changes)
    return values


def product(session: Session, **changes: Any) -> str:

    out, _ = service.save_product(
        session, ProductIn.model_validate(product_document(**changes)), system_actor("tests")
    )
    session.flush()
    return out.code
