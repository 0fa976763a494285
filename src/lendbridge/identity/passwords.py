"""Passwords: the rules a new password must meet, and argon2id hashing.

Parameters follow the OWASP Password Storage Cheat Sheet's argon2id configuration
(m = 19 MiB, t = 2, p = 1). Hashes carry their parameters, so raising them later only needs
``needs_rehash`` at the next successful sign-in.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lendbridge.kit.errors import ValidationFailed, field_error

MIN_LENGTH = 8
MAX_LENGTH = 128

# The most common passwords of Chinese and international breach lists; a real deployment
# can extend the list, the rule stays the same.
_COMMON = frozenset(
    {
        "12345678",
        "123456789",
        "1234567890",
        "87654321",
        "11111111",
        "00000000",
        "88888888",
        "66666666",
        "password",
        "password1",
        "passw0rd",
        "qwertyui",
        "qwerty123",
        "abc12345",
        "abcd1234",
        "a1234567",
        "iloveyou",
        "woaini1314",
        "5201314520",
        "1qaz2wsx",
        "zxcvbnm1",
        "admin123",
        "admin888",
    }
)

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32)


class WeakPassword(ValidationFailed):
    code = "identity.weak_password"
    title = "The password does not meet the password rules"


def check_password_rules(password: str, *, personal: tuple[str, ...] = ()) -> None:
    """Length 8-128; not a well-known password; not one repeated character; does not contain
    the user's own phone or username (``personal``)."""
    problem = None
    if len(password) < MIN_LENGTH:
        problem = f"must have at least {MIN_LENGTH} characters"
    elif len(password) > MAX_LENGTH:
        problem = f"must have at most {MAX_LENGTH} characters"
    elif password.lower() in _COMMON:
        problem = "is one of the most common passwords"
    elif len(set(password)) == 1:
        problem = "must not repeat one character"
    elif any(p and len(p) >= 4 and p.lower() in password.lower() for p in personal):
        problem = "must not contain your phone number or username"
    if problem is not None:
        raise field_error(WeakPassword, "password", problem)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


# Verified against when the user does not exist, so that the response time does not reveal
# which accounts exist.
DUMMY_HASH = _HASHER.hash("not-a-real-password-0f3b")
