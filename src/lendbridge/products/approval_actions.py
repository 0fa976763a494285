"""Product actions that need a second person: saving a product version (a new product or a
new version of an existing one) requested by one staff member and saved, once, when another
approves it (maker permission ``products.manage``).

The definition is validated in full when it is requested (every rule and the APR cap, the
same ``validate_product`` the direct save runs), so a request that could never be saved is
refused at once with its field errors (``payload.<field>``); it is validated again when it is
saved. The version is created by its maker (``created_by``); the approval is in the audit
trail. ``POST /v1/products`` keeps its direct save (integrations, the CLI).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from lendbridge.approvals.actions import Action, Approved, Payload, register
from lendbridge.audit.service import record
from lendbridge.kit.errors import DomainError, FieldError, ValidationFailed, field_error
from lendbridge.products import service
from lendbridge.products.errors import ProductRetired
from lendbridge.products.models import Product
from lendbridge.products.schemas import ProductIn, ProductStatus
from lendbridge.products.validation import validate_product

PREFIX = "payload."


def _definition(payload: Mapping[str, Any]) -> ProductIn:
    try:
        return ProductIn.model_validate(dict(payload))
    except ValidationError as exc:
        problems = [
            FieldError(PREFIX + ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()
        ]
        raise ValidationFailed("payload: not a valid product definition", problems) from None


def _prefixed(exc: DomainError) -> ValidationFailed:
    errors = [FieldError(PREFIX + e.field, e.message) for e in exc.errors]
    return ValidationFailed(exc.detail, errors, exc.extra)


def _validate(session: Session, payload: Mapping[str, Any]) -> Payload:
    definition = _definition(payload)
    try:
        validate_product(definition)
    except ValidationFailed as exc:
        raise _prefixed(exc) from None
    head = session.get(Product, definition.code)
    if head is not None and head.status == ProductStatus.RETIRED:
        raise field_error(
            ProductRetired, PREFIX + "code", "the product is retired: save it under a new code"
        )
    return definition.model_dump(mode="json")


def _save(session: Session, approved: Approved) -> Payload:
    definition = _definition(approved.payload)
    out, created = service.save_product(session, definition, approved.maker)
    record(
        session,
        approved.checker,
        action="products.version.approved",
        target_type=service.TARGET,
        target_id=out.code,
        after={"version": out.version, "created": created, "approval": approved.request_id},
    )
    return {"code": out.code, "version": out.version, "created": created}


SAVE_PRODUCT = register(
    Action(
        name="products.save",
        description="Save a loan product version",
        maker_permission="products.manage",
        validate=_validate,
        run=_save,
    )
)
