"""Applying for a loan, the decision (declined with its reasons, in review, or the offer with
its APR first and the full repayment plan), withdrawing, signing with a one-time code, and
the signed contract (the services of ``/v1/me/applications``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from lendbridge.kit.errors import DomainError
from lendbridge.origination import applications, signing, views
from lendbridge.origination.errors import ApplicationNotFound
from lendbridge.origination.recommendations import active_products
from lendbridge.origination.schemas import ApplicationIn, ApplicationOut
from lendbridge.web import forms, i18n, nav
from lendbridge.web.i18n import N_
from lendbridge.web.pages.portal_common import (
    SessionDep,
    choices,
    form_key,
    new_key,
    parse_yuan,
    send_step_up_code,
    validated,
)
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page, redirect

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]
FEATURE = "f_"  # the model's characteristics, prefixed: "purpose" is one of them too


def _plans(session: SessionDep) -> list[tuple[str, str, str]]:
    """(value, product name, term) of each product's allowed terms."""
    return [
        (f"{p.code}:{term}", p.name, str(term))
        for p in active_products(session, "CNY")
        for term in p.allowed_terms
    ]


def _features(session: SessionDep) -> list[dict[str, Any]]:
    _, fields = applications.form(session)
    return [f for f in fields if not f["from_application"]]


def _apply_page(
    request: Request,
    session: SessionDep,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "portal/apply.html",
        status_code=status,
        form={"key": new_key(), **form},
        errors=errors,
        plans=[
            (value, f"{name} · " + i18n.gettext_("%(term)s installments", term=term))
            for value, name, term in _plans(session)
        ],
        features=[
            {**f, "options": [(str(c), str(c)) for c in f["categories"]]}
            for f in _features(session)
        ],
        purposes=choices("purpose"),
        employments=choices("employment"),
        prefix=FEATURE,
    )


