"""Borrowers and investors register with their mobile number, proven by an SMS code.

Asking for a code answers the same whether or not the number is registered (a registered
number is told so by SMS instead of receiving a code), so the API cannot be used to find out
who is a customer. The phone is stored encrypted, found through its blind index, and shown
masked.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.identity import codes, passwords, signin
from lendbridge.identity.errors import DuplicateUser, TooManyAttempts
from lendbridge.identity.models import User, UserKind, UserStatus
from lendbridge.identity.ratelimit import ONE_TIME_CODE, RateLimiter
from lendbridge.identity.users import grant_roles
from lendbridge.identity.validation import normalize_mobile
from lendbridge.kit import clock, crypto
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.kit.ids import new_id
from lendbridge.kit.masking import mask_phone
from lendbridge.kit.notify import Message

PHONE_INDEX = "identity.phone"


def phone_index(phone: str) -> str:
    """The blind index of a normalised mainland mobile number."""
    return crypto.blind_index(phone, purpose=PHONE_INDEX)


def request_code(session: Session, limiter: RateLimiter, *, phone: str, origin: Actor) -> Message:
    """The message to send once the transaction commits: a registration code, or a notice
    that the number is already registered."""
    number = normalize_mobile(phone)
    index = phone_index(number)
    if not limiter.allow(
        ONE_TIME_CODE, scope="code:register", account=index, address=origin.client_address
    ):
        raise TooManyAttempts("too many codes requested; wait before asking again")
    if session.scalar(select(User.id).where(User.phone_index == index)) is not None:
        return Message(number, "already_registered", {})
    code = codes.issue(session, phone_index=index, purpose="register")
    minutes = str(int(codes.TTL.total_seconds() // 60))
    return Message(number, "register_code", {"code": code, "minutes": minutes})


def register(
    session: Session,
    policy: signin.Policy,
    *,
    phone: str,
    code: str,
    password: str,
    kind: UserKind,
    origin: Actor,
) -> signin.Tokens:
    """Create the customer and sign them in. A wrong code counts against the code's tries,
    so the caller commits before re-raising."""
    if kind == UserKind.STAFF:
        raise ValueError("staff are created by an administrator, not by registration")
    number = normalize_mobile(phone)
    index = phone_index(number)
    passwords.check_password_rules(password, personal=(number,))
    codes.consume(session, phone_index=index, purpose="register", code=code, field="code")
    if session.scalar(select(User.id).where(User.phone_index == index)) is not None:
        raise DuplicateUser("phone: this number is already registered; sign in instead")
    user = new_customer(session, phone=number, password=password, kind=kind)
    record(
        session,
        Actor(
            user_id=str(user.id),
            roles=(kind.value,),
            client_address=origin.client_address,
            request_id=origin.request_id,
            device_id=origin.device_id,
        ),
        action="identity.register",
        target_type="user",
        target_id=str(user.id),
        after={"kind": kind.value, "phone": user.phone_masked},
    )
    return signin.start_session(session, policy, user)


def new_customer(session: Session, *, phone: str, password: str, kind: UserKind) -> User:
    """Store a borrower or investor (phone already normalised and proven, password already
    checked) with the role of their kind."""
    now = clock.now()
    user = User(
        id=new_id(),
        kind=kind.value,
        phone=phone,
        phone_index=phone_index(phone),
        phone_masked=mask_phone(phone),
        password_hash=passwords.hash_password(password),
        status=UserStatus.ACTIVE.value,
        kyc_level="registered",
        totp_enabled=False,
        failed_logins=0,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    grant_roles(session, user, (kind.value,), by=system_actor("registration"))
    return user
