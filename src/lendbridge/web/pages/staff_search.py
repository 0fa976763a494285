"""Finding a customer or a loan, and the customer's page.

People are found by phone or resident ID through the blind indexes (nothing is decrypted to
search), from a POSTed form so that personal data never appears in a URL; loans by id or
contract number. The customer's page shows them masked; a "reveal" (``identity.pii.reveal``)
shows clear values on that response only, audited as ``POST /v1/users/{id}/reveal`` is."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.identity import kyc, registration, validation
from lendbridge.identity.errors import UserNotFound
from lendbridge.identity.kyc_models import BankCard, Person
from lendbridge.identity.kyc_schemas import RevealIn
from lendbridge.identity.models import User, UserKind
from lendbridge.kit import crypto
from lendbridge.kit.errors import DomainError
from lendbridge.kit.http import get_session
from lendbridge.origination import applications
from lendbridge.origination.models import LoanContract
from lendbridge.servicing import loans
from lendbridge.servicing.loan_schemas import LoanOut
from lendbridge.servicing.models import Loan
from lendbridge.web import nav
from lendbridge.web.i18n import N_
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page

router = APIRouter(include_in_schema=False)
SessionDep = Annotated[Session, Depends(get_session)]
USERS_READ = "identity.users.read"
REVEAL = "identity.pii.reveal"
REVEALED = ("phone", "name", "resident_id", "email", "address")
_RESIDENT_ID = re.compile(r"^[0-9]{15}$|^[0-9]{17}[0-9X]$")
_CONTRACT = re.compile(r"^[A-Za-z0-9-]{4,32}$")
LIMIT = 10


@router.get("/staff/search", openapi_extra=page(nav.STAFF))
def search_form(request: Request, user: UserDep) -> HTMLResponse:
    return render(request, "staff/search.html", form={}, errors={}, people=None, found=None)


@router.post("/staff/search", openapi_extra=page(nav.STAFF))
def search(
    request: Request,
    user: UserDep,
    session: SessionDep,
    query: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    """One box: a mobile number or a resident ID finds people; a loan id or a contract
    number finds a loan."""
    text = query.strip().replace(" ", "")
    form = {"query": ""}  # what was typed may be personal data: it is not shown again
    people: list[tuple[User, Person | None]] | None = None
    found: list[LoanOut] | None = None
    error: str | None = None
    as_id = _uuid(text)
    compact = text.upper()
    if not text:
        error = N_("Enter a mobile number, a resident ID, a loan id or a contract number.")
    elif as_id is None and (_RESIDENT_ID.match(compact) or text.isdigit() or text.startswith("+")):
        if not user.may(USERS_READ):
            error = N_("Your roles do not allow searching customers.")
        elif _RESIDENT_ID.match(compact):
            index = crypto.blind_index(compact, purpose=kyc.RESIDENT_ID_INDEX)
            people = _people(
                session,
                select(User, Person)
                .join(Person, Person.user_id == User.id)
                .where(Person.resident_id_index == index),
            )
        else:
            try:
                phone = validation.normalize_mobile(text)
            except DomainError:
                error = N_("Enter an 11-digit mainland mobile number.")
            else:
                index = registration.phone_index(phone)
                people = _people(
                    session,
                    select(User, Person)
                    .outerjoin(Person, Person.user_id == User.id)
                    .where(User.phone_index == index),
                )
    elif as_id is not None or _CONTRACT.match(text):
        if not user.may("loans.read"):
            error = N_("Your roles do not allow searching loans.")
        else:
            found = _loans(session, as_id, text)
            form["query"] = text  # a loan's id or contract number is no personal data
    else:
        error = N_("Enter a mobile number, a resident ID, a loan id or a contract number.")
    session.rollback()
    errors = {"query": error} if error else {}
    return render(
        request,
        "staff/search.html",
        status_code=422 if error else 200,
        form=form,
        errors=errors,
        people=people,
        found=found,
    )


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _people(session: Session, stmt: Select[User, Person]) -> list[tuple[User, Person | None]]:
    rows = session.execute(stmt.limit(LIMIT))
    return [(u, p) for u, p in rows if u.kind != UserKind.STAFF.value]


def _loans(session: Session, loan_id: uuid.UUID | None, text: str) -> list[LoanOut]:
    """As the API lists them, so that the customer's page and this one share a table."""
    stmt = select(Loan)
    if loan_id is not None:
        stmt = stmt.where(Loan.id == loan_id)
    else:
        stmt = stmt.join(LoanContract, LoanContract.loan_id == Loan.id).where(
            LoanContract.contract_number == text
        )
    return [loans.to_out(loan) for loan in session.scalars(stmt)]


def _customer(session: Session, customer_id: uuid.UUID) -> User:
    user = session.get(User, customer_id)
    if user is None or user.kind == UserKind.STAFF.value:
        raise UserNotFound(f"no customer {customer_id}")
    return user


def _show(
    request: Request,
    session: Session,
    user: UserDep,
    customer_id: uuid.UUID,
    *,
    clear: dict[str, str | None] | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    customer = _customer(session, customer_id)
    person = session.get(Person, customer.id)
    cards = list(
        session.scalars(
            select(BankCard).where(BankCard.user_id == customer.id).order_by(BankCard.bound_at)
        )
    )
    their_loans = (
        loans.list_loans(session, customer_id=customer.id, limit=50).items
        if user.may("loans.read")
        else None
    )
    their_applications = (
        applications.listing(session, customer_id=customer.id, status=None, limit=50, cursor=None)[
            0
        ]
        if user.may("applications.read")
        else None
    )
    return render(
        request,
        "staff/customer.html",
        status_code=status_code,
        customer=customer,
        person=person,
        cards=cards,
        loans=their_loans,
        applications=their_applications,
        clear=clear,
        may_reveal=user.may(REVEAL),
        form=form or {},
        errors=errors or {},
    )


@router.get("/staff/customers/{customer_id}", openapi_extra=page(USERS_READ))
def customer_page(
    request: Request, customer_id: uuid.UUID, user: UserDep, session: SessionDep
) -> HTMLResponse:
    response = _show(request, session, user, customer_id)
    session.rollback()
    return response


@router.post("/staff/customers/{customer_id}/reveal", openapi_extra=page(REVEAL))
def reveal(
    request: Request,
    customer_id: uuid.UUID,
    user: UserDep,
    session: SessionDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Clear values for a stated reason; the read is audited exactly as the API's."""
    try:
        body = RevealIn(fields=list(REVEALED), reason=reason.strip())
    except ValidationError:
        errors = {"reason": N_("Give the reason for reading the clear data (5 to 500 characters).")}
        return _show(
            request,
            session,
            user,
            customer_id,
            form={"reason": reason},
            errors=errors,
            status_code=422,
        )
    customer = _customer(session, customer_id)
    person = session.get(Person, customer.id)
    available = {
        "email": customer.email,
        "address": customer.address,
        "phone": customer.phone,
        "name": person.name if person else None,
        "resident_id": person.resident_id if person else None,
    }
    values: dict[str, str | None] = {name: available[name] for name in body.fields}
    record(
        session,
        user.actor,
        action="identity.pii_reveal",
        target_type="user",
        target_id=str(customer.id),
        after={"fields": list(body.fields), "reason": body.reason},
    )
    session.commit()
    return _show(request, session, user, customer_id, clear=values)
