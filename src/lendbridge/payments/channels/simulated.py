"""The adapter for the simulated gateway (``lendbridge.payments.gateway``), whose protocol is
``docs/payments-gateway.md``. It is also the model for a real bank's adapter: every answer
maps to an :class:`Outcome`, and nothing a transport can do makes it raise from ``submit``
or ``query``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

from lendbridge.kit import clock as platform_clock
from lendbridge.payments.channels.base import (
    CallbackRejected,
    ChannelAnswer,
    ChannelRequest,
    ErrorClass,
    Outcome,
)
from lendbridge.payments.signing import (
    DEFAULT_TOLERANCE,
    MERCHANT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    header,
    request_payload,
    signed_headers,
    verify,
)

FINAL_CODES = (
    "INSUFFICIENT_FUNDS",
    "CARD_FROZEN",
    "ACCOUNT_CLOSED",
    "INVALID_ACCOUNT",
    "DUPLICATE_ORDER",  # same order_no, other content: a platform bug, never auto-retried
    "INVALID_REQUEST",  # the same request would be refused again
)
# Nothing was recorded at the channel for these, so the same order_no may be sent again.
# Authentication failures are here too: the cause (clock skew, a rotated key) is fixed by
# operators, and refusing the order for good would hurt the customer for our mistake.
RETRYABLE_CODES = (
    "SYSTEM_BUSY",
    "TIMEOUT",
    "UNKNOWN_MERCHANT",
    "SIGNATURE_INVALID",
    "TIMESTAMP_EXPIRED",
)
DEFAULT_ERROR_CLASSES: dict[str, ErrorClass] = {
    **dict.fromkeys(FINAL_CODES, ErrorClass.FINAL),
    **dict.fromkeys(RETRYABLE_CODES, ErrorClass.RETRYABLE),
}
_OUTCOMES = {
    "processing": Outcome.PROCESSING,
    "succeeded": Outcome.SUCCEEDED,
    "failed": Outcome.FAILED,
    "reversed": Outcome.REVERSED,
}
_MAX_CALLBACK_BYTES = 65_536


class StatementUnavailable(Exception):
    """The statement could not be fetched (unreachable, refused, not there)."""


class _Malformed(Exception):
    pass


def _optional_str(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise _Malformed(f"{name} must be a string or null")
    return value


def _instant(data: Mapping[str, Any], name: str) -> dt.datetime | None:
    value = _optional_str(data, name)
    if value is None:
        return None
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise _Malformed(f"{name} is not an ISO 8601 date-time") from exc
    if instant.tzinfo is None:
        raise _Malformed(f"{name} has no UTC offset")
    return instant


def _answer(data: Any, expected_order_no: str | None) -> ChannelAnswer:
    """An order state of the gateway (answer or callback) as a :class:`ChannelAnswer`."""
    if not isinstance(data, dict):
        raise _Malformed("not a JSON object")
    order_no = data.get("order_no")
    if not isinstance(order_no, str) or not order_no:
        raise _Malformed("order_no is missing")
    if expected_order_no is not None and order_no != expected_order_no:
        raise _Malformed(f"the answer is about order {order_no!r}")
    status = data.get("status")
    outcome = _OUTCOMES.get(status) if isinstance(status, str) else None
    if outcome is None:
        raise _Malformed(f"unknown status {status!r}")
    amount = data.get("amount")
    if amount is not None and (type(amount) is not int or amount <= 0):
        raise _Malformed("amount must be a positive integer of minor units")
    error_code = _optional_str(data, "error_code")
    if outcome is Outcome.FAILED and not error_code:
        raise _Malformed("a failed order without error_code")
    completed_at = _instant(data, "completed_at")
    if outcome in (Outcome.SUCCEEDED, Outcome.REVERSED) and completed_at is None:
        raise _Malformed("a completed order without completed_at")
    _instant(data, "reversed_at")
    return ChannelAnswer(
        order_no=order_no,
        outcome=outcome,
        channel_ref=_optional_str(data, "channel_ref"),
        error_code=error_code,
        message=_optional_str(data, "message"),
        completed_at=completed_at,
        amount=amount,
        raw=data,
    )


class SimulatedGatewayAdapter:
    """:class:`~lendbridge.payments.channels.base.ChannelAdapter` for the simulated gateway.

    Thread-safe: one ``httpx.Client`` (a keep-alive connection pool) serves every thread.
    ``error_classes`` overrides entries of :data:`DEFAULT_ERROR_CLASSES`; a code in neither
    is ``unknown_error_class``, RETRYABLE by default: the gateway is idempotent by order_no,
    so sending the order again can never move money twice, and the platform's attempt limit
    ends the retries if the code turns out to be final.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        merchant_id: str,
        secret: bytes,
        timeout: float = 10.0,
        error_classes: Mapping[str, ErrorClass] | None = None,
        unknown_error_class: ErrorClass = ErrorClass.RETRYABLE,
        callback_tolerance: int = DEFAULT_TOLERANCE,
        clock: Callable[[], dt.datetime] = platform_clock.now,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 64,
    ) -> None:
        self.name = name
        self.merchant_id = merchant_id
        self._secret = secret
        self._classes = {**DEFAULT_ERROR_CLASSES, **(error_classes or {})}
        self._unknown = unknown_error_class
        self._tolerance = callback_tolerance
        self._clock = clock
        self._path = urlsplit(base_url).path.rstrip("/")  # signed with each request's path
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout),
            limits=limits,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SimulatedGatewayAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the ChannelAdapter operations --------------------------------------------------

    def submit(self, request: ChannelRequest) -> ChannelAnswer:
        body = json.dumps(
            {
                "order_no": request.order_no,
                "direction": request.direction.value,
                "amount": request.amount,
                "currency": request.currency,
                "account_number": request.account_number,
                "account_name": request.account_name,
                "callback_url": request.callback_url,
                "memo": request.memo,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        return self._exchange("POST", "/v1/orders", body, request.order_no)

    def query(self, order_no: str) -> ChannelAnswer:
        return self._exchange("GET", f"/v1/orders/{quote(order_no, safe='')}", b"", order_no)

    def parse_callback(
        self, headers: Mapping[str, str], body: bytes, now: dt.datetime
    ) -> ChannelAnswer:
        merchant = header(headers, MERCHANT_HEADER)
        if merchant is not None and merchant != self.merchant_id:
            raise CallbackRejected("callback for another merchant")
        try:
            verify(
                self._secret,
                header(headers, TIMESTAMP_HEADER),
                header(headers, SIGNATURE_HEADER),
                body,
                now,
                self._tolerance,
            )
        except SignatureError as exc:
            raise CallbackRejected(f"{exc.reason}: {exc}") from None
        # Parsed only once authentic: unauthenticated input never reaches the JSON parser.
        if len(body) > _MAX_CALLBACK_BYTES:
            raise CallbackRejected("malformed: the body is too large")
        try:
            return _answer(json.loads(body), None)
        except (ValueError, _Malformed) as exc:
            raise CallbackRejected(f"malformed: {exc}") from None

    def fetch_statement(self, day: dt.date) -> Iterator[bytes]:
        """Stream the statement CSV; raises :class:`StatementUnavailable` (lazily, when the
        iteration starts) if it cannot be had."""
        path = f"/v1/statements/{day.isoformat()}"
        try:
            with self._client.stream("GET", path, headers=self._headers("GET", path, b"")) as r:
                if r.status_code != 200:
                    r.read()
                    raise StatementUnavailable(
                        f"{self.name}: statement {day}: HTTP {r.status_code} {r.text[:200]}"
                    )
                yield from r.iter_bytes()
        except httpx.HTTPError as exc:
            raise StatementUnavailable(f"{self.name}: statement {day}: {exc!r}") from exc

    def classify(self, error_code: str) -> ErrorClass:
        return self._classes.get(error_code, self._unknown)

    # -- transport --------------------------------------------------------------------

    def _headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        # The gateway verifies the decoded path it routes on.
        payload = request_payload(method, unquote(self._path + path), body)
        headers = signed_headers(self._secret, payload, self._clock(), self.merchant_id)
        if body:
            headers["Content-Type"] = "application/json"
        return headers

    def _exchange(self, method: str, path: str, body: bytes, order_no: str) -> ChannelAnswer:
        headers = self._headers(method, path, body)
        try:
            response = self._client.request(method, path, content=body or None, headers=headers)
        except httpx.TimeoutException as exc:
            return self._unknown_answer(order_no, "TIMEOUT", exc)
        except httpx.HTTPError as exc:  # refused, reset, cut mid-answer: it may have arrived
            return self._unknown_answer(order_no, "CONNECTION_ERROR", exc)
        status = response.status_code
        try:
            data: Any = response.json()
        except ValueError:
            data = None
        raw: dict[str, Any] = {"http_status": status, "body": data or response.text[:500]}
        if response.is_success:
            try:
                return _answer(data, order_no)
            except _Malformed as exc:
                # A 2xx we cannot read may mean the order was taken: find out by querying.
                return ChannelAnswer(order_no, Outcome.UNKNOWN, message=str(exc), raw=raw)
        code = data.get("error_code") if isinstance(data, dict) else None
        message = data.get("message") if isinstance(data, dict) else None
        code = code if isinstance(code, str) and code else None
        message = message if isinstance(message, str) else None
        if status == 404 and method == "GET":
            return ChannelAnswer(order_no, Outcome.NOT_FOUND, error_code=code, raw=raw)
        if status in (429, 503) and method == "POST":
            # Refused before being recorded: safe to send again (classified retryable).
            return ChannelAnswer(
                order_no, Outcome.FAILED, error_code=code or "SYSTEM_BUSY", message=message, raw=raw
            )
        if 400 <= status < 500 and code is not None and method == "POST":
            return ChannelAnswer(
                order_no, Outcome.FAILED, error_code=code, message=message, raw=raw
            )
        # Other server errors, or a query the gateway could not answer: nothing is known.
        return ChannelAnswer(
            order_no, Outcome.UNKNOWN, error_code=code, message=message or f"HTTP {status}", raw=raw
        )

    @staticmethod
    def _unknown_answer(order_no: str, code: str, exc: Exception) -> ChannelAnswer:
        return ChannelAnswer(
            order_no,
            Outcome.UNKNOWN,
            error_code=code,
            message=f"{type(exc).__name__}: {exc}",
            raw={"exception": type(exc).__name__},
        )
