"""Loan products as data: save (a new version), read, list, retire, quote. Services flush;
the edge commits. Every change is recorded in the audit trail.

Versioning: a saved version never changes. Saving a definition under an existing code adds
version n + 1, unless it equals the newest version (then nothing is written: saving the same
file twice is harmless). New loans use the newest version of an active product and keep the
(code, version) they were made under; a retired product takes no new loans and no new
versions (relaunch it under a new code).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.db import is_postgres
from lendbridge.kit.errors import ValidationFailed, field_error
from lendbridge.products import pricing
from lendbridge.products.errors import ProductNotFound, ProductRetired
from lendbridge.products.models import DEFINITION_FORMAT, Product, ProductVersion
from lendbridge.products.schemas import (
    CODE_PATTERN,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductStatus,
    QuoteIn,
    QuoteOut,
)
from lendbridge.products.validation import validate_product
from lendbridge.servicing.schemas import schedule_out

TARGET = "product"


def _out(head: Product, row: ProductVersion) -> ProductOut:
    definition = ProductIn.model_validate(row.definition)
    return ProductOut(
        **definition.model_dump(),
        version=row.version,
        latest_version=head.latest_version,
        status=ProductStatus(head.status),
        created_at=row.created_at,
        created_by=row.created_by,
    )


def save_product(session: Session, request: ProductIn, actor: Actor) -> tuple[ProductOut, bool]:
    """Validate ``request`` (every rule, the APR cap included: ``validation.py``) and save
    it as version 1 of a new product or the next version of an existing one. Returns the
    version and whether one was written: a definition equal to the newest version writes
    nothing. A retired product takes no new version (``ProductRetired``)."""
    validate_product(request)
    definition = request.model_dump(mode="json")
    now = clock.now()
    if _insert_head(session, request.code, now):
        return _add_version(session, request.code, 1, definition, now, actor, before=None), True
    head = _head(session, request.code, lock=True)
    if head.status == ProductStatus.RETIRED:
        raise ProductRetired(
            f"product {head.code} is retired: it takes no new versions; save it under a new code"
        )
    newest = _version(session, head.code, head.latest_version)
    if newest.definition == definition:
        return _out(head, newest), False
    head.latest_version += 1
    head.updated_at = now
    out = _add_version(
        session, head.code, head.latest_version, definition, now, actor, before=newest.definition
    )
    return out, True


def _insert_head(session: Session, code: str, now: dt.datetime) -> bool:
    """Create the product's head row unless it exists; True if this call created it. An
    insert that ignores a conflict, so two concurrent first saves of a code never fail: the
    second waits for the first and then adds version 2 (or nothing, if they are equal)."""
    dialect_insert = postgresql.insert if is_postgres(session) else sqlite.insert
    statement = (
        dialect_insert(Product)
        .values(
            code=code,
            status=ProductStatus.ACTIVE.value,
            latest_version=1,
            created_at=now,
            updated_at=now,
            retired_at=None,
        )
        .on_conflict_do_nothing(index_elements=["code"])
        .returning(Product.code)
    )
    return session.execute(statement).scalar_one_or_none() is not None


def _add_version(
    session: Session,
    code: str,
    version: int,
    definition: dict[str, object],
    now: dt.datetime,
    actor: Actor,
    *,
    before: dict[str, object] | None,
) -> ProductOut:
    row = ProductVersion(
        code=code,
        version=version,
        format=DEFINITION_FORMAT,
        definition=definition,
        created_at=now,
        created_by=actor.user_id,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        action="products.version.created",
        target_type=TARGET,
        target_id=code,
        before=None if before is None else {"version": version - 1, "definition": before},
        after={"version": version, "definition": definition},
    )
    return _out(_head(session, code), row)


def retire_product(
    session: Session, code: str, actor: Actor, reason: str | None = None
) -> ProductOut:
    """Retire the product: no new loans and no new versions from now on; loans made under
    it keep their version. Retiring a retired product changes nothing."""
    head = _head(session, code, lock=True)
    if head.status != ProductStatus.RETIRED:
        now = clock.now()
        head.status = ProductStatus.RETIRED.value
        head.retired_at = now
        head.updated_at = now
        session.flush()
        record(
            session,
            actor,
            action="products.product.retired",
            target_type=TARGET,
            target_id=code,
            before={"status": ProductStatus.ACTIVE.value},
            after={"status": ProductStatus.RETIRED.value, "reason": reason},
        )
    return _out(head, _version(session, code, head.latest_version))


def get_product(session: Session, code: str, version: int | None = None) -> ProductOut:
    """A version of the product (default the newest), exactly as it was saved."""
    head = _head(session, code)
    return _out(head, _version(session, code, version or head.latest_version))


def product_for_new_loan(session: Session, code: str) -> ProductOut:
    """The version a new loan is made under: the newest one of an active product."""
    out = get_product(session, code)
    if out.status is ProductStatus.RETIRED:
        raise ProductRetired(f"product {code} is retired: it takes no new loans")
    return out


def quote_product(session: Session, code: str, request: QuoteIn) -> QuoteOut:
    """The schedule and APR a new loan of ``request.amount`` over ``request.term`` would
    have under the product's newest version (validated against it, the APR cap included)."""
    product = product_for_new_loan(session, code)
    start = request.start or calendar.business_date(session)
    result = pricing.quote(product, request.amount, request.term, start)
    return QuoteOut(
        code=product.code,
        version=product.version,
        amount=request.amount,
        term=request.term,
        start=start,
        max_apr_percent=product.max_apr_percent,
        schedule=schedule_out(result.schedule, result.rates),
    )


def list_products(
    session: Session,
    *,
    status: ProductStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> ProductPage:
    """The newest version of each product, by code, a page at a time."""
    stmt = (
        select(Product, ProductVersion)
        .join(
            ProductVersion,
            (ProductVersion.code == Product.code)
            & (ProductVersion.version == Product.latest_version),
        )
        .order_by(Product.code)
        .limit(limit + 1)
    )
    if status is not None:
        stmt = stmt.where(Product.status == status.value)
    if cursor is not None:
        stmt = stmt.where(Product.code > decode_cursor(cursor))
    rows = session.execute(stmt).all()
    items = [_out(head, row) for head, row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].code) if len(rows) > limit else None
    return ProductPage(items=items, next_cursor=next_cursor)


def encode_cursor(code: str) -> str:
    return base64.urlsafe_b64encode(f"p:{code}".encode()).decode().rstrip("=")


_CODE = re.compile(CODE_PATTERN)


def decode_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raw = ""
    prefix, _, code = raw.partition(":")
    if prefix != "p" or not _CODE.match(code):
        raise field_error(ValidationFailed, "cursor", "is not a cursor this API issued")
    return code


def _head(session: Session, code: str, *, lock: bool = False) -> Product:
    head = session.get(Product, code, with_for_update=lock, populate_existing=lock)
    if head is None:
        raise ProductNotFound(f"no product has code {code!r}")
    return head


def _version(session: Session, code: str, version: int) -> ProductVersion:
    row = session.get(ProductVersion, (code, version))
    if row is None:
        raise ProductNotFound(f"product {code} has no version {version}")
    return row
