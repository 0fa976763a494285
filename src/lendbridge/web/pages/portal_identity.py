"""Real-name verification and the bank card of the signed-in borrower (the services of
``/v1/me/identity`` and ``/v1/me/bank-cards``). Only masked values are ever shown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from lendbridge.identity import codes, kyc
from lendbridge.identity.kyc_endpoints import PROVIDER_REFUSALS, verifier
from lendbridge.identity.kyc_models import BankCard, Person
from lendbridge.identity.kyc_schemas import BankCardIn, IdentityIn
from lendbridge.kit.errors import DomainError
from lendbridge.web import forms, nav
from lendbridge.web.i18n import N_
from lendbridge.web.pages.portal_common import SessionDep, send_step_up_code, validated
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page, redirect

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]
MISMATCH = N_("These details do not match the records. Check them and try again.")
UNAVAILABLE = N_("Verification is not available right now. Please try again later.")


def _identity_page(
    request: Request,
    session: SessionDep,
    user: UserDep,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    person = session.get(Person, user.user_id)
    return render(
        request,
        "portal/identity.html",
        status_code=status,
        person=person,
        form=form,
        errors=errors,
    )


@router.get("/me/identity", openapi_extra=page(nav.CUSTOMER))
def identity_page(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    return _identity_page(request, session, user, {}, {})


def _refusal(exc: DomainError) -> dict[str, str]:
    if isinstance(exc, kyc.VerificationUnavailable):
        return {"": UNAVAILABLE}
    if isinstance(exc, kyc.VerificationMismatch):
        return {"": MISMATCH}
    return forms.errors_of(exc)


@router.post("/me/identity", openapi_extra=page(nav.CUSTOMER))
def verify_identity(
    request: Request, session: SessionDep, user: UserDep, name: Text = "", resident_id: Text = ""
) -> Response:
    form = {"name": name.strip()}  # the resident id is never echoed back
    body, errors = validated(IdentityIn, {"name": name.strip(), "resident_id": resident_id.strip()})
    if body is None:
        return _identity_page(request, session, user, form, errors, 422)
    try:
        kyc.verify_identity(
            session, verifier(request), user.actor, name=body.name, resident_id=body.resident_id
        )
    except PROVIDER_REFUSALS as exc:
        session.commit()  # the attempt is audited
        return _identity_page(request, session, user, form, _refusal(exc), exc.status)
    except DomainError as exc:
        session.rollback()
        return _identity_page(request, session, user, form, _refusal(exc), exc.status)
    session.commit()
    return redirect("/me/cards", flash=N_("Your identity is verified."))


def _cards_page(
    request: Request,
    session: SessionDep,
    user: UserDep,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    cards = list(
        session.scalars(
            select(BankCard).where(BankCard.user_id == user.user_id).order_by(BankCard.bound_at)
        )
    )
    verified = session.get(Person, user.user_id) is not None
    return render(
        request,
        "portal/cards.html",
        status_code=status,
        cards=cards,
        verified=verified,
        has_bound=any(c.status == "bound" for c in cards),
        form=form,
        errors=errors,
    )


@router.get("/me/cards", openapi_extra=page(nav.CUSTOMER))
def cards_page(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    return _cards_page(request, session, user, {}, {})


@router.post("/me/cards", openapi_extra=page(nav.CUSTOMER))
def bind_card(
    request: Request,
    session: SessionDep,
    user: UserDep,
    card_number: Text = "",
    reserved_mobile: Text = "",
    step_up_code: Text = "",
) -> Response:
    form = {"reserved_mobile": reserved_mobile.strip()}  # the card number is never echoed back
    data: dict[str, object] = {
        "card_number": card_number.replace(" ", "").strip(),
        "reserved_mobile": reserved_mobile.strip(),
        "step_up_code": step_up_code.strip() or None,
    }
    body, errors = validated(BankCardIn, data)
    if body is None:
        return _cards_page(request, session, user, form, errors, 422)
    try:
        kyc.bind_card(
            session,
            verifier(request),
            user.actor,
            card_number=body.card_number,
            reserved_mobile=body.reserved_mobile,
            step_up_code=body.step_up_code,
        )
    except (*PROVIDER_REFUSALS, codes.CodeRejected) as exc:
        session.commit()  # audited attempt, counted code
        return _cards_page(request, session, user, form, _refusal(exc), exc.status)
    except DomainError as exc:
        session.rollback()
        return _cards_page(request, session, user, form, _refusal(exc), exc.status)
    session.commit()
    return redirect("/me/cards", flash=N_("Your bank card is bound."))


@router.post("/me/cards/code", openapi_extra=page(nav.CUSTOMER))
def card_code(request: Request, session: SessionDep, user: UserDep) -> Response:
    try:
        send_step_up_code(request, session, user, "change_bank_card")
    except DomainError as exc:
        session.rollback()
        return _cards_page(request, session, user, {}, forms.errors_of(exc), exc.status)
    return redirect("/me/cards", flash=N_("We sent a code to your phone."))
