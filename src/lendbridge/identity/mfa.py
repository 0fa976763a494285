"""TOTP second factor (RFC 6238 through pyotp) and single-use recovery codes.

Enrolment is two steps: ``begin_enrolment`` stores a new secret (encrypted) and returns it
with its otpauth:// URI for the authenticator app; ``confirm_enrolment`` switches TOTP on once
the user proves they hold it, and returns ten recovery codes (shown once, stored as hashes).
A code is accepted once: the time step it belongs to is remembered.
"""

from __future__ import annotations

import datetime as dt
import secrets

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from lendbridge.identity import tokens
from lendbridge.identity.models import RecoveryCode, User
from lendbridge.kit import clock
from lendbridge.kit.errors import Conflict, ValidationFailed, field_error

ISSUER = "lendbridge"
RECOVERY_CODES = 10


class NoEnrolment(Conflict):
    code = "identity.no_mfa_enrolment"
    title = "Start the authenticator enrolment first"


class BadOneTimeCode(ValidationFailed):
    code = "identity.bad_one_time_code"
    title = "The one-time code is wrong or expired"


def begin_enrolment(session: Session, user: User) -> tuple[str, str]:
    """A new secret (replacing an unconfirmed one): (base32 secret, otpauth URI)."""
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_enabled = False
    user.totp_last_step = None
    user.updated_at = clock.now()
    session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=user.username or str(user.id), issuer_name=ISSUER
    )
    return secret, uri


def confirm_enrolment(session: Session, user: User, code: str) -> list[str]:
    if user.totp_secret is None:
        raise NoEnrolment("no authenticator enrolment is in progress")
    if not accept_totp(user, code, clock.now()):
        raise field_error(BadOneTimeCode, "code", "does not match the authenticator")
    user.totp_enabled = True
    codes = [f"{secrets.randbelow(10**10):010d}" for _ in range(RECOVERY_CODES)]
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    for value in codes:
        session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(user, value)))
    session.flush()
    return codes


def accept_totp(user: User, code: str, now: dt.datetime) -> bool:
    """True for the current code or its neighbours (clock drift of one step), each step only
    once; a recovery code is also accepted (and spent) in place of a TOTP code."""
    if user.totp_secret is None:
        return False
    code = code.strip().replace(" ", "")
    totp = pyotp.TOTP(user.totp_secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if secrets.compare_digest(totp.generate_otp(step), code):
            user.totp_last_step = step
            return True
    return _spend_recovery_code(user, code)


def _spend_recovery_code(user: User, code: str) -> bool:
    session = object_session(user)
    if session is None or len(code) != 10 or not code.isdigit():
        return False
    row = session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_hash(user, code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    row.used_at = clock.now()
    return True


def _recovery_hash(user: User, code: str) -> str:
    # Ten digits are guessable offline from a plain hash; binding the user id only stops
    # precomputation, so codes are also rate-limited with sign-in attempts.
    return tokens.digest(f"{user.id}:{code}")
