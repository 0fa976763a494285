"""The borrower's home: what to do next (verify the identity, bind a card, apply, sign the
offer, repay the next installment), the open application, the loans, recommended products
and the count of new notifications."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from lendbridge.identity.kyc_models import Person
from lendbridge.kit.errors import DomainError
from lendbridge.origination import applications, needs, recommendations
from lendbridge.origination.models import ApplicationStatus, LoanApplication
from lendbridge.origination.needs_models import CustomerNeed
from lendbridge.origination.recommendation_schemas import RecommendationsOut
from lendbridge.servicing import customers, loans
from lendbridge.web import nav
from lendbridge.web.i18n import N_
from lendbridge.web.pages.portal_common import SessionDep
from lendbridge.web.pages.portal_loans import next_due
from lendbridge.web.pages.portal_notifications import unread_count
from lendbridge.web.render import render
from lendbridge.web.routing import UserDep, page

router = APIRouter(include_in_schema=False)
OPEN = (ApplicationStatus.IN_REVIEW.value, ApplicationStatus.OFFERED.value)
DEFAULT_NEED = (10_000_00, 12)  # priced for this until the borrower says what they need


def _recommended(
    session: SessionDep, user: UserDep, answer: CustomerNeed | None
) -> RecommendationsOut | None:
    amount, term = (None, None) if answer is not None else DEFAULT_NEED
    try:
        need = needs.need_for(answer, amount=amount, term=term)
        grade = applications.latest_grade(session, user.user_id)
        return recommendations.recommend(session, user.user_id, need, grade=grade)
    except DomainError:
        session.rollback()
        return None


@router.get("/", openapi_extra=page(nav.CUSTOMER))
def portal_home(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    verified = session.get(Person, user.user_id) is not None
    card = customers.bound_card(session, user.user_id)
    open_application = session.scalar(
        select(LoanApplication)
        .where(LoanApplication.customer_id == user.user_id, LoanApplication.status.in_(OPEN))
        .order_by(LoanApplication.id.desc())
        .limit(1)
    )
    mine = loans.list_loans(session, customer_id=user.user_id, limit=20).items
    due = next_due(session, user.user_id)
    soonest = min(due.items(), key=lambda item: item[1][0], default=None)
    answer = needs.latest_needs(session, user.user_id)
    if not verified:
        step = ("/me/identity", N_("Verify your identity"))
    elif card is None:
        step = ("/me/cards", N_("Bind a bank card"))
    elif open_application is not None and open_application.status == "offered":
        step = (f"/applications/{open_application.id}", N_("Sign your offer"))
    elif open_application is not None:
        step = (f"/applications/{open_application.id}", N_("See your application"))
    elif soonest is not None:
        step = (f"/loans/{soonest[0]}", N_("Repay your next installment"))
    else:
        step = ("/apply", N_("Apply for a loan"))
    return render(
        request,
        "portal/home.html",
        step=step,
        verified=verified,
        card=card.masked if card is not None else None,
        application=open_application,
        loans=mine,
        due=due,
        soonest=soonest,
        answered=answer is not None,
        recommended=_recommended(session, user, answer),
        unread=unread_count(request, session, user.user_id),
    )
