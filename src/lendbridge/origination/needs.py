"""The needs questionnaire: a borrower says what they need (amount, term, purpose) and what
they can carry (income, payments elsewhere, employment). Each answer is stored as a new row
and audited; the latest one is what recommendations start from. Services flush; the edge
commits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.identity import kyc
from lendbridge.identity.errors import UserNotFound
from lendbridge.identity.models import User, UserKind
from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import Conflict, FieldError, NotFound
from lendbridge.kit.ids import new_id
from lendbridge.origination.needs_models import CustomerNeed
from lendbridge.origination.needs_schemas import NeedsIn


class NeedsNotFound(NotFound):
    code = "origination.needs_not_found"
    title = "No answer to the needs questionnaire yet"


def borrower(session: Session, actor: Actor) -> User:
    """The signed-in borrower. Staff and investors have no needs to answer: for them the
    questionnaire is "not found", like any record that is not theirs."""
    user = kyc.customer(session, actor)
    if user.kind != UserKind.BORROWER.value:
        raise UserNotFound("the needs questionnaire is for borrowers")
    return user


def answer_needs(session: Session, actor: Actor, body: NeedsIn) -> CustomerNeed:
    """Store the signed-in borrower's answer (a new row; earlier answers are kept) on the
    business date, audited (amounts, not who the person is)."""
    user = borrower(session, actor)
    row = CustomerNeed(
        id=new_id(),
        customer_id=user.id,
        purpose=body.purpose.value,
        amount=body.amount,
        currency=body.currency,
        term_months=body.term_months,
        monthly_income=body.monthly_income,
        monthly_obligations=body.monthly_obligations,
        employment=body.employment.value,
        answered_on=calendar.business_date(session),
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        action="origination.needs.answer",
        target_type="customer_need",
        target_id=str(row.id),
        after={
            "customer_id": str(user.id),
            "purpose": row.purpose,
            "amount": row.amount,
            "currency": row.currency,
            "term_months": row.term_months,
            "employment": row.employment,
        },
    )
    return row


def latest_needs(session: Session, customer_id: uuid.UUID) -> CustomerNeed | None:
    """The customer's latest answer (the newest id: ids are time-ordered), or None."""
    return session.scalar(
        select(CustomerNeed)
        .where(CustomerNeed.customer_id == customer_id)
        .order_by(CustomerNeed.id.desc())
        .limit(1)
    )


def my_latest_needs(session: Session, actor: Actor) -> CustomerNeed:
    user = borrower(session, actor)
    row = latest_needs(session, user.id)
    if row is None:
        raise NeedsNotFound("you have not answered the needs questionnaire yet")
    return row


class NeedsRequired(Conflict):
    code = "origination.needs_required"
    title = "Answer the needs questionnaire first"


@dataclasses.dataclass(frozen=True, slots=True)
class Need:
    """What the recommendations are for: a questionnaire answer, possibly with the amount or
    the term replaced (``overridden``). No income (None): affordability is not checked."""

    amount: int
    term_months: int
    currency: str = "CNY"
    monthly_income: int | None = None
    monthly_obligations: int = 0
    needs_id: uuid.UUID | None = None
    answered_on: dt.date | None = None
    overridden: tuple[str, ...] = ()


def need_for(answer: CustomerNeed | None, *, amount: int | None, term: int | None) -> Need:
    """The need from the latest answer and the query's ``amount`` and ``term`` (months), which
    replace the answer's. Without an answer both must be given (``NeedsRequired``, 409,
    naming each missing one)."""
    given = (("amount", amount), ("term", term))
    overridden = tuple(name for name, value in given if value is not None)
    if answer is None:
        missing = [name for name, value in given if value is None]
        if missing:
            message = "answer the needs questionnaire (POST /v1/me/needs) or give it here"
            raise NeedsRequired(
                "answer the needs questionnaire first (POST /v1/me/needs), or give "
                + " and ".join(missing),
                [FieldError(name, message) for name in missing],
            )
        assert amount is not None
        assert term is not None
        return Need(amount=amount, term_months=term, overridden=overridden)
    return Need(
        amount=answer.amount if amount is None else amount,
        term_months=answer.term_months if term is None else term,
        currency=answer.currency,
        monthly_income=answer.monthly_income,
        monthly_obligations=answer.monthly_obligations,
        needs_id=answer.id,
        answered_on=answer.answered_on,
        overridden=overridden,
    )
