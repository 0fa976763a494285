"""Opaque cursors for listings paged by a time-ordered id (UUIDv7): ``kind`` tells one
listing's cursors from another's, so a cursor given to the wrong listing is refused."""

from __future__ import annotations

import base64
import binascii
import uuid

from lendbridge.kit.errors import ValidationFailed, field_error


def encode_id(kind: str, ident: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{ident}".encode()).decode().rstrip("=")


def decode_id(kind: str, cursor: str) -> uuid.UUID:
    """The id in ``cursor``, or a 422 naming ``cursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, ident = raw.partition(":")
        if prefix != kind:
            raise ValueError(cursor)
        return uuid.UUID(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise field_error(ValidationFailed, "cursor", "is not a cursor this API issued") from None
