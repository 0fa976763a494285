"""``/staff/products``: the loan products, each product's versions, and the forms that
request a new product or a new version through maker-checker (action ``products.save``,
saved once another staff member approves it), and retiring a product."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.approvals import service as approvals
from lendbridge.approvals.models import ApprovalRequest, ApprovalStatus
from lendbridge.kit.errors import DomainError
from lendbridge.products import service
from lendbridge.products.approval_actions import PREFIX, SAVE_PRODUCT
from lendbridge.products.errors import ProductNotFound
from lendbridge.products.models import ProductVersion
from lendbridge.products.schemas import CODE_PATTERN, ProductIn, ProductStatus
from lendbridge.servicing.schedule import Frequency, Method
from lendbridge.web import forms
from lendbridge.web.forms import BadInput, parse_yuan, yuan_text
from lendbridge.web.i18n import N_
from lendbridge.web.labels import label
from lendbridge.web.pages.office_common import (
    SessionDep,
    field_errors,
    shown,
    usernames,
)
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page, redirect
from lendbridge.web.sessions import WebUser

router = APIRouter(include_in_schema=False)
READ = "products.read"
MANAGE = "products.manage"

# The definition's fields (dotted) → the form's fields.
FIELDS = {
    "code": "code",
    "name": "name",
    "min_amount": "min_amount",
    "max_amount": "max_amount",
    "allowed_terms": "allowed_terms",
    "frequency": "frequency",
    "method": "method",
    "annual_rate_percent": "annual_rate_percent",
    "upfront_fee": "upfront_fee_percent",
    "upfront_fee.percent": "upfront_fee_percent",
    "upfront_fee.fixed": "upfront_fee_fixed",
    "installment_fee.percent": "installment_fee_percent",
    "max_apr_percent": "max_apr_percent",
}


def _versions(session: Session, code: str) -> list[Any]:
    stmt = (
        select(ProductVersion.version, ProductVersion.created_at, ProductVersion.created_by)
        .where(ProductVersion.code == code)
        .order_by(ProductVersion.version.desc())
    )
    return list(session.execute(stmt).all())


def _pending_saves(session: Session) -> list[ApprovalRequest]:
    stmt = (
        select(ApprovalRequest)
        .where(
            ApprovalRequest.action == SAVE_PRODUCT.name,
            ApprovalRequest.status == ApprovalStatus.PENDING.value,
        )
        .order_by(ApprovalRequest.created_at.desc())
        .limit(50)
    )
    return list(session.scalars(stmt))


@router.get("/staff/products", openapi_extra=page(READ))
def products(request: Request, user: UserDep, session: SessionDep) -> HTMLResponse:
    listing = service.list_products(session, limit=500)
    return render(
        request,
        "office/products.html",
        products=listing.items,
        pending=_pending_saves(session),
        may_manage=user.may(MANAGE),
    )


def _form_of(definition: dict[str, Any]) -> dict[str, str]:
    upfront = definition.get("upfront_fee") or {}
    installment = definition.get("installment_fee") or {}
    return {
        "code": str(definition.get("code", "")),
        "name": str(definition.get("name", "")),
        "min_amount": yuan_text(int(definition["min_amount"])),
        "max_amount": yuan_text(int(definition["max_amount"])),
        "allowed_terms": ", ".join(str(t) for t in definition.get("allowed_terms", [])),
        "frequency": str(definition.get("frequency", Frequency.MONTHLY.value)),
        "method": str(definition.get("method", Method.EQUAL_INSTALLMENT.value)),
        "annual_rate_percent": str(definition.get("annual_rate_percent", "")),
        "upfront_fee_percent": str(upfront.get("percent", "0")),
        "upfront_fee_fixed": yuan_text(int(upfront.get("fixed", 0))),
        "installment_fee_percent": str(installment.get("percent", "0")),
        "max_apr_percent": str(definition.get("max_apr_percent", "24")),
    }


def _definition(
    form: dict[str, str], base: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The form over ``base`` (the newest version's definition, or nothing): the definition to
    request, and the errors of fields typed wrongly."""
    errors: dict[str, str] = {}
    definition = dict(base)
    for name in ("code", "name", "frequency", "method", "annual_rate_percent", "max_apr_percent"):
        definition[name] = form.get(name, "")
    for name in ("min_amount", "max_amount"):
        try:
            definition[name] = parse_yuan(form.get(name, ""))
        except BadInput as exc:
            errors[name] = exc.message
    terms: list[int] = []
    for part in form.get("allowed_terms", "").replace("，", ",").split(","):
        if part.strip().isdigit():
            terms.append(int(part.strip()))
        elif part.strip():
            errors["allowed_terms"] = N_(
                "List whole numbers separated by commas, such as 3, 6, 12."
            )
    if not terms and "allowed_terms" not in errors:
        errors["allowed_terms"] = N_("List whole numbers separated by commas, such as 3, 6, 12.")
    definition["allowed_terms"] = terms
    upfront = dict(base.get("upfront_fee") or {})
    upfront["percent"] = form.get("upfront_fee_percent") or "0"
    try:
        upfront["fixed"] = parse_yuan(form.get("upfront_fee_fixed") or "0", allow_zero=True)
    except BadInput as exc:
        errors["upfront_fee_fixed"] = exc.message
    definition["upfront_fee"] = upfront
    installment = dict(base.get("installment_fee") or {})
    installment["percent"] = form.get("installment_fee_percent") or "0"
    definition["installment_fee"] = installment
    return definition, errors


