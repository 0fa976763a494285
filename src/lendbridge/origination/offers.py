"""An offer's full terms: the schedule of the offered amount at the offered rate under the
product version the application was decided on, from the offer's start date. Pure given the
product definition; the same function prices the contract at signing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from lendbridge.origination.models import LoanApplication
from lendbridge.products import pricing
from lendbridge.products.schemas import ProductIn
from lendbridge.servicing.loan_terms import product_of
from lendbridge.servicing.schemas import ScheduleOut, schedule_out


def at_rate(product: ProductIn, rate_percent: str) -> ProductIn:
    return product.model_copy(update={"annual_rate_percent": rate_percent})


def schedule(
    product: ProductIn, amount: int, term: int, rate_percent: str, start: dt.date
) -> ScheduleOut:
    quote = pricing.quote(at_rate(product, rate_percent), amount, term, start)
    return schedule_out(quote.schedule, quote.rates)


def offer_schedule(session: Session, application: LoanApplication) -> ScheduleOut | None:
    """The schedule of the application's offer (None without one)."""
    if (
        application.offer_amount is None
        or application.offer_rate_percent is None
        or application.offer_start is None
    ):
        return None
    product = product_of(session, application)
    return schedule(
        product,
        application.offer_amount,
        application.term,
        application.offer_rate_percent,
        application.offer_start,
    )
