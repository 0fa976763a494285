"""A loan's terms: the product version it was made under (cached: versions never change)
and the schedule engine's ``Terms`` built from it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import weakref
from decimal import Decimal
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from lendbridge.products import pricing
from lendbridge.products import service as products
from lendbridge.products.schemas import ProductIn
from lendbridge.servicing.models import Loan
from lendbridge.servicing.schedule import Terms

# Per database (its engine): (code, version) -> definition. A version is immutable in its
# database, so the cache never goes stale; it holds one small object per version in use.
# Keyed by engine because one process may open several databases (the CLI's tests, the
# benchmarks) whose products share codes and versions but not content.
_PRODUCTS: weakref.WeakKeyDictionary[Engine, dict[tuple[str, int], ProductIn]] = (
    weakref.WeakKeyDictionary()
)
_FIELDS = set(ProductIn.model_fields)


class Pinned(Protocol):
    """A loan, or a row of one, naming its product version."""

    product_code: str
    product_version: int


def product_of(session: Session, loan: Pinned) -> ProductIn:
    """The definition of the product version the loan is pinned to."""
    key = (loan.product_code, loan.product_version)
    bind = session.get_bind()
    known = _PRODUCTS.setdefault(bind if isinstance(bind, Engine) else bind.engine, {})
    cached = known.get(key)
    if cached is None:
        out = products.get_product(session, loan.product_code, loan.product_version)
        cached = ProductIn.model_validate(out.model_dump(include=_FIELDS))
        known[key] = cached
    return cached


def forget_products() -> None:
    """Drop the cached definitions: for whoever empties a database under a running process
    (the tests reuse one PostgreSQL database, truncated between tests)."""
    _PRODUCTS.clear()


def terms_of(product: ProductIn, loan: Loan, start: dt.date | None = None) -> Terms:
    """The engine's terms of ``loan`` from ``start`` (default the loan's start date), at the
    loan's own rate (a restructure may have changed it from the product's)."""
    terms = pricing.engine_terms(product, loan.principal, loan.term, start or loan.start_date)
    return dataclasses.replace(terms, annual_rate_percent=Decimal(loan.annual_rate_percent))