@router.get("/apply", openapi_extra=page(nav.CUSTOMER))
def apply_form(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    return _apply_page(request, session, {}, {})


def _read_application(
    form: dict[str, str], features: list[dict[str, Any]]
) -> tuple[ApplicationIn | None, dict[str, str]]:
    errors: dict[str, str] = {}
    data: dict[str, Any] = {"purpose": form.get("purpose"), "employment": form.get("employment")}
    product, _, term = form.get("plan", "").partition(":")
    if not product or not term.isdigit():
        errors["plan"] = N_("Choose a loan and a term.")
    else:
        data["product_code"], data["term"] = product, int(term)
    for name in ("amount", "monthly_income", "declared_monthly_obligations"):
        text = form.get(name, "")
        if name == "declared_monthly_obligations" and not text:
            data[name] = 0
            continue
        if name == "monthly_income" and text.strip() in ("0", "0.00"):
            data[name] = 0
            continue
        fen, problem = parse_yuan(text)
        if problem:
            errors[name] = problem
        data[name] = fen
    values: dict[str, int | str] = {}
    for feature in features:
        raw = form.get(FEATURE + feature["name"], "")
        if feature["numeric"]:
            if not raw.lstrip("-").isdigit():
                errors[FEATURE + feature["name"]] = N_("Enter a whole number.")
                continue
            values[feature["name"]] = int(raw)
        elif raw not in feature["categories"]:
            errors[FEATURE + feature["name"]] = N_("Choose one of the options.")
        else:
            values[feature["name"]] = raw
    data["features"] = values
    if errors:
        return None, errors
    rename = {f["name"]: FEATURE + f["name"] for f in features}
    rename |= {"product_code": "plan", "term": "plan"}
    body, problems = validated(ApplicationIn, data, rename=rename)
    return body, problems


@router.post("/apply", openapi_extra=page(nav.CUSTOMER))
async def apply(request: Request, session: SessionDep, user: UserDep) -> Response:
    form = await forms.fields(request)
    key = form_key(form.get("key"))
    features = _features(session)
    body, errors = _read_application(form, features)
    if key is None:
        errors[""] = N_("The form has expired; check it and send it again.")
    if body is None or key is None:
        return _apply_page(request, session, form, errors, 422)
    try:
        row, _ = applications.submit(
            session, user.user_id, body, idempotency_key=key, actor=user.actor
        )
    except DomainError as exc:
        session.rollback()
        rename = {f"features.{f['name']}": FEATURE + f["name"] for f in features}
        rename |= {"product_code": "plan", "term": "plan"}
        return _apply_page(request, session, form, forms.errors_of(exc, rename=rename), exc.status)
    session.commit()
    return redirect(f"/applications/{row.id}")


@router.get("/applications", openapi_extra=page(nav.CUSTOMER))
def applications_page(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    rows, _ = applications.listing(
        session, customer_id=user.user_id, status=None, limit=50, cursor=None
    )
    return render(
        request,
        "portal/applications.html",
        applications=rows,
    )


def _application_page(
    request: Request,
    session: SessionDep,
    user: UserDep,
    application_id: uuid.UUID,
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    row = applications.load(session, application_id, customer_id=user.user_id)
    out: ApplicationOut = views.to_out(session, row)
    english = i18n.current() == "en"
    reasons = [r.en if english else r.zh for r in out.reasons]
    return render(
        request,
        "portal/application.html",
        status_code=status,
        application=out,
        reasons=reasons,
        errors=errors,
        form={"key": new_key()},
    )


@router.get("/applications/{application_id}", openapi_extra=page(nav.CUSTOMER))
def application_page(
    request: Request, application_id: uuid.UUID, session: SessionDep, user: UserDep
) -> HTMLResponse:
    return _application_page(request, session, user, application_id, {})


@router.post("/applications/{application_id}/withdraw", openapi_extra=page(nav.CUSTOMER))
def withdraw(
    request: Request, application_id: uuid.UUID, session: SessionDep, user: UserDep
) -> Response:
    try:
        applications.withdraw(session, application_id, user.user_id, user.actor)
    except DomainError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        return _application_page(
            request, session, user, application_id, forms.errors_of(exc), exc.status
        )
    session.commit()
    return redirect(f"/applications/{application_id}", flash=N_("Your application is withdrawn."))


@router.post("/applications/{application_id}/code", openapi_extra=page(nav.CUSTOMER))
def signing_code(
    request: Request, application_id: uuid.UUID, session: SessionDep, user: UserDep
) -> Response:
    applications.load(session, application_id, customer_id=user.user_id)  # yours, or 404
    try:
        send_step_up_code(request, session, user, "sign_contract")
    except DomainError as exc:
        session.rollback()
        return _application_page(
            request, session, user, application_id, forms.errors_of(exc), exc.status
        )
    return redirect(f"/applications/{application_id}", flash=N_("We sent a code to your phone."))


SIGN_CODE_ERROR = N_("The code is wrong, expired or already used.")


@router.post("/applications/{application_id}/sign", openapi_extra=page(nav.CUSTOMER))
def sign(
    request: Request,
    application_id: uuid.UUID,
    session: SessionDep,
    user: UserDep,
    code: Text = "",
    key: Text = "",
) -> Response:
    idempotency = form_key(key)
    code = code.strip()
    if idempotency is None:
        errors = {"": N_("The form has expired; check it and send it again.")}
        return _application_page(request, session, user, application_id, errors, 422)
    if not (len(code) == 6 and code.isdigit()):
        errors = {"code": N_("Enter the 6-digit code from the text message.")}
        return _application_page(request, session, user, application_id, errors, 422)
    try:
        row, _ = signing.sign(
            session,
            application_id,
            user.user_id,
            code,
            idempotency_key=idempotency,
            actor=user.actor,
        )
    except signing.CommitThenRaise as refusal:
        session.commit()  # the counted try, the expired offer
        error = refusal.error
        errors = (
            {"code": SIGN_CODE_ERROR}
            if any(e.field == "code" for e in error.errors)
            else forms.errors_of(error)
        )
        return _application_page(request, session, user, application_id, errors, error.status)
    except DomainError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        return _application_page(
            request, session, user, application_id, forms.errors_of(exc), exc.status
        )
    session.commit()
    target = f"/loans/{row.loan_id}" if row.loan_id else f"/applications/{row.id}"
    return redirect(target, flash=N_("The contract is signed; the money is on its way."))


@router.get("/applications/{application_id}/contract", openapi_extra=page(nav.CUSTOMER))
def contract(application_id: uuid.UUID, session: SessionDep, user: UserDep) -> Response:
    row = applications.load(session, application_id, customer_id=user.user_id)
    signed = signing.contract_of(session, row.id)
    if signed is None:
        raise ApplicationNotFound(f"application {row.id} has no signed contract")
    return Response(
        signing.contract_pdf(signed),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{signed.contract_number}.pdf"',
            "X-Content-SHA256": signed.sha256,
        },
    )
