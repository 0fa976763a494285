"""Applications as the API shows them: to the borrower (their own, with the offer and the
plain-language reasons) and to staff (the applicant masked, the decision's rule outcomes,
the model's inputs and the history)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.decisions.models import CreditDecision
from lendbridge.identity.kyc_models import Person
from lendbridge.identity.models import User
from lendbridge.kit import calendar
from lendbridge.origination import offers, standing
from lendbridge.origination.models import ApplicationTransition, LoanApplication, LoanContract
from lendbridge.origination.schemas import (
    ApplicantOut,
    ApplicationOut,
    ApplicationReviewOut,
    ContractOut,
    DecisionOut,
    OfferOut,
    ReasonOut,
    RuleOutcomeOut,
    TransitionOut,
)


def to_out(session: Session, row: LoanApplication) -> ApplicationOut:
    return ApplicationOut(**_fields(session, row))


def _fields(session: Session, row: LoanApplication) -> dict[str, object]:
    contract = (
        session.execute(
            select(
                LoanContract.id,
                LoanContract.contract_number,
                LoanContract.sha256,
                LoanContract.size,
                LoanContract.signed_at,
            ).where(LoanContract.application_id == row.id)
        ).first()
        if row.loan_id is not None
        else None
    )
    return {
        "id": row.id,
        "status": row.status,
        "product_code": row.product_code,
        "product_version": row.product_version,
        "currency": row.currency,
        "amount": row.amount,
        "term": row.term,
        "purpose": row.purpose,
        "employment": row.employment,
        "monthly_income": row.monthly_income,
        "declared_monthly_obligations": row.declared_monthly_obligations,
        "applied_on": row.applied_on,
        "grade": row.grade,
        "limit": row.limit_amount,
        "offer": _offer(session, row),
        "reasons": [ReasonOut(**r) for r in row.reasons],
        "loan_id": row.loan_id,
        "contract": (
            ContractOut(
                id=contract.id,
                number=contract.contract_number,
                sha256=contract.sha256,
                size=contract.size,
                signed_at=contract.signed_at,
            )
            if contract is not None
            else None
        ),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _offer(session: Session, row: LoanApplication) -> OfferOut | None:
    if row.offer_expires_on is None or row.offer_amount is None:
        return None
    plan = offers.offer_schedule(session, row)
    assert plan is not None
    assert row.offer_rate_percent is not None
    return OfferOut(
        amount=row.offer_amount,
        currency=row.currency,
        term=row.term,
        annual_rate_percent=row.offer_rate_percent,
        apr_percent=plan.apr,
        expires_on=row.offer_expires_on,
        expired=calendar.business_date(session) > row.offer_expires_on,
        schedule=plan,
    )


def review_out(session: Session, row: LoanApplication) -> ApplicationReviewOut:
    decision = session.get(CreditDecision, row.decision_id) if row.decision_id else None
    history = session.scalars(
        select(ApplicationTransition)
        .where(ApplicationTransition.application_id == row.id)
        .order_by(ApplicationTransition.id)
    )
    return ApplicationReviewOut(
        **_fields(session, row),
        applicant=_applicant(session, row.customer_id),
        decision=_decision(decision) if decision is not None else None,
        features=dict(row.features),
        reviewed_by=row.reviewed_by,
        review_note=row.review_note,
        history=[
            TransitionOut(
                from_status=t.from_status,
                to_status=t.to_status,
                reason=t.reason,
                actor=t.actor,
                business_date=t.business_date,
                at=t.at,
            )
            for t in history
        ],
    )


def _applicant(session: Session, customer_id: uuid.UUID) -> ApplicantOut:
    user = session.get(User, customer_id)
    person = session.get(Person, customer_id)
    assert user is not None
    age = None
    if person is not None:
        day = calendar.business_date(session)
        age = standing.age_from(person.resident_id, day)
    return ApplicantOut(
        customer_id=customer_id,
        name=person.name_masked if person else None,
        resident_id=person.resident_id_masked if person else None,
        phone=user.phone_masked,
        kyc_level=user.kyc_level,
        age=age,
    )


def _decision(d: CreditDecision) -> DecisionOut:
    return DecisionOut(
        id=d.id,
        version=d.version,
        outcome=d.outcome,
        score=d.score,
        grade=d.grade,
        limit=d.limit_amount,
        offer_amount=d.offer_amount,
        rate_percent=d.rate_percent,
        apr_percent=d.apr_percent,
        model=f"{d.model_name} v{d.model_version}",
        policy=f"{d.policy_name} v{d.policy_version}",
        rules=[RuleOutcomeOut(**r) for r in d.rule_outcomes],
        decided_at=d.decided_at,
    )
