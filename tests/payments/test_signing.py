"""HMAC request / callback signatures shared by the platform and the gateway."""

from __future__ import annotations

import datetime as dt

import pytest

from lendbridge.payments.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    header,
    request_payload,
    sign,
    signed_headers,
    verify,
)

SECRET = b"shared-secret"
NOW = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)
BODY = b'{"order_no":"P1","amount":100}'


def _reason(**kwargs: object) -> str:
    args: dict[str, object] = {
        "secret": SECRET,
        "timestamp": str(int(NOW.timestamp())),
        "signature": sign(SECRET, int(NOW.timestamp()), BODY),
        "payload": BODY,
        "now": NOW,
    }
    args.update(kwargs)
    with pytest.raises(SignatureError) as raised:
        verify(**args)  # type: ignore[arg-type]
    return raised.value.reason


def test_a_signed_message_verifies_and_answers_its_timestamp() -> None:
    headers = signed_headers(SECRET, BODY, NOW, "M1")
    assert headers["X-Merchant-Id"] == "M1"
    signed_at = verify(SECRET, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], BODY, NOW)
    assert signed_at == int(NOW.timestamp())


def test_the_signature_is_hex_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET, b"1768467600." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1768467600, BODY) == expected


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"payload": BODY + b" "}, "bad_signature"),
        ({"secret": b"another-secret"}, "bad_signature"),
        ({"signature": "00" * 32}, "bad_signature"),
        ({"signature": "ünïcode"}, "bad_signature"),
        ({"signature": None}, "missing_header"),
        ({"timestamp": None}, "missing_header"),
        ({"timestamp": "yesterday"}, "malformed_timestamp"),
        ({"timestamp": "-1768467600"}, "malformed_timestamp"),
        ({"timestamp": "1" * 40}, "malformed_timestamp"),
        ({"timestamp": "１７６８４６７６００"}, "malformed_timestamp"),  # full-width digits
    ],
)
def test_refusals_name_their_reason(changes: dict[str, object], reason: str) -> None:
    assert _reason(**changes) == reason


@pytest.mark.parametrize("offset", [-301, 301, -86_400, 86_400])
def test_timestamps_outside_the_tolerance_are_stale_either_way(offset: int) -> None:
    assert _reason(now=NOW + dt.timedelta(seconds=offset)) == "stale_timestamp"


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamps_inside_the_tolerance_pass(offset: int) -> None:
    timestamp = int(NOW.timestamp())
    verify(
        SECRET,
        str(timestamp),
        sign(SECRET, timestamp, BODY),
        BODY,
        NOW + dt.timedelta(seconds=offset),
    )


def test_a_stale_message_is_refused_even_with_a_valid_signature_and_custom_tolerance() -> None:
    timestamp = int(NOW.timestamp())
    later = NOW + dt.timedelta(seconds=11)
    with pytest.raises(SignatureError):
        verify(SECRET, str(timestamp), sign(SECRET, timestamp, BODY), BODY, later, tolerance=10)


def test_uppercase_hex_is_the_same_signature() -> None:
    timestamp = int(NOW.timestamp())
    verify(SECRET, str(timestamp), sign(SECRET, timestamp, BODY).upper(), BODY, NOW)


def test_requests_without_a_body_sign_method_and_path() -> None:
    assert request_payload("get", "/v1/orders/A1", b"") == b"GET /v1/orders/A1"
    assert request_payload("POST", "/v1/orders", BODY) == BODY
    a = signed_headers(SECRET, request_payload("GET", "/v1/orders/A1", b""), NOW)
    with pytest.raises(SignatureError):
        verify(
            SECRET,
            a[TIMESTAMP_HEADER],
            a[SIGNATURE_HEADER],
            request_payload("GET", "/v1/orders/A2", b""),
            NOW,
        )


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        signed_headers(SECRET, BODY, dt.datetime(2026, 1, 15, 9, 0))  # noqa: DTZ001


def test_header_lookup_ignores_case() -> None:
    headers = {"x-timestamp": "1", "X-SIGNATURE": "ab"}
    assert header(headers, TIMESTAMP_HEADER) == "1"
    assert header(headers, SIGNATURE_HEADER) == "ab"
    assert header(headers, "X-Merchant-Id") is None
