"""Origination routes: the borrower's own applications under /v1/me/applications (apply,
read, sign, withdraw, the contract), and the staff's under /v1/applications and
/v1/review-queue (read with the applicant masked, approve, decline). Applying and signing
move money or create what will, so they take an ``Idempotency-Key``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy.orm import Session

from lendbridge.identity import catalog
from lendbridge.kit import problems
from lendbridge.kit.actor import Actor
from lendbridge.kit.http import ActorDep, ThreadedRoute, get_session, idempotency_key, permission
from lendbridge.origination import applications, review, signing, views
from lendbridge.origination import subscribers as _subscribers  # noqa: F401 - registers the job
from lendbridge.origination.errors import ApplicationNotFound
from lendbridge.origination.models import ApplicationStatus
from lendbridge.origination.schemas import (
    ApplicationIn,
    ApplicationOut,
    ApplicationPage,
    ApplicationReviewOut,
    ApproveIn,
    DeclineIn,
    FormField,
    FormOut,
    ReviewPage,
    SignIn,
)

router = APIRouter(
    route_class=ThreadedRoute,
    tags=["applications"],
    responses=problems.responses(400, 404, 409, 422),
)
SessionDep = Annotated[Session, Depends(get_session)]
KeyDep = Annotated[str, Depends(idempotency_key)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=200)]

SELF = permission(catalog.SELF)
READ = permission("applications.read")
REVIEW = permission("applications.review")
PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The signed contract (PDF)."}
}


def _me(actor: Actor) -> uuid.UUID:
    assert actor.user_id is not None  # "self" routes need a signed-in user
    try:
        return uuid.UUID(actor.user_id)
    except ValueError:
        raise ApplicationNotFound("only a customer has applications") from None


@router.get("/v1/me/applications/form", openapi_extra=SELF)
def application_form(session: SessionDep) -> FormOut:
    """What an application gives the credit model in use: each characteristic, numeric or
    one of its categories; those marked ``from_application`` come from the application's
    own fields."""
    model, fields = applications.form(session)
    return FormOut(model=model.label, fields=[FormField.model_validate(f) for f in fields])


@router.post("/v1/me/applications", status_code=status.HTTP_201_CREATED, openapi_extra=SELF)
def apply(
    body: ApplicationIn, key: KeyDep, actor: ActorDep, session: SessionDep, response: Response
) -> ApplicationOut:
    """Apply for a loan: reviewed, scored and decided at once — an offer (valid for a few
    days), a manual review, or a decline with its reasons in plain language. The same key
    again returns the first application (200)."""
    row, created = applications.submit(session, _me(actor), body, idempotency_key=key, actor=actor)
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return views.to_out(session, row)


@router.get("/v1/me/applications", openapi_extra=SELF)
def my_applications(
    actor: ActorDep,
    session: SessionDep,
    status_filter: Annotated[ApplicationStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ApplicationPage:
    """Your applications, newest first."""
    rows, next_cursor = applications.listing(
        session, customer_id=_me(actor), status=status_filter, limit=limit, cursor=cursor
    )
    return ApplicationPage(items=[views.to_out(session, r) for r in rows], next_cursor=next_cursor)


@router.get("/v1/me/applications/{application_id}", openapi_extra=SELF)
def my_application(
    application_id: uuid.UUID, actor: ActorDep, session: SessionDep
) -> ApplicationOut:
    """One of your applications: its status, the offer with its full schedule, or the
    reasons of a decline."""
    row = applications.load(session, application_id, customer_id=_me(actor))
    return views.to_out(session, row)


@router.post("/v1/me/applications/{application_id}/sign", openapi_extra=SELF)
def sign(
    application_id: uuid.UUID, body: SignIn, key: KeyDep, actor: ActorDep, session: SessionDep
) -> ApplicationOut:
    """Accept the offer and sign the contract with the one-time code sent to your phone
    (POST /v1/me/step-up-codes, purpose ``sign_contract``): the loan is created and paid
    out to your bank card."""
    try:
        row, _ = signing.sign(
            session, application_id, _me(actor), body.code, idempotency_key=key, actor=actor
        )
    except signing.CommitThenRaise as refusal:
        session.commit()
        raise refusal.error from None
    session.commit()
    return views.to_out(session, row)


@router.post("/v1/me/applications/{application_id}/withdraw", openapi_extra=SELF)
def withdraw(application_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> ApplicationOut:
    """Withdraw an application before signing it."""
    row = applications.withdraw(session, application_id, _me(actor), actor)
    session.commit()
    return views.to_out(session, row)


@router.get(
    "/v1/me/applications/{application_id}/contract",
    openapi_extra=SELF,
    response_class=Response,
    responses=PDF,
)
def my_contract(application_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> Response:
    """Your signed contract, as signed."""
    row = applications.load(session, application_id, customer_id=_me(actor))
    return _pdf(session, row.id)


def _pdf(session: Session, application_id: uuid.UUID) -> Response:
    contract = signing.contract_of(session, application_id)
    if contract is None:
        raise ApplicationNotFound(f"application {application_id} has no signed contract")
    return Response(
        signing.contract_pdf(contract),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{contract.contract_number}.pdf"',
            "X-Content-SHA256": contract.sha256,
        },
    )


@router.get("/v1/applications", openapi_extra=READ)
def list_applications(
    session: SessionDep,
    customer_id: uuid.UUID | None = None,
    status_filter: Annotated[ApplicationStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ApplicationPage:
    """Applications in any status, newest first."""
    rows, next_cursor = applications.listing(
        session, customer_id=customer_id, status=status_filter, limit=limit, cursor=cursor
    )
    return ApplicationPage(items=[views.to_out(session, r) for r in rows], next_cursor=next_cursor)


@router.get("/v1/applications/{application_id}", openapi_extra=READ)
def get_application(
    application_id: uuid.UUID, actor: ActorDep, session: SessionDep
) -> ApplicationReviewOut:
    """An application as staff see it: the applicant masked, the score, each rule's outcome,
    the reasons, the model's inputs and the history (the view is audited)."""
    row = applications.load(session, application_id)
    out = views.review_out(session, row)
    applications.audit_read(session, actor, row)
    session.commit()
    return out


