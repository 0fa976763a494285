"""The hash chain: the canonical serialization of a record and its SHA-256, in two levels.

A record's **content** is what is known when the event is recorded::

    {"action", "actor_id", "actor_role", "after", "before", "client_address", "device_id",
     "recorded_at", "request_id", "target_id", "target_type"}

and its **link** is what the chain assigns when the record is sealed at commit, with the
content's digest::

    {"business_date", "content", "prev_hash", "seq"}

Both are serialised as compact JSON with sorted keys, exactly
``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, with
``recorded_at`` as ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00`` (UTC, microseconds),
``business_date`` as ``YYYY-MM-DD``, ``seq`` as an integer and ``before``/``after`` as JSON
values (themselves canonical: sorted keys, compact). Then::

    content = sha256(canonical content)            # hex
    hash    = sha256(canonical link)               # hex, the record's hash

``prev_hash`` is the previous record's ``hash`` (64 zeros for record 1): altering, removing,
inserting or reordering a record changes every hash after it.

Why two levels: the content digest is computed by the writer outside any lock, and the link
is a fixed-shape string of hex digits, digits and a date that the database can hash itself
(``sha256()``, migration 0004) while it holds the chain head, so sealing on PostgreSQL is
one statement and needs no Python between the lock and the write.

The functions below write the JSON by hand rather than calling ``json.dumps`` on a dict:
``before``/``after`` are stored as canonical JSON text, so the verifier embeds the stored text
as is, and strings go through the same escaping function ``json.dumps`` uses.
``tests/audit/test_chain.py`` checks the two spellings agree.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from json.encoder import encode_basestring as _escape  # what json.dumps(ensure_ascii=False) uses
from typing import Any
from uuid import UUID

_CONTENT = (
    '{"action":%s,"actor_id":%s,"actor_role":%s,"after":%s,"before":%s,"client_address":%s,'
    '"device_id":%s,"recorded_at":"%s","request_id":%s,"target_id":%s,"target_type":%s}'
)
_LINK = '{"business_date":"%s","content":"%s","prev_hash":%s,"seq":%d}'


def content_text(
    recorded_at: str,
    actor_id: str | None,
    actor_role: str | None,
    client_address: str | None,
    request_id: str | None,
    device_id: str | None,
    action: str,
    target_type: str,
    target_id: str | None,
    before: str | None,
    after: str | None,
) -> bytes:
    """The canonical content; the timestamp and the JSON values already in canonical text."""
    return (
        _CONTENT
        % (
            _escape(action),
            "null" if actor_id is None else _escape(actor_id),
            "null" if actor_role is None else _escape(actor_role),
            "null" if after is None else after,
            "null" if before is None else before,
            "null" if client_address is None else _escape(client_address),
            "null" if device_id is None else _escape(device_id),
            recorded_at,
            "null" if request_id is None else _escape(request_id),
            "null" if target_id is None else _escape(target_id),
            _escape(target_type),
        )
    ).encode("utf-8")


def content_digest(*fields: Any) -> str:
    """``sha256(content_text(*fields))`` as 64 lowercase hex digits."""
    return hashlib.sha256(content_text(*fields)).hexdigest()


def link_text(seq: int, prev_hash: str, business_date: str, digest: str) -> bytes:
    # prev_hash is escaped: it is read back from the table when verifying, and a tampered
    # value must not be able to change the shape of the JSON.
    return (_LINK % (business_date, digest, _escape(prev_hash), seq)).encode("utf-8")


def link_hash(seq: int, prev_hash: str, business_date: str, digest: str) -> str:
    return hashlib.sha256(link_text(seq, prev_hash, business_date, digest)).hexdigest()


def record_hash(
    seq: int,
    prev_hash: str,
    recorded_at: str,
    business_date: str,
    *content: str | None,
) -> str:
    """A record's hash from all of its fields: ``seq, prev_hash, recorded_at,
    business_date``, then the rest of the content in :func:`content_text`'s order."""
    return link_hash(seq, prev_hash, business_date, content_digest(recorded_at, *content))


def timestamp_text(value: dt.datetime) -> str:
    """A timezone-aware instant as the chain writes it: UTC, microseconds, ``+00:00``."""
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not recorded; pass a timezone-aware value")
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _json_default(value: Any) -> Any:
    # Values callers commonly hold in before/after snapshots; anything else is a mistake
    # worth a TypeError at record() rather than a lossy str().
    if isinstance(value, dt.datetime):
        return timestamp_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable in an audit record")


def json_text(value: Mapping[str, Any] | None) -> str | None:
    """Canonical JSON text of a before/after snapshot (sorted keys, compact, UTF-8 as is).
    Dates, decimals, UUIDs and enums become strings; NaN, infinities and naive datetimes
    are refused."""
    if value is None:
        return None
    return json.dumps(
        dict(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )
