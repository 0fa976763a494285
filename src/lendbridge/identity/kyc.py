"""Real-name verification (KYC): a customer proves who they are, binds a bank card, and
registers an enterprise, each checked by the identity-verification provider.

Levels rise registered → identity_verified (name and resident id match) → bank_card_bound (a
card in the verified person's name, its reserved mobile confirmed). A mismatch is the
customer's answer (422, with reasons); a provider failure is retryable (503) and changes
nothing. Every verification attempt is audited, with personal data masked.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.identity import codes, validation
from lendbridge.identity.errors import UserNotFound
from lendbridge.identity.kyc_models import BankCard, Enterprise, KycLevel, Person
from lendbridge.identity.models import User, UserKind
from lendbridge.identity.verification import IdentityVerifier, VerificationResult
from lendbridge.kit import calendar, clock, crypto
from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import Conflict, DomainError, FieldError, ValidationFailed, field_error
from lendbridge.kit.ids import new_id
from lendbridge.kit.masking import mask_name, mask_resident_id

RESIDENT_ID_INDEX = "identity.resident_id"
CARD_INDEX = "identity.bank_card"


class VerificationMismatch(ValidationFailed):
    code = "identity.verification_mismatch"
    title = "The verification provider says the details do not match"


class VerificationUnavailable(DomainError):
    status = 503
    code = "identity.verification_unavailable"
    title = "The verification provider is unavailable; try again later"


class KycLevelTooLow(Conflict):
    code = "identity.kyc_level_too_low"
    title = "Complete the earlier verification step first"


class AlreadyVerified(Conflict):
    code = "identity.already_verified"
    title = "The identity is already verified, or belongs to another account"


def customer(session: Session, actor: Actor) -> User:
    user = session.get(User, uuid.UUID(actor.user_id)) if actor.user_id else None
    if user is None or user.kind == UserKind.STAFF:
        raise UserNotFound("real-name verification is for borrowers and investors")
    return user


def _outcome(result: VerificationResult, fields: dict[str, str]) -> None:
    if result.outcome == "failed":
        raise VerificationUnavailable(result.detail or "the provider did not answer")
    if result.outcome == "mismatch":
        problems = [
            FieldError(fields.get(reason, "identity"), reason.replace("_", " "))
            for reason in result.reasons
        ]
        raise VerificationMismatch(
            "the details do not match: " + ", ".join(result.reasons), problems
        )


def verify_identity(
    session: Session,
    verifier: IdentityVerifier,
    actor: Actor,
    *,
    name: str,
    resident_id: str,
) -> Person:
    user = customer(session, actor)
    if session.get(Person, user.id) is not None:
        raise AlreadyVerified("this account's identity is already verified")
    clean_name = validation.normalize_name(name)
    parsed = validation.parse_resident_id(resident_id, today=calendar.business_date(session))
    index = crypto.blind_index(parsed.number, purpose=RESIDENT_ID_INDEX)
    if session.scalar(select(Person.user_id).where(Person.resident_id_index == index)):
        raise AlreadyVerified("resident_id: this identity belongs to another account")
    result = verifier.verify_person(clean_name, parsed.number)
    masked = {"name": mask_name(clean_name), "resident_id": mask_resident_id(parsed.number)}
    record(
        session,
        actor,
        action="identity.verify_person",
        target_type="user",
        target_id=str(user.id),
        after={**masked, "outcome": result.outcome, "reasons": list(result.reasons)},
    )
    _outcome(result, {"name_mismatch": "name", "resident_id_not_found": "resident_id"})
    now = clock.now()
    person = Person(
        user_id=user.id,
        name=clean_name,
        resident_id=parsed.number,
        resident_id_index=index,
        name_masked=masked["name"],
        resident_id_masked=masked["resident_id"],
        provider=result.provider,
        provider_reference=result.reference,
        verified_at=now,
    )
    session.add(person)
    if not KycLevel.at_least(user.kyc_level, KycLevel.IDENTITY_VERIFIED):
        user.kyc_level = KycLevel.IDENTITY_VERIFIED
    user.updated_at = now
    session.flush()
    return person


def bind_card(
    session: Session,
    verifier: IdentityVerifier,
    actor: Actor,
    *,
    card_number: str,
    reserved_mobile: str,
    step_up_code: str | None,
) -> BankCard:
    """Bind a card in the verified person's name. Replacing a bound card is a sensitive
    action: it needs a one-time code sent to the account's phone (purpose change_bank_card)."""
    user = customer(session, actor)
    person = session.get(Person, user.id)
    if person is None:
        raise KycLevelTooLow("verify your identity before binding a bank card")
    card = validation.parse_bank_card(card_number, field="card_number")
    mobile = validation.normalize_mobile(reserved_mobile, field="reserved_mobile")
    current = list(
        session.scalars(
            select(BankCard).where(BankCard.user_id == user.id, BankCard.status == "bound")
        )
    )
    if current:
        if not step_up_code:
            raise field_error(
                ValidationFailed, "step_up_code", "changing the bank card needs an SMS code"
            )
        assert user.phone_index is not None
        codes.consume(
            session,
            phone_index=user.phone_index,
            purpose="change_bank_card",
            code=step_up_code,
            field="step_up_code",
        )
    result = verifier.verify_person(
        person.name, person.resident_id, bank_card=card.number, reserved_mobile=mobile
    )
    record(
        session,
        actor,
        action="identity.bind_bank_card",
        target_type="user",
        target_id=str(user.id),
        after={"card": card.masked, "outcome": result.outcome, "reasons": list(result.reasons)},
    )
    _outcome(
        result,
        {
            "card_invalid": "card_number",
            "card_holder_mismatch": "card_number",
            "card_not_bound_to_mobile": "reserved_mobile",
        },
    )
    now = clock.now()
    for old in current:
        old.status = "unbound"
        old.unbound_at = now
    index = crypto.blind_index(card.number, purpose=CARD_INDEX)
    same = session.scalar(
        select(BankCard).where(BankCard.user_id == user.id, BankCard.card_index == index)
    )
    if same is not None:  # re-binding a card used before
        same.status, same.unbound_at, same.bound_at = "bound", None, now
        same.reserved_mobile = mobile
        bound = same
    else:
        bound = BankCard(
            id=new_id(),
            user_id=user.id,
            number=card.number,
            card_index=index,
            masked=card.masked,
            bank_code=card.bank_code,
            bank_name=card.bank_name,
            card_type=card.card_type,
            reserved_mobile=mobile,
            status="bound",
            provider_reference=result.reference,
            bound_at=now,
        )
        session.add(bound)
    if not KycLevel.at_least(user.kyc_level, KycLevel.BANK_CARD_BOUND):
        user.kyc_level = KycLevel.BANK_CARD_BOUND
    user.updated_at = now
    session.flush()
    return bound


