"""Helpers for tests and benchmarks that drive the simulated gateway over HTTP: raw signed
requests, a callback recorder, sample orders and waiting without fixed sleeps.

The pytest fixtures built on these are in ``tests/payments/gateway_fixtures.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lendbridge.payments.channels.base import ChannelRequest, Direction
from lendbridge.payments.signing import request_payload, signed_headers

SAMPLE_ACCOUNT = "6222021234561234"
PATIENCE = 20.0  # seconds: generous, test machines are shared


def wait_until(
    condition: Callable[[], object], timeout: float = PATIENCE, message: str = "condition"
) -> None:
    """Poll ``condition`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(0.01)


def sample_order(order_no: str, amount: int = 12_345, **changes: Any) -> ChannelRequest:
    values: dict[str, Any] = {
        "order_no": order_no,
        "direction": Direction.PAY,
        "amount": amount,
        "currency": "CNY",
        "account_number": SAMPLE_ACCOUNT,
        "account_name": "张三",
    }
    values.update(changes)
    return ChannelRequest(**values)


def sample_order_json(order_no: str, **changes: Any) -> dict[str, Any]:
    """The body of ``POST /v1/orders`` for a sample order."""
    body: dict[str, Any] = {
        "order_no": order_no,
        "direction": "pay",
        "amount": 12_345,
        "currency": "CNY",
        "account_number": SAMPLE_ACCOUNT,
        "account_name": "张三",
        "memo": "loan 1",
    }
    body.update(changes)
    return body


class SignedClient:
    """Protocol requests signed as the adapter signs them, with any header overridden."""

    def __init__(self, base_url: str, merchant_id: str, secret: bytes) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=PATIENCE)
        self.merchant_id = merchant_id
        self.secret = secret

    def close(self) -> None:
        self.http.close()

    def headers(self, method: str, path: str, body: bytes, **changes: str) -> dict[str, str]:
        headers = signed_headers(
            self.secret,
            request_payload(method, path, body),
            dt.datetime.now(dt.UTC),
            self.merchant_id,
        )
        headers.update({name.replace("_", "-"): value for name, value in changes.items()})
        return headers

    def post_order(
        self, data: dict[str, Any] | bytes, timeout: float = PATIENCE, **header_changes: str
    ) -> httpx.Response:
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        headers = self.headers("POST", "/v1/orders", body, **header_changes)
        return self.http.post("/v1/orders", content=body, headers=headers, timeout=timeout)

    def get(self, path: str, **header_changes: str) -> httpx.Response:
        return self.http.get(path, headers=self.headers("GET", path, b"", **header_changes))


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]  # lower-case names, as a server sees them
    body: bytes
    at: float  # time.monotonic() on arrival

    @property
    def data(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


class CallbackReceiver:
    """The platform's callback endpoint reduced to a recorder (serve :meth:`app` with
    :func:`lendbridge.payments.gateway.server.running_app`). It answers 500 to the next
    ``fail_next`` deliveries."""

    path = "/callbacks/sim"

    def __init__(self) -> None:
        self.url = ""
        self.received: list[Received] = []
        self.fail_next = 0
        self.lock = threading.Lock()
        # Which deliveries count: a test sets it to "about an order of the current book", so
        # a callback of an earlier test still on the wire when the gateway was reset is
        # ignored rather than mistaken for one about the same order number.
        self.current: Callable[[dict[str, Any]], bool] = lambda data: True

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.fail_next = 0

    def deliveries(self, order_no: str | None = None) -> list[Received]:
        with self.lock:
            items = list(self.received)
        return [
            r
            for r in items
            if (order_no is None or r.data.get("order_no") == order_no) and self.current(r.data)
        ]

    def statuses(self, order_no: str) -> list[str]:
        return [r.data["status"] for r in self.deliveries(order_no)]

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.received.append(Received(dict(request.headers), body, time.monotonic()))
            if self.fail_next > 0:
                self.fail_next -= 1
                return Response("try later", 500)
        return Response("ok")

    def app(self) -> Starlette:
        return Starlette(routes=[Route(self.path, self.endpoint, methods=["POST"])])
