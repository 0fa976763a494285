"""Identity errors, each with its HTTP status and stable code."""

from __future__ import annotations

from lendbridge.kit.errors import Conflict, DomainError, NotFound, ValidationFailed


class DuplicateUser(Conflict):
    code = "identity.duplicate_user"
    title = "A user with that username or phone exists"


class UnknownRole(ValidationFailed):
    code = "identity.unknown_role"
    title = "No role has that code"


class UserNotFound(NotFound):
    code = "identity.user_not_found"
    title = "User not found"


class SignInFailed(DomainError):
    """One answer for unknown user, wrong password and wrong second factor, so that the
    response does not tell an attacker which part was right."""

    status = 401
    code = "identity.sign_in_failed"
    title = "The credentials are not valid"


class AccountLocked(DomainError):
    status = 423
    code = "identity.account_locked"
    title = "Too many failed sign-ins: the account is locked for a while"


class TooManyAttempts(DomainError):
    status = 429
    code = "identity.rate_limited"
    title = "Too many attempts; wait before trying again"


class MfaRequired(DomainError):
    status = 401
    code = "identity.mfa_required"
    title = "Staff must sign in with a one-time code from their authenticator"


class RefreshTokenInvalid(DomainError):
    status = 401
    code = "identity.refresh_token_invalid"
    title = "The refresh token is unknown, expired, revoked or was already used"
