"""Access tokens (short-lived, signed, verified without a database read) and refresh tokens
(opaque, stored only as hashes, rotated on every use).

An access token is a JWT (HS256) naming the user, the sign-in session it belongs to, the
user's roles and the permissions they granted at issue time. Permission changes therefore take
effect at the next refresh (minutes); revoking a session takes effect at once, because every
authenticated request also checks that its session is live (one primary-key read).

Expiry is checked against the platform clock (``kit.clock``), not PyJWT's own reading of the
system clock, so that tests and replays control time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt

from lendbridge.kit.errors import DomainError
from lendbridge.kit.logging import get_logger

ISSUER = "lendbridge"
_ALGORITHM = "HS256"

log = get_logger(__name__)


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"
    title = "Sign in first: the access token is missing, invalid or expired"


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"
    title = "Your roles do not grant this action"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    roles: tuple[str, ...]
    permissions: frozenset[str]
    expires_at: dt.datetime


class TokenSigner:
    def __init__(self, secret: bytes, *, access_ttl: dt.timedelta) -> None:
        if len(secret) < 32:
            raise ValueError("the token secret must have at least 32 bytes")
        self._secret = secret
        self.access_ttl = access_ttl

    def derived_key(self, purpose: str) -> bytes:
        """A key for another signer (the web session cookie, CSRF tokens), derived from the
        token secret so that one configured secret serves all and none is reused as is."""
        return hmac.new(self._secret, f"lendbridge:{purpose}".encode(), hashlib.sha256).digest()

    def issue(
        self,
        *,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        roles: tuple[str, ...],
        permissions: frozenset[str],
        now: dt.datetime,
    ) -> tuple[str, dt.datetime]:
        expires = now + self.access_ttl
        claims = {
            "iss": ISSUER,
            "sub": str(user_id),
            "sid": str(session_id),
            "roles": list(roles),
            "perms": sorted(permissions),
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM), expires

    def verify(self, token: str, *, now: dt.datetime) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                issuer=ISSUER,
                options={"verify_exp": False, "require": ["sub", "sid", "exp", "iss"]},
            )
            expires = dt.datetime.fromtimestamp(int(claims["exp"]), tz=dt.UTC)
            result = AccessClaims(
                user_id=uuid.UUID(str(claims["sub"])),
                session_id=uuid.UUID(str(claims["sid"])),
                roles=tuple(str(r) for r in claims.get("roles", [])),
                permissions=frozenset(str(p) for p in claims.get("perms", [])),
                expires_at=expires,
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise Unauthenticated("the access token is not valid") from exc
        if expires <= now:
            raise Unauthenticated("the access token has expired; refresh it")
        return result


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def digest(secret_value: str) -> str:
    """SHA-256 of a high-entropy secret (refresh token, one-time code with its id): enough,
    since such values cannot be guessed; passwords use argon2id instead."""
    return hashlib.sha256(secret_value.encode()).hexdigest()


def load_secret(configured: str | None, key_file: Path, *, create: bool) -> bytes:
    """The configured secret, else the key file's, else (development) a new key file."""
    if configured:
        return configured.encode()
    if key_file.exists():
        return key_file.read_bytes().strip()
    if not create:
        raise RuntimeError(f"no token secret: set LENDBRIDGE_TOKEN_SECRET or create {key_file}")
    key_file.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48).encode()
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(value)
    log.warning(
        "generated a development token key; production must set LENDBRIDGE_TOKEN_SECRET",
        key_file=str(key_file),
    )
    return value
