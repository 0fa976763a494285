"""The needs questionnaire: what the borrower needs (purpose, amount, term) and what they can
carry (income, payments elsewhere, employment). Answered with the service of
``POST /v1/me/needs``; the home page's recommendations start from the latest answer."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from lendbridge.kit.errors import DomainError
from lendbridge.origination import needs
from lendbridge.origination.needs_models import (
    MAX_MONTHLY_AMOUNT,
    MAX_NEED_AMOUNT,
    MAX_TERM_MONTHS,
    CustomerNeed,
)
from lendbridge.origination.needs_schemas import NeedsIn
from lendbridge.web import forms, nav
from lendbridge.web.i18n import N_, gettext_, money
from lendbridge.web.pages.portal_common import SessionDep, choices, parse_yuan, validated
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page, redirect

router = APIRouter(include_in_schema=False)
YUAN_FIELDS = ("amount", "monthly_income", "monthly_obligations")
FIELDS = (*YUAN_FIELDS, "purpose", "employment", "term_months")
CHOOSE = N_("Choose one of the options.")


def _message(field: str) -> str:
    """What NeedsIn's refusal of ``field`` means to the borrower, with the model's own limits
    (so the page and the API never disagree), in the page's language."""
    if field in ("purpose", "employment"):
        return gettext_(CHOOSE)
    if field == "amount":
        return gettext_(N_("Enter an amount up to %(max)s."), max=money(MAX_NEED_AMOUNT))
    if field == "term_months":
        return gettext_(N_("Enter a whole number of months, 1 to %(max)s."), max=MAX_TERM_MONTHS)
    return gettext_(N_("Enter 0 to %(max)s a month."), max=money(MAX_MONTHLY_AMOUNT))


def _yuan(fen: int) -> str:
    return str(Decimal(fen).scaleb(-2))


def _answered(answer: CustomerNeed | None) -> dict[str, str]:
    """The latest answer as the form shows it (yuan), to be updated."""
    if answer is None:
        return {}
    return {
        "purpose": answer.purpose,
        "amount": _yuan(answer.amount),
        "term_months": str(answer.term_months),
        "monthly_income": _yuan(answer.monthly_income),
        "monthly_obligations": _yuan(answer.monthly_obligations),
        "employment": answer.employment,
    }


def _needs_page(
    request: Request, form: dict[str, str], errors: dict[str, str], status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "portal/needs.html",
        status_code=status,
        form=form,
        errors=errors,
        purposes=choices("purpose"),
        employments=choices("employment"),
    )


@router.get("/needs", openapi_extra=page(nav.CUSTOMER))
def needs_form(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    return _needs_page(request, _answered(needs.latest_needs(session, user.user_id)), {})


def _read_needs(form: dict[str, str]) -> tuple[NeedsIn | None, dict[str, str]]:
    errors: dict[str, str] = {}
    data: dict[str, object] = {"purpose": form.get("purpose"), "employment": form.get("employment")}
    for name in YUAN_FIELDS:
        text = form.get(name, "")
        if name == "monthly_obligations" and not text:
            data[name] = 0  # optional: nothing paid elsewhere
            continue
        fen, problem = parse_yuan(text, allow_zero=name != "amount")  # 0 a month is fine
        if problem:
            errors[name] = problem
        data[name] = fen
    term = form.get("term_months", "")
    whole = term.isascii() and term.isdigit()  # not "²" or "1.5"
    data["term_months"] = int(term) if whole else None
    if not whole:
        errors["term_months"] = _message("term_months")
    body, problems = validated(NeedsIn, data)
    for name in problems:
        errors.setdefault(name, _message(name) if name in FIELDS else problems[name])
    return (None if errors else body), errors


@router.post("/needs", openapi_extra=page(nav.CUSTOMER))
async def answer_needs(request: Request, session: SessionDep, user: UserDep) -> Response:
    form = await forms.fields(request)
    body, errors = _read_needs(form)
    if body is None:
        return _needs_page(request, form, errors, 422)
    try:
        needs.answer_needs(session, user.actor, body)
    except DomainError as exc:
        session.rollback()
        return _needs_page(request, form, forms.errors_of(exc), exc.status)
    session.commit()
    return redirect("/", flash=N_("Thank you: your recommendations now fit what you need."))
