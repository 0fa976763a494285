"""Demo people: a staff user for every staff role (password and enrolled authenticator), and
customers at every KYC level, verified through the development identity provider with its
documented test identities (docs/identity-test-data.md).

Idempotent: existing users are kept (their credentials are printed again, never changed).
Personal data goes through the same encryption as production data.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.identity import catalog, consents, kyc, registration
from lendbridge.identity.consents import latest_version
from lendbridge.identity.kyc_models import Consent, Person
from lendbridge.identity.models import User, UserKind
from lendbridge.identity.users import create_staff, roles_and_permissions
from lendbridge.identity.verification import DevelopmentVerifier
from lendbridge.kit.actor import Actor, system_actor

# Demo only, and printed by `lendbridge init --demo`: the demo's passwords are public.
DEMO_PASSWORD_PREFIX = "Demo#2026-"  # noqa: S105


@dataclass(frozen=True)
class Credential:
    login: str
    password: str
    roles: str
    totp_secret: str | None
    note: str


# (phone, kind, identity, card) — identities and cards from DevelopmentVerifier's table.
CUSTOMERS = (
    ("13800000001", UserKind.BORROWER, ("张伟", "110105199003071239"), "6222020200012345670"),
    ("13800000002", UserKind.BORROWER, ("李娜", "31010419880520006X"), "6217000200023456783"),
    ("13800000003", UserKind.BORROWER, ("王芳", "440305199512310469"), None),
    # A new borrower with no loans yet: the applications demo's offer to sign.
    ("13800000005", UserKind.BORROWER, ("赵敏", "110108199208150028"), "6222020200056789015"),
    ("13800000009", UserKind.BORROWER, None, None),
    (
        "13800000004",
        UserKind.INVESTOR,
        ("阿依古丽·买买提", "65010220000229028X"),
        "6216610200045678905",
    ),
)


def load_identity_demo(session: Session) -> list[Credential]:
    actor = system_actor("demo")
    roles = sorted(catalog.STAFF_ROLES | catalog.MACHINE_ROLES)
    credentials = [_staff(session, role, actor) for role in roles]
    verifier = DevelopmentVerifier()
    for phone, kind, identity, card in CUSTOMERS:
        credentials.append(_customer(session, verifier, phone, kind, identity, card))
    return credentials


def _staff(session: Session, role: str, actor: Actor) -> Credential:
    username = f"demo.{role.replace('_', '-')}"
    password = DEMO_PASSWORD_PREFIX + role
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = create_staff(session, username=username, password=password, roles=(role,), by=actor)
        user.totp_secret = pyotp.random_base32()
        user.totp_enabled = True
        session.flush()
    return Credential(username, password, role, user.totp_secret, "staff: password + TOTP")


def _customer(
    session: Session,
    verifier: DevelopmentVerifier,
    phone: str,
    kind: UserKind,
    identity: tuple[str, str] | None,
    card: str | None,
) -> Credential:
    index = registration.phone_index(phone)
    password = DEMO_PASSWORD_PREFIX + kind.value
    user = session.scalar(select(User).where(User.phone_index == index))
    if user is None:
        user = registration.new_customer(session, phone=phone, password=password, kind=kind)
    roles, permissions = roles_and_permissions(session, user.id)
    me = Actor(user_id=str(user.id), roles=roles, permissions=permissions)
    if identity is not None and session.get(Person, user.id) is None:
        kyc.verify_identity(session, verifier, me, name=identity[0], resident_id=identity[1])
    if card is not None and user.kyc_level != "bank_card_bound":
        kyc.bind_card(
            session, verifier, me, card_number=card, reserved_mobile=phone, step_up_code=None
        )
    _consent_to_defaults(session, user, me)
    return Credential(phone, password, kind.value, None, f"{kind.value}, KYC {user.kyc_level}")


def _consent_to_defaults(session: Session, user: User, me: Actor) -> None:
    if session.scalar(select(Consent.id).where(Consent.user_id == user.id).limit(1)):
        return
    for code in ("privacy_policy", "personal_credit_authorization"):
        agreement = latest_version(session, code)
        if agreement is not None:
            consents.accept(session, me, code, agreement.version)
