"""Signing an offer: the borrower's one-time code, the loan created at the offered amount
and rate under the product version the offer was made on, the contract rendered (PDF, in
Chinese, the font embedded) and stored with its sha256 in the audit trail, and the loan paid
out through the payment channel — all in one transaction; the disbursement order is sent
after the commit (outbox) and the application becomes active when the money arrives.

What must survive a refusal (a wrong code counts an attempt; an offer found lapsed is
expired) is flushed before the refusal is raised, and the edge commits it
(``CommitThenRaise``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.config import get_settings
from lendbridge.identity import codes
from lendbridge.identity.kyc_models import BankCard, Person
from lendbridge.identity.models import User
from lendbridge.kit import calendar, clock
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import Conflict, DomainError
from lendbridge.kit.ids import new_id
from lendbridge.origination import applications, contract_text, lifecycle, offers
from lendbridge.origination.contract_pdf import ContractTerms, ScheduleLine, render
from lendbridge.origination.errors import (
    IllegalApplicationMove,
    OfferExpired,
    OfferWithdrawnByProduct,
)
from lendbridge.origination.models import ApplicationStatus, LoanApplication, LoanContract
from lendbridge.origination.vocabulary import PURPOSE_ZH, Purpose
from lendbridge.products import service as products
from lendbridge.servicing import disbursement, loans
from lendbridge.servicing.loan_schemas import DisburseIn, LoanIn
from lendbridge.servicing.loan_terms import product_of
from lendbridge.servicing.schemas import ScheduleOut

SIGNING_METHOD = "sms_one_time_code"
SIGNING_METHOD_ZH = "短信验证码电子签名"


class AlreadySigned(Conflict):
    code = "origination.already_signed"
    title = "The offer is already signed"


@dataclass
class CommitThenRaise(Exception):
    """A refusal whose bookkeeping (attempts, expiry) must be committed before it is told."""

    error: DomainError


def sign(
    session: Session,
    application_id: uuid.UUID,
    customer_id: uuid.UUID,
    code: str,
    *,
    idempotency_key: str,
    actor: Actor,
) -> tuple[LoanApplication, bool]:
    """Sign the offer; returns (application, signed now). The same key again returns the
    signed application; any other second signature is refused."""
    application = applications.load(session, application_id, customer_id=customer_id, lock=True)
    if application.loan_id is not None:
        contract = contract_of(session, application.id)
        if contract is not None and contract.signed_by == _signature_key(idempotency_key):
            return application, False
        raise AlreadySigned(f"application {application.id} is already signed")
    if application.status != ApplicationStatus.OFFERED.value:
        raise IllegalApplicationMove(
            f"application {application.id} is {application.status}: only an offer can be signed"
        )
    day = calendar.business_date(session)
    assert application.offer_expires_on is not None
    if day > application.offer_expires_on:
        applications.expire_through(
            session, application.offer_expires_on, actor, customer_id=customer_id
        )
        raise CommitThenRaise(
            OfferExpired(
                f"the offer of application {application.id} was valid until "
                f"{application.offer_expires_on}: apply again"
            )
        )
    newest = products.get_product(session, application.product_code).version
    if newest != application.product_version:
        lifecycle.move(
            session,
            application,
            ApplicationStatus.EXPIRED,
            reason=f"product {application.product_code} changed to v{newest}",
            actor=actor,
        )
        session.flush()
        raise CommitThenRaise(
            OfferWithdrawnByProduct(
                f"product {application.product_code} changed after the offer (now v{newest}): "
                "apply again"
            )
        )
    user_phone_index = _phone_index(session, customer_id)
    try:
        codes.consume(
            session, phone_index=user_phone_index, purpose="sign_contract", code=code, field="code"
        )
    except codes.CodeRejected as rejected:
        raise CommitThenRaise(rejected) from None
    return _sign(session, application, idempotency_key, actor), True


def _sign(
    session: Session, application: LoanApplication, key: str, actor: Actor
) -> LoanApplication:
    assert application.offer_amount is not None
    assert application.offer_rate_percent is not None
    settings = get_settings()
    loan, _ = loans.create_loan(
        session,
        LoanIn(
            customer_id=application.customer_id,
            product_code=application.product_code,
            amount=application.offer_amount,
            term=application.term,
        ),
        idempotency_key=f"application:{application.id}:loan",
        actor=actor,
        annual_rate_percent=Decimal(application.offer_rate_percent),
    )
    now = clock.now()
    day = calendar.business_date(session)
    product = product_of(session, application)
    plan = offers.schedule(
        product, application.offer_amount, application.term, application.offer_rate_percent, day
    )
    contract_id = new_id()
    number = f"LB{day:%Y%m%d}{contract_id.hex[:10].upper()}"
    pdf = render(_terms(session, application, loan.id, loan.bank_card_id, plan, number, now))
    digest = hashlib.sha256(pdf).hexdigest()
    session.add(
        LoanContract(
            id=contract_id,
            application_id=application.id,
            contract_number=number,
            loan_id=loan.id,
            content=base64.b64encode(pdf).decode("ascii"),
            sha256=digest,
            size=len(pdf),
            signed_at=now,
            signed_by=_signature_key(key),
            signing_method=SIGNING_METHOD,
        )
    )
    application.loan_id = loan.id
    application.signed_at = now
    session.flush()
    record(
        session,
        actor,
        action="origination.contract.signed",
        target_type="loan_contract",
        target_id=str(contract_id),
        after={
            "application_id": str(application.id),
            "loan_id": str(loan.id),
            "contract_number": number,
            "sha256": digest,
            "size": len(pdf),
            "signing_method": SIGNING_METHOD,
            "amount": application.offer_amount,
            "annual_rate_percent": application.offer_rate_percent,
        },
    )
    lifecycle.move(
        session,
        application,
        ApplicationStatus.SIGNED,
        reason=f"contract {number} signed; loan {loan.id}",
        actor=actor,
        details={"loan_id": str(loan.id), "contract_sha256": digest},
    )
    disbursement.disburse(
        session,
        loan.id,
        DisburseIn(channel=settings.disbursement_channel),
        idempotency_key=f"application:{application.id}:disbursement",
        actor=actor,
    )
    session.flush()
    return application


def _signature_key(key: str) -> str:
    """What the contract row keeps of the signing request's idempotency key: its digest."""
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:60]


