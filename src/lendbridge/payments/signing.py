"""Request and callback signatures between the platform and a payment gateway.

A message is signed as ``hex(HMAC-SHA256(secret, f"{timestamp}.".encode() + payload))`` where
``timestamp`` is unix seconds sent in ``X-Timestamp`` and the signature travels in
``X-Signature``. ``payload`` is the raw body; a request without a body (GET) signs its method
and path instead (:func:`request_payload`), so a captured query signature cannot be replayed
against another order. A verifier refuses timestamps more than ``tolerance`` seconds away
from its own clock in either direction, which bounds how long a captured message stays usable.

Both sides use this module: the platform's adapter signs requests and verifies callbacks; the
simulated gateway verifies requests and signs callbacks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping

MERCHANT_HEADER = "X-Merchant-Id"
TIMESTAMP_HEADER = "X-Timestamp"
SIGNATURE_HEADER = "X-Signature"
DEFAULT_TOLERANCE = 300  # seconds

# Unix seconds stay 10 digits until the year 2286; a longer value is garbage, and refusing it
# early keeps int() away from megabyte-long digit strings.
_MAX_TIMESTAMP_DIGITS = 12


class SignatureError(Exception):
    """The message is not authentic or not fresh; ``reason`` is a stable short code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = (
            reason  # missing_header | malformed_timestamp | stale_timestamp | bad_signature
        )


def request_payload(method: str, path: str, body: bytes) -> bytes:
    """The bytes a request's signature covers: its body, or ``b"GET /v1/orders/X"`` when it
    has none."""
    return body if body else f"{method.upper()} {path}".encode()


def sign(secret: bytes, timestamp: int, payload: bytes) -> str:
    mac = hmac.new(secret, f"{timestamp}.".encode() + payload, hashlib.sha256)
    return mac.hexdigest()


def unix_seconds(instant: dt.datetime) -> int:
    if instant.tzinfo is None:
        raise ValueError("a naive datetime has no unix time")
    return int(instant.timestamp())


def signed_headers(
    secret: bytes, payload: bytes, now: dt.datetime, merchant_id: str | None = None
) -> dict[str, str]:
    """Headers that authenticate ``payload`` at ``now``."""
    timestamp = unix_seconds(now)
    headers = {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, payload)}
    if merchant_id is not None:
        headers[MERCHANT_HEADER] = merchant_id
    return headers


def parse_timestamp(value: str | None) -> int:
    if not value:
        raise SignatureError("missing_header", f"{TIMESTAMP_HEADER} is missing")
    if len(value) > _MAX_TIMESTAMP_DIGITS or not value.isascii() or not value.isdigit():
        raise SignatureError("malformed_timestamp", f"{TIMESTAMP_HEADER} is not unix seconds")
    return int(value)


def verify(
    secret: bytes,
    timestamp: str | None,
    signature: str | None,
    payload: bytes,
    now: dt.datetime,
    tolerance: int = DEFAULT_TOLERANCE,
) -> int:
    """Check a signature and its freshness; answer the signed timestamp or raise
    :class:`SignatureError`. Freshness is checked first: it is cheap and a stale message is
    refused whatever its signature."""
    signed_at = parse_timestamp(timestamp)
    if abs(unix_seconds(now) - signed_at) > tolerance:
        raise SignatureError(
            "stale_timestamp", f"{TIMESTAMP_HEADER} is more than {tolerance} s from now"
        )
    if not signature:
        raise SignatureError("missing_header", f"{SIGNATURE_HEADER} is missing")
    expected = sign(secret, signed_at, payload)
    # compare_digest on ASCII bytes: constant time, and a non-ASCII header cannot raise.
    given = signature.strip().lower().encode("ascii", "replace")
    if not hmac.compare_digest(expected.encode("ascii"), given):
        raise SignatureError("bad_signature", f"{SIGNATURE_HEADER} does not match")
    return signed_at


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header from a plain mapping whatever its case (HTTP names are case-insensitive)."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, candidate in headers.items():
        if key.lower() == wanted:
            return candidate
    return None
