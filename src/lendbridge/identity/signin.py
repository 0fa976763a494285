"""Signing in, refreshing and signing out.

Every attempt is recorded in the login history, and failures count towards the account's
lockout, so a refused attempt still writes: the services return an :class:`Attempt` whose
``error`` the edge raises *after* committing, instead of raising (which would roll the record
back).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lendbridge.audit.service import record
from lendbridge.identity import behaviour, live_sessions, mfa, passwords, tokens
from lendbridge.identity.behaviour import DEVELOPMENT_REGIONS, RegionResolver
from lendbridge.identity.errors import (
    AccountLocked,
    RefreshTokenInvalid,
    SignInFailed,
    TooManyAttempts,
)
from lendbridge.identity.models import (
    LoginEvent,
    RefreshToken,
    SignInSession,
    User,
    UserKind,
    UserStatus,
)
from lendbridge.identity.ratelimit import SIGN_IN, RateLimiter
from lendbridge.identity.users import roles_and_permissions
from lendbridge.kit import clock
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.kit.errors import DomainError
from lendbridge.kit.ids import new_id


@dataclass(frozen=True)
class Policy:
    signer: tokens.TokenSigner
    limiter: RateLimiter
    refresh_ttl: dt.timedelta = dt.timedelta(days=30)
    max_failures: int = 5
    lock_for: dt.timedelta = dt.timedelta(minutes=15)
    regions: RegionResolver = DEVELOPMENT_REGIONS


@dataclass(frozen=True)
class Tokens:
    access_token: str
    access_expires_at: dt.datetime
    refresh_token: str
    refresh_expires_at: dt.datetime
    session_id: uuid.UUID
    user_id: uuid.UUID
    roles: tuple[str, ...]
    # Staff who have not enrolled an authenticator get a token with no staff permissions.
    mfa_enrolment_required: bool = False


@dataclass
class Attempt:
    tokens: Tokens | None = None
    error: DomainError | None = None

    def result(self) -> Tokens:
        if self.error is not None:
            raise self.error
        assert self.tokens is not None
        return self.tokens


def sign_in_staff(
    session: Session,
    policy: Policy,
    *,
    username: str,
    password: str,
    totp_code: str | None,
    origin: Actor,
) -> Attempt:
    """Username + password + TOTP (mandatory once enrolled; before enrolment the token only
    allows enrolling)."""
    if throttled := _throttled(session, policy, f"staff:{username}", origin):
        return throttled
    user = session.scalar(
        select(User).where(User.username == username, User.kind == UserKind.STAFF.value)
    )
    return _check_and_issue(session, policy, user, password, totp_code, origin)


def sign_in_customer(
    session: Session,
    policy: Policy,
    *,
    phone_index: str,
    password: str,
    origin: Actor,
) -> Attempt:
    """Borrowers and investors: phone (found through its blind index) + password."""
    if throttled := _throttled(session, policy, f"phone:{phone_index}", origin):
        return throttled
    user = session.scalar(
        select(User).where(User.phone_index == phone_index, User.kind != UserKind.STAFF.value)
    )
    return _check_and_issue(session, policy, user, password, None, origin)


def _throttled(session: Session, policy: Policy, account: str, origin: Actor) -> Attempt | None:
    """The refusal when this account's or this address's sign-in budget is spent."""
    if policy.limiter.allow(
        SIGN_IN, scope="sign_in", account=account, address=origin.client_address
    ):
        return None
    _record(session, policy, None, origin, "rate_limited")
    return Attempt(error=TooManyAttempts("too many sign-in attempts; wait and retry"))


def _check_and_issue(
    session: Session,
    policy: Policy,
    user: User | None,
    password: str,
    totp_code: str | None,
    origin: Actor,
) -> Attempt:
    now = clock.now()
    if user is None:
        passwords.verify_password(passwords.DUMMY_HASH, password)  # same time as a real check
        _record(session, policy, None, origin, "unknown_user")
        return Attempt(error=SignInFailed("the credentials are not valid"))
    if user.locked_until is not None and user.locked_until > now:
        _record(session, policy, user.id, origin, "locked")
        return Attempt(
            error=AccountLocked(
                f"the account is locked until {user.locked_until.isoformat()}",
                extra={"locked_until": user.locked_until.isoformat()},
            )
        )
    if user.status != UserStatus.ACTIVE:
        passwords.verify_password(passwords.DUMMY_HASH, password)
        _record(session, policy, user.id, origin, "disabled")
        return Attempt(error=SignInFailed("the credentials are not valid"))
    if not passwords.verify_password(user.password_hash, password):
        return _failure(session, policy, user, origin, "bad_password", now)
    second_factor_required = user.kind == UserKind.STAFF and user.totp_enabled
    if second_factor_required and not (totp_code and mfa.accept_totp(user, totp_code, now)):
        return _failure(session, policy, user, origin, "bad_second_factor", now)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.updated_at = now
    _record(session, policy, user.id, origin, "success")
    enrol = user.kind == UserKind.STAFF and not user.totp_enabled
    return Attempt(tokens=start_session(session, policy, user, mfa_enrolment_required=enrol))


def _failure(
    session: Session, policy: Policy, user: User, origin: Actor, outcome: str, now: dt.datetime
) -> Attempt:
    user.failed_logins += 1
    if user.failed_logins >= policy.max_failures:
        user.locked_until = now + policy.lock_for
        user.failed_logins = 0
        outcome += "+locked"
    user.updated_at = now
    _record(session, policy, user.id, origin, outcome)
    return Attempt(error=SignInFailed("the credentials are not valid"))


def start_session(
    session: Session, policy: Policy, user: User, *, mfa_enrolment_required: bool = False
) -> Tokens:
    now = clock.now()
    sign_in = SignInSession(id=new_id(), user_id=user.id, created_at=now)
    session.add(sign_in)
    session.flush()
    return _issue(session, policy, user, sign_in.id, now, mfa_enrolment_required)


def _issue(
    session: Session,
    policy: Policy,
    user: User,
    session_id: uuid.UUID,
    now: dt.datetime,
    mfa_enrolment_required: bool,
) -> Tokens:
    roles, permissions = roles_and_permissions(session, user.id)
    if mfa_enrolment_required:
        permissions = frozenset()
    access, access_expires = policy.signer.issue(
        user_id=user.id, session_id=session_id, roles=roles, permissions=permissions, now=now
    )
    refresh = tokens.new_refresh_token()
    refresh_expires = now + policy.refresh_ttl
    session.add(
        RefreshToken(
            id=new_id(),
            family_id=session_id,
            user_id=user.id,
            token_hash=tokens.digest(refresh),
            issued_at=now,
            expires_at=refresh_expires,
        )
    )
    session.flush()
    return Tokens(
        access_token=access,
        access_expires_at=access_expires,
        refresh_token=refresh,
        refresh_expires_at=refresh_expires,
        session_id=session_id,
        user_id=user.id,
        roles=roles,
        mfa_enrolment_required=mfa_enrolment_required,
    )


def refresh(session: Session, policy: Policy, refresh_token: str) -> Attempt:
    """Rotate: the presented token is spent and a new pair issued. A token presented a second
    time was copied: the whole session (every token of the family) is revoked."""
    now = clock.now()
    row = session.scalar(
        select(RefreshToken)
        .where(RefreshToken.token_hash == tokens.digest(refresh_token))
        .with_for_update()
    )
    invalid = RefreshTokenInvalid("the refresh token is not valid")
    if row is None:
        return Attempt(error=invalid)
    sign_in = session.get(SignInSession, row.family_id)
    if sign_in is None or sign_in.revoked_at is not None or row.revoked_at is not None:
        return Attempt(error=invalid)
    if row.used_at is not None:
        revoke_session(session, row.family_id, reason="refresh_token_reuse")
        # A copied refresh token is a security event: the whole sign-in was cut off.
        record(
            session,
            system_actor("identity"),
            action="identity.refresh_token_reuse",
            target_type="session",
            target_id=str(row.family_id),
            after={"user_id": str(row.user_id), "revoked": True},
        )
        return Attempt(error=invalid)
    if row.expires_at <= now:
        return Attempt(error=invalid)
    user = session.get(User, row.user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        return Attempt(error=invalid)
    row.used_at = now
    enrol = user.kind == UserKind.STAFF and not user.totp_enabled
    return Attempt(tokens=_issue(session, policy, user, row.family_id, now, enrol))


def revoke_session(session: Session, session_id: uuid.UUID, *, reason: str) -> None:
    """Sign out (or cut off a leaked family): every refresh token of the session dies, and
    access tokens naming it are refused from the next request on."""
    now = clock.now()
    live_sessions.forget(session_id)
    session.execute(
        update(SignInSession)
        .where(SignInSession.id == session_id, SignInSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == session_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def _record(
    session: Session, policy: Policy, user_id: uuid.UUID | None, origin: Actor, outcome: str
) -> None:
    event = LoginEvent(
        user_id=user_id,
        at=clock.now(),
        client_address=origin.client_address,
        region=policy.regions.region(origin.client_address),
        device_id=origin.device_id,
        outcome=outcome,
    )
    session.add(event)
    session.flush()
    behaviour.evaluate(session, event)