def _schema_errors(exc: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        path = ".".join(str(p) for p in error["loc"] if not isinstance(p, int))
        target = FIELDS.get(path, "")
        message = (
            N_("This value is not allowed here.") if target else shown(f"{path}: {error['msg']}")
        )
        found.setdefault(target, message)
    return found


def _form_page(
    request: Request,
    *,
    form: dict[str, str],
    errors: dict[str, str],
    code: str | None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "office/product_form.html",
        status_code=status_code,
        form=form,
        errors=errors,
        code=code,
        frequencies=[(f.value, label(f, "repayment_frequency")) for f in Frequency],
        methods=[(m.value, label(m, "repayment_method")) for m in Method],
    )


def _request_save(
    request: Request,
    session: Session,
    user: WebUser,
    form: dict[str, str],
    base: dict[str, Any],
    code: str | None,
) -> Response:
    if code is not None:
        form["code"] = code
    definition, errors = _definition(form, base)
    reason = form.get("reason", "")
    if not reason:
        errors["reason"] = N_("Say why, for the approver.")
    if not errors:
        try:
            ProductIn.model_validate(definition)
        except ValidationError as exc:
            errors = _schema_errors(exc)
    if not errors:
        try:
            approvals.request_action(
                session, user.actor, action=SAVE_PRODUCT.name, payload=definition, reason=reason
            )
        except DomainError as exc:
            session.rollback()
            errors = field_errors(exc, FIELDS, strip=PREFIX)
            return _form_page(request, form=form, errors=errors, code=code, status_code=exc.status)
        session.commit()
        return redirect(
            "/staff/products", flash=N_("Sent for approval: another staff member approves it.")
        )
    return _form_page(request, form=form, errors=errors, code=code, status_code=422)


@router.get("/staff/products/new", openapi_extra=page(MANAGE))
def new_product_form(request: Request, user: UserDep) -> HTMLResponse:
    form = {"frequency": "monthly", "method": "equal_installment", "max_apr_percent": "24"}
    return _form_page(request, form=form, errors={}, code=None)


@router.post("/staff/products/new", openapi_extra=page(MANAGE))
async def new_product(request: Request, user: UserDep, session: SessionDep) -> Response:
    form = await forms.fields(request)
    return _request_save(request, session, user, form, {}, None)


def _code(code: str) -> str:
    if not re.match(CODE_PATTERN, code):
        raise ProductNotFound(f"no product has code {code!r}")
    return code


@router.get("/staff/products/{code}", openapi_extra=page(READ))
def product(request: Request, code: str, user: UserDep, session: SessionDep) -> HTMLResponse:
    newest = service.get_product(session, _code(code))
    versions = _versions(session, newest.code)
    return render(
        request,
        "office/product.html",
        product=newest,
        versions=versions,
        names=usernames(session, [v.created_by for v in versions]),
        may_manage=user.may(MANAGE) and newest.status is ProductStatus.ACTIVE,
        errors={},
    )


@router.get("/staff/products/{code}/version", openapi_extra=page(MANAGE))
def new_version_form(
    request: Request, code: str, user: UserDep, session: SessionDep
) -> HTMLResponse:
    newest = service.get_product(session, _code(code))
    form = _form_of(newest.model_dump(mode="json"))
    return _form_page(request, form=form, errors={}, code=newest.code)


@router.post("/staff/products/{code}/version", openapi_extra=page(MANAGE))
async def new_version(request: Request, code: str, user: UserDep, session: SessionDep) -> Response:
    newest = service.get_product(session, _code(code))
    base = ProductIn.model_validate(newest.model_dump(include=set(ProductIn.model_fields)))
    session.rollback()
    form = await forms.fields(request)
    return _request_save(request, session, user, form, base.model_dump(mode="json"), newest.code)


@router.post("/staff/products/{code}/retire", openapi_extra=page(MANAGE))
async def retire(request: Request, code: str, user: UserDep, session: SessionDep) -> Response:
    form = await forms.fields(request)
    reason = form.get("reason", "")[:200] or None
    service.retire_product(session, _code(code), user.actor, reason)
    session.commit()
    return redirect(f"/staff/products/{code}", flash=N_("The product is retired: no new loans."))
