"""The needs questionnaire of the signed-in borrower (``/v1/me/needs``) and a customer's
product recommendations (``/v1/customers/{customer_id}/recommendations``): the customer's own,
or any customer's for staff with ``applications.read``; anyone else is told "not found"."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.orm import Session

from lendbridge.identity import catalog
from lendbridge.kit import problems
from lendbridge.kit.http import ActorDep, ThreadedRoute, get_session, permission
from lendbridge.origination import applications, needs, recommendations
from lendbridge.origination.needs_models import MAX_NEED_AMOUNT, MAX_TERM_MONTHS
from lendbridge.origination.needs_schemas import NeedsIn, NeedsOut, needs_out
from lendbridge.origination.recommendation_schemas import RecommendationsOut

router = APIRouter(
    route_class=ThreadedRoute,
    tags=["origination"],
    responses=problems.responses(401, 404, 409, 422),
)
SessionDep = Annotated[Session, Depends(get_session)]
SELF = permission(catalog.SELF)


@router.post("/v1/me/needs", status_code=status.HTTP_201_CREATED, openapi_extra=SELF)
def answer_needs(body: NeedsIn, actor: ActorDep, session: SessionDep) -> NeedsOut:
    """Answer the needs questionnaire (borrowers): purpose, amount, term, monthly income and
    payments elsewhere, employment. Every answer is kept; the latest counts."""
    row = needs.answer_needs(session, actor, body)
    session.commit()
    return needs_out(row)


@router.get("/v1/me/needs", openapi_extra=SELF)
def my_needs(actor: ActorDep, session: SessionDep) -> NeedsOut:
    """Your latest answer to the needs questionnaire (404 before the first one)."""
    return needs_out(needs.my_latest_needs(session, actor))


@router.get("/v1/customers/{customer_id}/recommendations", openapi_extra=SELF)
def customer_recommendations(
    customer_id: uuid.UUID,
    actor: ActorDep,
    session: SessionDep,
    amount: Annotated[
        int | None,
        Query(gt=0, le=MAX_NEED_AMOUNT, description="Fen; default: the latest answer's."),
    ] = None,
    term: Annotated[
        int | None,
        Query(ge=1, le=MAX_TERM_MONTHS, description="Months; default: the latest answer's."),
    ] = None,
) -> RecommendationsOut:
    """The products that fit the customer's needs, best fit first (then the lowest APR): the
    amount and term each is estimated for, the rate (or its range), APR, monthly payment and
    total repayment, the fit score and the reasons in Chinese and English; the products that
    do not fit, with why. Nothing is stored."""
    recommendations.check_access(actor, customer_id)
    recommendations.borrower(session, customer_id)
    need = needs.need_for(needs.latest_needs(session, customer_id), amount=amount, term=term)
    grade = applications.latest_grade(session, customer_id)  # priced as a range when None
    return recommendations.recommend(session, customer_id, need, grade=grade)
