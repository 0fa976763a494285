"""The canonical serializations (content, then link) are sorted-key compact JSON, every field
is covered by the hash, and snapshots are normalised to JSON whatever the caller passes."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import uuid
from decimal import Decimal

import pytest

from lendbridge.audit.chain import (
    content_digest,
    content_text,
    json_text,
    link_text,
    record_hash,
    timestamp_text,
)
from lendbridge.audit.models import GENESIS_HASH

FIELDS = {
    "seq": 42,
    "prev_hash": GENESIS_HASH,
    "recorded_at": "2026-01-15T02:03:04.000005+00:00",
    "business_date": "2026-01-15",
    "actor_id": 'user "quoted" \\ 张三',
    "actor_role": None,
    "client_address": "2001:db8::1",
    "request_id": "req\n1\x01",
    "device_id": None,
    "action": "identity.customer.read_pii",
    "target_type": "identity.customer",
    "target_id": "c-1",
    "before": {"phone": "138****5678", "nested": {"b": [1, 2.5, None], "a": True}},
    "after": None,
}
CONTENT_KEYS = (
    "recorded_at",
    "actor_id",
    "actor_role",
    "client_address",
    "request_id",
    "device_id",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
)


def dumps(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _content(fields: dict[str, object]) -> tuple[object, ...]:
    return tuple(
        json_text(fields[k]) if k in ("before", "after") else fields[k]  # type: ignore[arg-type]
        for k in CONTENT_KEYS
    )


def _hash(fields: dict[str, object]) -> str:
    content = _content(fields)
    return record_hash(
        fields["seq"], fields["prev_hash"], content[0], fields["business_date"], *content[1:]
    )


def test_content_is_sorted_compact_json_of_the_content_fields():
    expected = dumps({k: FIELDS[k] for k in CONTENT_KEYS})
    assert content_text(*_content(FIELDS)) == expected
    assert content_digest(*_content(FIELDS)) == hashlib.sha256(expected).hexdigest()


def test_the_hash_is_sha256_of_the_sorted_compact_json_link():
    digest = hashlib.sha256(dumps({k: FIELDS[k] for k in CONTENT_KEYS})).hexdigest()
    link = dumps(
        {"business_date": "2026-01-15", "content": digest, "prev_hash": GENESIS_HASH, "seq": 42}
    )
    assert link_text(42, GENESIS_HASH, "2026-01-15", digest) == link
    assert _hash(FIELDS) == hashlib.sha256(link).hexdigest()


def test_a_forged_prev_hash_cannot_reshape_the_link():
    assert link_text(1, 'x","seq":2,"y":"', "2026-01-15", "c" * 64) == dumps(
        {
            "business_date": "2026-01-15",
            "content": "c" * 64,
            "prev_hash": 'x","seq":2,"y":"',
            "seq": 1,
        }
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seq", 43),
        ("prev_hash", "1" * 64),
        ("recorded_at", "2026-01-15T02:03:04.000006+00:00"),
        ("business_date", "2026-01-16"),
        ("actor_id", "user-2"),
        ("actor_role", "clerk"),
        ("client_address", None),
        ("request_id", "req-2"),
        ("device_id", "d"),
        ("action", "identity.customer.update"),
        ("target_type", "identity.user"),
        ("target_id", "c-2"),
        ("before", {"phone": "139****5678"}),
        ("after", {}),
    ],
)
def test_every_field_is_covered_by_the_hash(field, value):
    assert _hash({**FIELDS, field: value}) != _hash(FIELDS)


def test_snapshot_values_are_normalised():
    class Status(enum.Enum):
        OPEN = "open"

    text = json_text(
        {
            "z": Decimal("12.30"),
            "a": dt.date(2026, 1, 15),
            "at": dt.datetime(2026, 1, 15, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
            "id": uuid.UUID(int=1),
            "status": Status.OPEN,
            "tags": {"b", "a"},
        }
    )
    assert text == (
        '{"a":"2026-01-15","at":"2026-01-15T02:00:00.000000+00:00",'
        '"id":"00000000-0000-0000-0000-000000000001","status":"open","tags":["a","b"],'
        '"z":"12.30"}'
    )
    assert json_text(None) is None


@pytest.mark.parametrize(
    "bad",
    [{"x": float("nan")}, {"x": dt.datetime(2026, 1, 15)}, {"x": object()}],  # noqa: DTZ001
)
def test_snapshot_refuses_what_json_cannot_hold_exactly(bad):
    with pytest.raises((ValueError, TypeError)):
        json_text(bad)


def test_timestamps_are_utc_with_microseconds():
    shanghai = dt.timezone(dt.timedelta(hours=8))
    value = dt.datetime(2026, 1, 15, 8, 0, 0, 5, tzinfo=shanghai)
    assert timestamp_text(value) == "2026-01-15T00:00:00.000005+00:00"
    with pytest.raises(ValueError, match="naive"):
        timestamp_text(dt.datetime(2026, 1, 15))  # noqa: DTZ001
