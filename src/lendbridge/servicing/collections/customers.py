"""What collections read about customers, a batch at a time: their signed debit
authorisation (代扣协议), whether they have a bound bank card, their mobile number. Like
``servicing/customers.py`` these are read-only reads of identity's tables kept in one module,
until identity publishes service functions for them."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendbridge.identity.kyc_models import BankCard, Consent
from lendbridge.identity.models import RolePermission, User, UserKind, UserRole, UserStatus
from lendbridge.servicing.customers import BOUND

DEBIT_AUTHORISATION = "debit_authorization"  # the agreement code (identity/consents.py)


def debit_authorisations(
    session: Session, customer_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Per customer, the reference of their newest debit authorisation still in force (a
    consent not withdrawn): ``consent:<id>``, what a collection order carries as its
    mandate. Customers without one are absent."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(Consent.user_id, Consent.id)
        .where(
            Consent.user_id.in_(customer_ids),
            Consent.agreement_code == DEBIT_AUTHORISATION,
            Consent.withdrawn_at.is_(None),
        )
        .order_by(Consent.user_id, Consent.accepted_at, Consent.id)
    )
    return {user_id: f"consent:{consent_id}" for user_id, consent_id in rows}  # newest wins


def with_bound_card(session: Session, customer_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """The customers among ``customer_ids`` who have a verified bank card bound."""
    if not customer_ids:
        return set()
    return set(
        session.scalars(
            select(BankCard.user_id)
            .where(BankCard.user_id.in_(customer_ids), BankCard.status == BOUND)
            .group_by(BankCard.user_id)
        )
    )


def phone(session: Session, customer_id: uuid.UUID) -> str | None:
    """The customer's mobile number in clear (decrypted): for sending, never for logs."""
    user = session.get(User, customer_id)
    return user.phone if user is not None else None


def is_collector(session: Session, user_id: uuid.UUID, permission: str) -> bool:
    """Whether the user is an active staff member one of whose roles grants ``permission``."""
    user = session.get(User, user_id)
    if user is None or user.kind != UserKind.STAFF.value or user.status != UserStatus.ACTIVE.value:
        return False
    granted = session.scalar(
        select(func.count())
        .select_from(UserRole)
        .join(RolePermission, RolePermission.role_code == UserRole.role_code)
        .where(UserRole.user_id == user_id, RolePermission.permission_code == permission)
    )
    return bool(granted)
