"""Applying for a loan: the preliminary review (completeness against the credit model,
eligibility facts, one open application at a time, the application counts for velocity),
the score, the decision under the active policy, and the resulting status — an offer valid
for a configured number of days, the manual review queue, or a decline with its reasons.

One transaction per application; the borrower's row is locked first, so two applications
of one borrower at once are decided one after the other (the second finds the first open).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.config import get_settings
from lendbridge.decisions import policies
from lendbridge.decisions import service as decisions
from lendbridge.decisions.facts import Facts, KycLevel
from lendbridge.decisions.models import CreditDecision
from lendbridge.decisions.policy import Outcome
from lendbridge.decisions.service import ModelRef
from lendbridge.kit import calendar, clock, cursors, idempotency
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import FieldError, ValidationFailed, field_error
from lendbridge.kit.ids import new_id
from lendbridge.origination import lifecycle, standing
from lendbridge.origination.errors import ApplicationNotFound, ApplicationStillOpen
from lendbridge.origination.features import DERIVED_FROM, Answers, model_features
from lendbridge.origination.models import (
    OPEN_STATUSES,
    ApplicationStatus,
    LoanApplication,
)
from lendbridge.origination.schemas import ApplicationIn
from lendbridge.products.models import Product
from lendbridge.products.pricing import describe_amount, term_unit
from lendbridge.products.schemas import ProductIn, ProductStatus
from lendbridge.scoring import registry
from lendbridge.scoring.loaded import LoadedModel
from lendbridge.servicing.loan_terms import product_of


@dataclass(slots=True)
class Pinned:
    product_code: str
    product_version: int


CURSOR = "a"
_PRODUCT_HEAD = select(Product.latest_version, Product.status).where(
    Product.code == bindparam("code")
)  # built once: read on every application


def request_hash(body: ApplicationIn) -> str:
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


def load(
    session: Session,
    application_id: uuid.UUID,
    *,
    customer_id: uuid.UUID | None = None,
    lock: bool = False,
) -> LoanApplication:
    """The application (of ``customer_id`` when given: another's is "not found")."""
    stmt = select(LoanApplication).where(LoanApplication.id == application_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalar(stmt.execution_options(populate_existing=lock))
    if row is None or (customer_id is not None and row.customer_id != customer_id):
        raise ApplicationNotFound(f"no application has id {application_id}")
    return row


def submit(
    session: Session,
    customer_id: uuid.UUID,
    body: ApplicationIn,
    *,
    idempotency_key: str,
    actor: Actor,
) -> tuple[LoanApplication, bool]:
    """Apply, and decide at once. Returns (application, created); the same key with the same
    body returns the first application."""
    digest = request_hash(body)
    # The borrower's row first: their applications are decided one at a time, so a retry
    # of this request that raced it finds it below, committed.
    who = standing.applicant(session, customer_id, lock=True)
    scoped = scoped_key(customer_id, idempotency_key)
    day = calendar.business_date(session)
    recent = standing.recent_applications(session, customer_id, day, scoped)
    if recent.keyed:
        known = idempotency.earlier(session, LoanApplication, scoped, digest, "application")
        assert known is not None
        return known, False
    if recent.open_count:
        _refuse_while_open(session, customer_id, day, actor)
    product, version = _product(session, body)
    model = registry.champion(session)
    policy, _ = policies.active_policy(session, get_settings().decision_policy)
    situation = standing.of(session, who, day, recent)
    features = model_features(
        model.inputs,
        body.features,
        Answers(body.amount, product.currency, body.term, situation.age),
    )
    facts = Facts(
        age=situation.age,
        kyc_level=KycLevel(situation.kyc_level),
        monthly_income=body.monthly_income,
        declared_monthly_obligations=body.declared_monthly_obligations,
        platform_monthly_obligations=situation.platform_monthly_obligations,
        platform_outstanding=situation.platform_outstanding,
        overdue_loans=situation.overdue_loans,
        blacklisted=situation.blacklisted,
        open_applications=0,
        applications_7d=situation.applications_7d,
        applications_30d=situation.applications_30d,
        requested_amount=body.amount,
        requested_term=body.term,
        product=product,
        start=day,
    )
    now = clock.now()
    application = LoanApplication(
        id=new_id(),
        idempotency_key=scoped,
        request_hash=digest,
        customer_id=customer_id,
        product_code=product.code,
        product_version=version,
        currency=product.currency,
        amount=body.amount,
        term=body.term,
        purpose=body.purpose.value,
        employment=body.employment.value,
        monthly_income=body.monthly_income,
        declared_monthly_obligations=body.declared_monthly_obligations,
        features=features,  # the model's whole input row: what monitoring compares
        status=ApplicationStatus.IN_REVIEW.value,  # set by the decision below
        applied_on=day,
        reasons=[],
        created_at=now,
        updated_at=now,
    )
    recorded = decisions.record_decision(
        session,
        application.id,
        facts,
        model.score(features),
        policy,
        ModelRef(model.name, str(model.version)),
        actor,
        first=True,
    )
    target = _apply(application, recorded.row, day)
    application.status = target.value
    session.add(application)  # no race on its key: the borrower's row is locked
    session.flush()  # before its transition row (no ORM relationship orders them)
    lifecycle.move(
        session,
        application,
        target,
        initial=True,
        day=day,
        reason=f"decided: {recorded.row.outcome}",
        actor=actor,
        details={
            "decision_id": str(recorded.row.id),
            "grade": recorded.row.grade,
            "product": f"{application.product_code} v{application.product_version}",
            "amount": application.amount,
            "idempotency_key": idempotency_key,
        },
    )
    session.flush()
    return application, True


def _apply(
    application: LoanApplication, decision: CreditDecision, day: dt.date
) -> ApplicationStatus:
    """The decision's consequences on the application; returns its status."""
    application.decision_id = decision.id
    application.score = decision.score
    application.grade = decision.grade
    application.reasons = list(decision.reasons)
    outcome = Outcome(decision.outcome)
    if outcome is Outcome.DECLINE:
        return ApplicationStatus.DECLINED
    application.limit_amount = decision.limit_amount
    application.offer_amount = decision.offer_amount
    application.offer_rate_percent = decision.rate_percent
    application.offer_apr_percent = decision.apr_percent
    application.offer_start = day
    if outcome is Outcome.REVIEW:
        return ApplicationStatus.IN_REVIEW
    application.offer_expires_on = day + dt.timedelta(days=get_settings().offer_valid_days)
    return ApplicationStatus.OFFERED


def scoped_key(customer_id: uuid.UUID, key: str) -> str:
    """Idempotency keys are the client's: one borrower's key never finds another's."""
    return f"{customer_id.hex}:{key}"


def _refuse_while_open(
    session: Session, customer_id: uuid.UUID, day: dt.date, actor: Actor
) -> None:
    """Refuse while an application is open, once lapsed offers are expired."""
    expire_through(session, day - dt.timedelta(days=1), actor, customer_id=customer_id)
    open_id = session.scalar(
        select(LoanApplication.id)
        .where(
            LoanApplication.customer_id == customer_id,
            LoanApplication.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .limit(1)
    )
    if open_id is not None:
        raise ApplicationStillOpen(
            f"application {open_id} is still open: sign or withdraw it, or wait for its "
            "review, before applying again",
            extra={"application_id": str(open_id)},
        )


def _product(session: Session, body: ApplicationIn) -> tuple[ProductIn, int]:
    """The product's newest version, with the request checked against it (naming the
    field): unknown or retired, amount outside its range, a term it does not allow. The
    head is read each time (a new version or a retirement counts at once); the definition
    of a version, which never changes, comes from the servicing cache."""
    head = session.execute(_PRODUCT_HEAD, {"code": body.product_code}).first()
    if head is None:
        raise field_error(ValidationFailed, "product_code", "no product has this code")
    if head.status == ProductStatus.RETIRED.value:
        raise field_error(
            ValidationFailed, "product_code", "is retired: it takes no new applications"
        )
    product = product_of(session, Pinned(body.product_code, head.latest_version))
    errors: list[FieldError] = []
    if not product.min_amount <= body.amount <= product.max_amount:
        errors.append(
            FieldError(
                "amount",
                f"must be between {describe_amount(product.min_amount, product.currency)} and "
                f"{describe_amount(product.max_amount, product.currency)} for product "
                f"{product.code}",
            )
        )
    if body.term not in product.allowed_terms:
        allowed = ", ".join(str(t) for t in product.allowed_terms)
        errors.append(
            FieldError(
                "term", f"must be one of {allowed} ({term_unit(product)}) for {product.code}"
            )
        )
    if errors:
        raise ValidationFailed(f"{errors[0].field}: {errors[0].message}", errors)
    return product, head.latest_version


def expire_through(
    session: Session,
    last_day: dt.date,
    actor: Actor,
    *,
    customer_id: uuid.UUID | None = None,
    limit: int | None = None,
) -> int:
    """Expire the offers whose last day is ``last_day`` or earlier (one customer's, or
    anyone's; at most ``limit``), audited; returns how many. The flow passes the day before
    the business date (an offer touched after its last day), the close the day it closes."""
    stmt = select(LoanApplication).where(
        LoanApplication.status == ApplicationStatus.OFFERED.value,
        LoanApplication.offer_expires_on <= last_day,
    )
    if customer_id is not None:
        stmt = stmt.where(LoanApplication.customer_id == customer_id)
    if limit is not None:
        stmt = stmt.order_by(LoanApplication.id).limit(limit)
    rows = list(session.scalars(stmt.with_for_update(skip_locked=limit is not None)))
    for row in rows:
        lifecycle.move(
            session,
            row,
            ApplicationStatus.EXPIRED,
            reason=f"the offer lapsed at the end of {row.offer_expires_on}",
            actor=actor,
        )
    session.flush()
    return len(rows)


def withdraw(
    session: Session, application_id: uuid.UUID, customer_id: uuid.UUID, actor: Actor
) -> LoanApplication:
    application = load(session, application_id, customer_id=customer_id, lock=True)
    if application.status == ApplicationStatus.WITHDRAWN.value:
        return application
    lifecycle.move(
        session,
        application,
        ApplicationStatus.WITHDRAWN,
        reason="withdrawn by the borrower",
        actor=actor,
    )
    session.flush()
    return application


def form(session: Session) -> tuple[LoadedModel, list[dict[str, Any]]]:
    """The credit model in use and what an application gives it."""
    model = registry.champion(session)
    return model, [
        {**dataclasses.asdict(i), "from_application": DERIVED_FROM.get(i.name)}
        for i in model.inputs
    ]


def audit_read(
    session: Session, actor: Actor, application: LoanApplication, *, what: str = "application"
) -> None:
    """A staff member opened an application (its applicant's data, masked) or its contract."""
    record(
        session,
        actor,
        action=f"origination.{what}.viewed",
        target_type=lifecycle.TARGET,
        target_id=str(application.id),
    )


def listing(
    session: Session,
    *,
    customer_id: uuid.UUID | None,
    status: ApplicationStatus | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[LoanApplication], str | None]:
    """Newest first (ids are time-ordered), a page at a time."""
    stmt = select(LoanApplication)
    if customer_id is not None:
        stmt = stmt.where(LoanApplication.customer_id == customer_id)
    if status is not None:
        stmt = stmt.where(LoanApplication.status == status.value)
    if cursor is not None:
        stmt = stmt.where(LoanApplication.id < cursors.decode_id(CURSOR, cursor))
    rows = list(session.scalars(stmt.order_by(LoanApplication.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, cursors.encode_id(CURSOR, rows[-1].id) if more and rows else None


GRADE_VALID_DAYS = 90  # a grade older than this says little of the customer today


def latest_grade(session: Session, customer_id: uuid.UUID) -> str | None:
    """The grade of the customer's most recent graded application of the last 90 days:
    what the recommendations price with (None: priced as a range)."""
    since = calendar.business_date(session) - dt.timedelta(days=GRADE_VALID_DAYS)
    return session.scalar(
        select(LoanApplication.grade)
        .where(
            LoanApplication.customer_id == customer_id,
            LoanApplication.grade.is_not(None),
            LoanApplication.applied_on >= since,
        )
        .order_by(LoanApplication.id.desc())
        .limit(1)
    )
