"""A loan's terms: the product version it was made under (cached: versions never change)
and the schedule engine's ``Terms`` built from it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Protocol

from sqlalchemy.orm import Session

from lendbridge.products import pricing
from lendbridge.products import service as products
from lendbridge.products.schemas import ProductIn
from lendbridge.servicing.models import Loan
from lendbridge.servicing.schedule import Terms

# (code, version) -> definition. A version is immutable, so the cache never goes stale; it
# holds one small object per version in use.
_PRODUCTS: dict[tuple[str, int], ProductIn] = {}
_FIELDS = set(ProductIn.model_fields)


class Pinned(Protocol):
    """A loan, or a row of one, naming its product version."""

    product_code: str
    product_version: int


def product_of(session: Session, loan: Pinned) -> ProductIn:
    """The definition of the product version the loan is pinned to."""
    key = (loan.product_code, loan.product_version)
    cached = _PRODUCTS.get(key)
    if cached is None:
        out = products.get_product(session, loan.product_code, loan.product_version)
        cached = ProductIn.model_validate(out.model_dump(include=_FIELDS))
        _PRODUCTS[key] = cached
    return cached


def terms_of(product: ProductIn, loan: Loan, start: dt.date | None = None) -> Terms:
    """The engine's terms of ``loan`` from ``start`` (default the loan's start date), at the
    loan's own rate (a restructure may have changed it from the product's)."""
    terms = pricing.engine_terms(product, loan.principal, loan.term, start or loan.start_date)
    return dataclasses.replace(terms, annual_rate_percent=Decimal(loan.annual_rate_percent))
