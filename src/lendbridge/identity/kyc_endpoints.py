"""Real-name verification, bank cards, enterprises, step-up codes and consents for the
signed-in customer (/v1/me/...), agreements (public), and user look-up for staff."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.identity import (
    catalog,
    codes,
    consents,
    kyc,
    registration,
    step_up,
    users,
    validation,
)
from lendbridge.identity.auth import ActorDep, sms
from lendbridge.identity.errors import UserNotFound
from lendbridge.identity.kyc_models import BankCard, Enterprise, Person
from lendbridge.identity.kyc_schemas import (
    AgreementOut,
    BankCardIn,
    BankCardOut,
    ConsentIn,
    ConsentOut,
    ContactIn,
    ContactOut,
    EnterpriseIn,
    EnterpriseOut,
    IdentityIn,
    IdentityOut,
    RevealIn,
    RevealOut,
    StaffIn,
    StepUpIn,
    UserOut,
    UserSearchIn,
    UserStatusIn,
)
from lendbridge.identity.models import User
from lendbridge.identity.schemas import CodeSent
from lendbridge.identity.users import roles_and_permissions
from lendbridge.identity.verification import IdentityVerifier
from lendbridge.kit import crypto, problems
from lendbridge.kit.errors import ValidationFailed, field_error
from lendbridge.kit.http import ThreadedRoute, commit_refusals, get_session, permission
from lendbridge.kit.masking import mask_address, mask_email

router = APIRouter(
    route_class=ThreadedRoute,
    tags=["identity"],
    responses=problems.responses(400, 404, 409, 413, 422, 429, 503),
)
SessionDep = Annotated[Session, Depends(get_session)]


PUBLIC, SELF = permission(catalog.PUBLIC), permission(catalog.SELF)
USERS_READ, REVEAL = permission("identity.users.read"), permission("identity.pii.reveal")


def verifier(request: Request) -> IdentityVerifier:
    value: IdentityVerifier = request.app.state.identity_verifier
    return value


# A verification attempt is audited even when the provider says no (or does not answer).
PROVIDER_REFUSALS = (kyc.VerificationMismatch, kyc.VerificationUnavailable)


@router.post("/v1/me/identity", status_code=status.HTTP_201_CREATED, openapi_extra=SELF)
def verify_identity(
    body: IdentityIn, request: Request, actor: ActorDep, session: SessionDep
) -> IdentityOut:
    """Real-name verification: name and resident id, checked by the provider."""
    with commit_refusals(session, *PROVIDER_REFUSALS):
        person = kyc.verify_identity(
            session, verifier(request), actor, name=body.name, resident_id=body.resident_id
        )
    session.commit()
    user = kyc.customer(session, actor)
    return IdentityOut(
        name=person.name_masked,
        resident_id=person.resident_id_masked,
        kyc_level=user.kyc_level,
        verified_at=person.verified_at,
    )


@router.get("/v1/me/identity", openapi_extra=SELF)
def my_identity(actor: ActorDep, session: SessionDep) -> IdentityOut:
    user = kyc.customer(session, actor)
    person = session.get(Person, user.id)
    if person is None:
        raise UserNotFound("the identity is not verified yet")
    return IdentityOut(
        name=person.name_masked,
        resident_id=person.resident_id_masked,
        kyc_level=user.kyc_level,
        verified_at=person.verified_at,
    )


def _card_out(card: BankCard) -> BankCardOut:
    return BankCardOut(
        id=card.id,
        card=card.masked,
        bank_code=card.bank_code,
        bank_name=card.bank_name,
        card_type=card.card_type,
        status=card.status,
        bound_at=card.bound_at,
    )


@router.post("/v1/me/bank-cards", status_code=status.HTTP_201_CREATED, openapi_extra=SELF)
def bind_bank_card(
    body: BankCardIn, request: Request, actor: ActorDep, session: SessionDep
) -> BankCardOut:
    """Bind a card in your verified name (its reserved mobile is checked); replacing a bound
    card needs an SMS step-up code."""
    with commit_refusals(session, *PROVIDER_REFUSALS, codes.CodeRejected):
        card = kyc.bind_card(
            session,
            verifier(request),
            actor,
            card_number=body.card_number,
            reserved_mobile=body.reserved_mobile,
            step_up_code=body.step_up_code,
        )
    session.commit()
    return _card_out(card)


@router.get("/v1/me/bank-cards", openapi_extra=SELF)
def my_bank_cards(actor: ActorDep, session: SessionDep) -> list[BankCardOut]:
    user = kyc.customer(session, actor)
    cards = session.scalars(
        select(BankCard).where(BankCard.user_id == user.id).order_by(BankCard.bound_at)
    )
    return [_card_out(c) for c in cards]


@router.get("/v1/me/bank-cards/{card_id}", openapi_extra=SELF)
def my_bank_card(card_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> BankCardOut:
    card = session.get(BankCard, card_id)
    if card is None or str(card.user_id) != actor.user_id:
        raise UserNotFound(f"no bank card {card_id}")  # another user's card: not found
    return _card_out(card)


@router.put("/v1/me/contact", openapi_extra=SELF)
def set_contact(body: ContactIn, actor: ActorDep, session: SessionDep) -> ContactOut:
    """Your e-mail and postal address (stored encrypted, shown masked); omit one to clear it."""
    user = kyc.customer(session, actor)
    before = {"email": user.email_masked, "address": user.address_masked}
    address = " ".join(body.address.split()) if body.address else None
    user.email, user.email_masked = body.email, mask_email(body.email) if body.email else None
    user.address, user.address_masked = address, mask_address(address) if address else None
    record(
        session,
        actor,
        action="identity.set_contact",
        target_type="user",
        target_id=str(user.id),
        before=before,
        after={"email": user.email_masked, "address": user.address_masked},
    )
    session.commit()
    return ContactOut(email=user.email_masked, address=user.address_masked)


@router.post("/v1/me/enterprises", status_code=status.HTTP_201_CREATED, openapi_extra=SELF)
def register_enterprise(
    body: EnterpriseIn, request: Request, actor: ActorDep, session: SessionDep
) -> EnterpriseOut:
    with commit_refusals(session, *PROVIDER_REFUSALS):
        enterprise = kyc.register_enterprise(
            session,
            verifier(request),
            actor,
            name=body.name,
            uscc=body.uscc,
            legal_representative=body.legal_representative,
        )
    session.commit()
    return _enterprise_out(enterprise)


def _enterprise_out(enterprise: Enterprise) -> EnterpriseOut:
    return EnterpriseOut(
        id=enterprise.id,
        name=enterprise.name,
        uscc=enterprise.uscc,
        legal_representative=enterprise.legal_representative_masked,
        verified_at=enterprise.verified_at,
    )


@router.post("/v1/me/step-up-codes", status_code=status.HTTP_202_ACCEPTED, openapi_extra=SELF)
def send_step_up_code(
    body: StepUpIn, request: Request, actor: ActorDep, session: SessionDep
) -> CodeSent:
    """Send a one-time code to your phone for a sensitive action (signing a contract,
    changing the bank card)."""
    message = step_up.issue(session, request.app.state.identity_policy.limiter, actor, body.purpose)
    session.commit()
    sms(request).send(message)  # after the commit: never a code that was not stored
    return CodeSent(expires_in=int(codes.TTL.total_seconds()))


@router.get("/v1/agreements/{code}", openapi_extra=PUBLIC)
def agreement(
    code: Annotated[str, Path(min_length=1, max_length=48, pattern=r"^[a-z][a-z0-9_]*$")],
    session: SessionDep,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> AgreementOut:
    found = consents.get_agreement(session, code, version)
    return AgreementOut(
        code=found.code,
        version=found.version,
        title=found.title,
        body=found.body,
        body_sha256=found.body_sha256,
        published_at=found.published_at,
    )


def _consent_out(consent: Any) -> ConsentOut:
    return ConsentOut(
        id=consent.id,
        agreement_code=consent.agreement_code,
        version=consent.agreement_version,
        accepted_at=consent.accepted_at,
        withdrawn_at=consent.withdrawn_at,
    )


@router.post("/v1/me/consents", status_code=status.HTTP_201_CREATED, openapi_extra=SELF)
def give_consent(body: ConsentIn, actor: ActorDep, session: SessionDep) -> ConsentOut:
    consent = consents.accept(session, actor, body.agreement_code, body.version)
    session.commit()
    return _consent_out(consent)


@router.get("/v1/me/consents", openapi_extra=SELF)
def my_consents(actor: ActorDep, session: SessionDep) -> list[ConsentOut]:
    return [_consent_out(c) for c in consents.listing(session, actor)]


@router.post("/v1/me/consents/{consent_id}/withdraw", openapi_extra=SELF)
def withdraw_consent(consent_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> ConsentOut:
    consent = consents.withdraw(session, actor, consent_id)
    session.commit()
    return _consent_out(consent)


# --- staff ---------------------------------------------------------------------------------


def _user_out(session: Session, user: User) -> UserOut:
    person = session.get(Person, user.id)
    roles, _ = roles_and_permissions(session, user.id)
    return UserOut(
        id=user.id,
        kind=user.kind,
        username=user.username,
        phone=user.phone_masked,
        name=person.name_masked if person else None,
        resident_id=person.resident_id_masked if person else None,
        status=user.status,
        kyc_level=user.kyc_level,
        roles=list(roles),
    )


def _user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound(f"no user {user_id}")
    return user


@router.get("/v1/users/{user_id}", openapi_extra=USERS_READ)
def get_user(user_id: uuid.UUID, session: SessionDep) -> UserOut:
    """A user with personal data masked."""
    return _user_out(session, _user(session, user_id))


@router.post("/v1/user-lookups", openapi_extra=USERS_READ)
def search_users(body: UserSearchIn, session: SessionDep) -> list[UserOut]:
    """Find customers by phone or resident id (in the body, never in a URL), through the
    blind indexes: nothing is decrypted to search."""
    stmt = select(User)
    if body.phone:
        index = registration.phone_index(validation.normalize_mobile(body.phone))
        stmt = stmt.where(User.phone_index == index)
    elif body.resident_id:
        number = body.resident_id.strip().upper()
        index = crypto.blind_index(number, purpose=kyc.RESIDENT_ID_INDEX)
        stmt = stmt.join(Person, Person.user_id == User.id).where(Person.resident_id_index == index)
    else:
        raise field_error(ValidationFailed, "phone", "give a phone or a resident_id")
    return [_user_out(session, u) for u in session.scalars(stmt.limit(10))]


@router.post("/v1/users/{user_id}/reveal", openapi_extra=REVEAL)
def reveal(user_id: uuid.UUID, body: RevealIn, actor: ActorDep, session: SessionDep) -> RevealOut:
    """Clear personal data, for a stated reason; the read itself is audited."""
    user = _user(session, user_id)
    person = session.get(Person, user.id)
    available = {
        "email": user.email,
        "address": user.address,
        "phone": user.phone,
        "name": person.name if person else None,
        "resident_id": person.resident_id if person else None,
    }
    values = {name: available[name] for name in body.fields}
    record(
        session,
        actor,
        action="identity.pii_reveal",
        target_type="user",
        target_id=str(user.id),
        after={"fields": list(body.fields), "reason": body.reason},
    )
    session.commit()
    return RevealOut(values=values)


MANAGE = permission("identity.users.manage")


@router.post("/v1/users", status_code=status.HTTP_201_CREATED, openapi_extra=MANAGE)
def create_staff_user(body: StaffIn, actor: ActorDep, session: SessionDep) -> UserOut:
    """A staff user with initial roles (further grants go through maker-checker). They sign
    in with the password and must enrol an authenticator before their roles apply."""
    user = users.create_staff(
        session, username=body.username, password=body.password, roles=tuple(body.roles), by=actor
    )
    session.commit()
    return _user_out(session, user)


@router.post("/v1/users/{user_id}/status", openapi_extra=MANAGE)
def set_user_status(
    user_id: uuid.UUID, body: UserStatusIn, actor: ActorDep, session: SessionDep
) -> UserOut:
    """Disable a user (every session ends at once) or enable them again."""
    user = _user(session, user_id)
    users.set_status(session, user, active=body.active, by=actor)
    session.commit()
    return _user_out(session, user)


@router.post("/v1/users/{user_id}/unlock", openapi_extra=MANAGE)
def unlock_user(user_id: uuid.UUID, actor: ActorDep, session: SessionDep) -> UserOut:
    """Lift a sign-in lockout."""
    user = _user(session, user_id)
    users.unlock(session, user, by=actor)
    session.commit()
    return _user_out(session, user)