def _phone_index(session: Session, customer_id: uuid.UUID) -> str:
    index = session.scalar(select(User.phone_index).where(User.id == customer_id))
    if index is None:
        raise IllegalApplicationMove("the account has no phone to send a signing code to")
    return index


def _terms(
    session: Session,
    application: LoanApplication,
    loan_id: uuid.UUID,
    card_id: uuid.UUID,
    plan: ScheduleOut,
    number: str,
    now: dt.datetime,
) -> ContractTerms:
    person = session.get(Person, application.customer_id)
    card = session.get(BankCard, card_id)
    user = session.get(User, application.customer_id)
    assert person is not None
    assert card is not None
    assert user is not None
    product = product_of(session, application)
    assert application.offer_rate_percent is not None
    return ContractTerms(
        contract_number=number,
        lender_name=get_settings().lender_name,
        borrower_name=person.name,
        borrower_resident_id=person.resident_id,
        borrower_phone_masked=user.phone_masked or "",
        bank_card_masked=card.masked,
        bank_name=card.bank_name,
        product_name=product.name,
        product_code=product.code,
        purpose_zh=PURPOSE_ZH[Purpose(application.purpose)],
        currency=application.currency,
        principal=plan.total_principal,
        disbursed=plan.disbursed,
        upfront_fee=plan.upfront_fee,
        annual_rate_percent=application.offer_rate_percent,
        apr_percent=plan.apr,
        ear_percent=plan.ear,
        term=application.term,
        term_unit_zh=contract_text.term_unit_zh(product),
        method_zh=contract_text.METHOD_ZH[product.method],
        repayment_day_text=contract_text.repayment_day_text(product),
        penalty_text=contract_text.penalty_text(product),
        prepayment_text=contract_text.prepayment_text(product),
        schedule=tuple(
            ScheduleLine(i.number, i.due_date, i.principal, i.interest, i.fee, i.total)
            for i in plan.installments
        ),
        total_interest=plan.total_interest,
        total_fees=plan.total_fees,
        total_repayment=plan.total_repayment,
        signed_at=now,
        signing_method=SIGNING_METHOD_ZH,
        application_id=str(application.id),
        decision_ref=f"{application.decision_id} (loan {loan_id})",
    )


def contract_of(session: Session, application_id: uuid.UUID) -> LoanContract | None:
    return session.scalar(select(LoanContract).where(LoanContract.application_id == application_id))


def contract_pdf(contract: LoanContract) -> bytes:
    """The stored PDF, checked against its recorded sha256."""
    content = base64.b64decode(contract.content)
    if hashlib.sha256(content).hexdigest() != contract.sha256:
        raise Conflict(f"contract {contract.contract_number}: the stored file fails its hash")
    return content