@router.get(
    "/v1/applications/{application_id}/contract",
    openapi_extra=READ,
    response_class=Response,
    responses=PDF,
)
def contract(application_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> Response:
    """The signed contract of an application (the read is audited: it names the borrower)."""
    row = applications.load(session, application_id)
    response = _pdf(session, row.id)
    applications.audit_read(session, actor, row, what="contract")
    session.commit()
    return response


@router.get("/v1/review-queue", openapi_extra=REVIEW)
def review_queue(session: SessionDep, limit: Limit = 50, cursor: Cursor = None) -> ReviewPage:
    """Applications waiting for a loan officer, oldest first, with what the review needs."""
    rows, next_cursor = review.queue(session, limit=limit, cursor=cursor)
    return ReviewPage(items=[views.review_out(session, r) for r in rows], next_cursor=next_cursor)


@router.post("/v1/applications/{application_id}/approve", openapi_extra=REVIEW)
def approve(
    application_id: uuid.UUID, body: ApproveIn, actor: ActorDep, session: SessionDep
) -> ApplicationReviewOut:
    """Approve an application in review, at the decision's limit or a lower one: the
    borrower receives an offer."""
    row = review.approve(session, application_id, body, actor)
    session.commit()
    return views.review_out(session, row)


@router.post("/v1/applications/{application_id}/decline", openapi_extra=REVIEW)
def decline(
    application_id: uuid.UUID, body: DeclineIn, actor: ActorDep, session: SessionDep
) -> ApplicationReviewOut:
    """Decline an application in review, with the reason the applicant reads."""
    row = review.decline(session, application_id, body, actor)
    session.commit()
    return views.review_out(session, row)