def register_enterprise(
    session: Session,
    verifier: IdentityVerifier,
    actor: Actor,
    *,
    name: str,
    uscc: str,
    legal_representative: str,
) -> Enterprise:
    user = customer(session, actor)
    code = validation.parse_uscc(uscc)
    representative = validation.normalize_name(legal_representative, field="legal_representative")
    company = " ".join(name.split())
    if not 2 <= len(company) <= 200:
        raise field_error(ValidationFailed, "name", "must have 2-200 characters")
    if session.scalar(select(Enterprise.id).where(Enterprise.uscc == code)) is not None:
        raise AlreadyVerified("uscc: this enterprise is already registered")
    result = verifier.verify_enterprise(company, code, representative)
    record(
        session,
        actor,
        action="identity.verify_enterprise",
        target_type="enterprise",
        target_id=code,
        after={"name": company, "outcome": result.outcome, "reasons": list(result.reasons)},
    )
    _outcome(
        result,
        {
            "enterprise_name_mismatch": "name",
            "legal_representative_mismatch": "legal_representative",
            "uscc_not_found": "uscc",
        },
    )
    enterprise = Enterprise(
        id=new_id(),
        user_id=user.id,
        name=company,
        uscc=code,
        legal_representative=representative,
        legal_representative_masked=mask_name(representative),
        provider_reference=result.reference,
        verified_at=clock.now(),
    )
    session.add(enterprise)
    session.flush()
    return enterprise
