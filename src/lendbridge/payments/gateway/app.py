"""The gateway's HTTP surface (Starlette: no validation layer on the hot path, the handlers
parse the few fields themselves)."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import ipaddress
import json
import logging
from collections.abc import AsyncIterator
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from lendbridge.payments.gateway import statement
from lendbridge.payments.gateway.config import FeeSchedule
from lendbridge.payments.gateway.core import Gateway, Reply
from lendbridge.payments.gateway.faults import FaultConfig
from lendbridge.payments.gateway.protocol import InvalidRequest, dumps, error, parse_order
from lendbridge.payments.gateway.state import Status
from lendbridge.payments.signing import (
    MERCHANT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    request_payload,
    verify,
)

# Set while a response deliberately drops its connection, so the server's "returned without
# completing response" error for it is not logged as a bug (see _DroppedConnectionFilter).
_dropping: contextvars.ContextVar[bool] = contextvars.ContextVar("dropping", default=False)
_INCOMPLETE = "ASGI callable returned without completing response."


class _DroppedConnectionFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (_dropping.get() and record.getMessage() == _INCOMPLETE)


_FILTER = _DroppedConnectionFilter()


class DroppedResponse(Response):
    """Start an answer and close the connection: the client sees a reset mid-response, as
    when a bank's front end dies after the core system booked the order."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        _dropping.set(True)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"1024")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str | None = None) -> None:
        super().__init__(code)
        self.response = JSONResponse(error(code, message), status_code=status)


def _is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _int(data: dict[str, Any], name: str, default: int) -> int:
    value = data.get(name, default)
    if type(value) is not int:
        raise ValueError(f"{name} must be an integer")
    return value


def _fees_json(fees: FeeSchedule) -> dict[str, Any]:
    return {
        "fixed": fees.fixed,
        "bps": str(fees.bps),
        "minimum": fees.minimum,
        "maximum": fees.maximum,
    }


def create_app(gateway: Gateway) -> Starlette:
    config = gateway.config
    uvicorn_log = logging.getLogger("uvicorn.error")
    if _FILTER not in uvicorn_log.filters:
        uvicorn_log.addFilter(_FILTER)

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > config.max_body_bytes:
            raise _Refused(413, "INVALID_REQUEST", "the body is too large")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > config.max_body_bytes:
                raise _Refused(413, "INVALID_REQUEST", "the body is too large")
        return bytes(body)

    async def authenticate(request: Request) -> tuple[str, bytes]:
        body = await read_body(request)
        merchant_id = request.headers.get(MERCHANT_HEADER, "")
        secret = config.merchants.get(merchant_id)
        if secret is None:
            raise _Refused(401, "UNKNOWN_MERCHANT")
        payload = request_payload(request.method, request.url.path, body)
        try:
            verify(
                secret,
                request.headers.get(TIMESTAMP_HEADER),
                request.headers.get(SIGNATURE_HEADER),
                payload,
                gateway.now(),
                config.signature_tolerance,
            )
        except SignatureError as exc:
            code = "TIMESTAMP_EXPIRED" if exc.reason == "stale_timestamp" else "SIGNATURE_INVALID"
            raise _Refused(401, code, str(exc)) from exc
        return merchant_id, body

    async def answer(reply: Reply) -> Response:
        if reply.delay > 0 and not await gateway.pause(reply.delay):
            return DroppedResponse()  # shutting down: the client's answer is lost
        if reply.drop:
            return DroppedResponse()
        return Response(dumps(reply.body), reply.status, media_type="application/json")

    async def place_order(request: Request) -> Response:
        try:
            merchant_id, body = await authenticate(request)
            order = parse_order(body)
        except _Refused as refused:
            gateway.book.count("requests", "refused")
            return refused.response
        except InvalidRequest as exc:
            gateway.book.count("requests", "invalid")
            return JSONResponse(error("INVALID_REQUEST", str(exc)), 400)
        return await answer(gateway.place_order(merchant_id, order))

    async def get_order(request: Request) -> Response:
        try:
            merchant_id, _ = await authenticate(request)
        except _Refused as refused:
            return refused.response
        return await answer(gateway.query(merchant_id, request.path_params["order_no"]))

    async def get_statement(request: Request) -> Response:
        try:
            merchant_id, _ = await authenticate(request)
            day = dt.date.fromisoformat(request.path_params["day"])
        except _Refused as refused:
            return refused.response
        except ValueError:
            return JSONResponse(error("INVALID_REQUEST", "the date must be YYYY-MM-DD"), 400)
        return StreamingResponse(
            statement.render_async(day, gateway.statement(day, merchant_id), gateway.tz),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="statement-{day}.csv"'},
        )

    async def admin_json(request: Request) -> dict[str, Any]:
        if not _is_loopback(request):
            raise _Refused(403, "FORBIDDEN")
        body = await read_body(request)
        try:
            data = json.loads(body) if body else {}
        except ValueError as exc:
            raise _Refused(400, "INVALID_REQUEST", "the body is not JSON") from exc
        if not isinstance(data, dict):
            raise _Refused(400, "INVALID_REQUEST", "the body must be a JSON object")
        return data

    def admin(handler: Any) -> Any:
        """Admin routes: loopback callers only, no signature; errors as JSON."""

        async def route(request: Request) -> Response:
            try:
                data = await admin_json(request)
                result = await handler(request, data)
            except _Refused as refused:
                return refused.response
            except (ValidationError, ValueError, TypeError, KeyError, InvalidOperation) as exc:
                return JSONResponse(error("INVALID_REQUEST", str(exc)), 400)
            if isinstance(result, Response):
                return result
            return JSONResponse(result)

        return route

    async def faults(request: Request, data: Any) -> Any:
        if request.method == "POST":
            base = FaultConfig() if request.query_params.get("reset") == "true" else gateway.faults
            gateway.faults = base.updated(data)
        return gateway.faults.model_dump(mode="json")

    async def trade_date(request: Request, data: Any) -> Any:
        value = data.get("trade_date")
        gateway.trade_date_override = None if value is None else dt.date.fromisoformat(value)
        return {"trade_date": gateway.trade_date().isoformat()}

    async def fees(request: Request, data: Any) -> Any:
        bps = data.get("bps", 0)
        if not isinstance(bps, int | str) or isinstance(bps, bool):
            raise ValueError("bps must be an integer or a decimal string (never a float)")
        gateway.fees = FeeSchedule(
            fixed=_int(data, "fixed", 0),
            bps=Decimal(bps),
            minimum=_int(data, "minimum", 0),
            maximum=None if data.get("maximum") is None else _int(data, "maximum", 0),
        )
        return _fees_json(gateway.fees)

    async def stats(request: Request, data: Any) -> Any:
        return gateway.stats()

    async def reset(request: Request, data: Any) -> Any:
        faults = data.get("faults")
        await gateway.reset(
            seed=data.get("seed"),
            faults=None if faults is None else FaultConfig.model_validate(faults),
        )
        return gateway.stats()

    def _transaction(request: Request, data: Any) -> Any:
        merchant_id = data.get("merchant_id") or next(iter(config.merchants))
        order_no = request.path_params["order_no"]
        transaction = gateway.book.get(merchant_id, order_no)
        if transaction is None:
            raise _Refused(404, "NOT_FOUND")
        return transaction

    async def complete(request: Request, data: Any) -> Any:
        transaction = _transaction(request, data)
        code = data.get("error_code")
        if code is not None and not isinstance(code, str):
            raise ValueError("error_code must be a string or null")
        if not gateway.complete(transaction, code):
            raise _Refused(409, "INVALID_REQUEST", "the order is not processing")
        return transaction.state(gateway.tz)

    async def reverse(request: Request, data: Any) -> Any:
        transaction = _transaction(request, data)
        if transaction.status is not Status.SUCCEEDED or not gateway.reverse(transaction):
            raise _Refused(409, "INVALID_REQUEST", "only a succeeded order can be reversed")
        return transaction.state(gateway.tz)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "trade_date": gateway.trade_date().isoformat()})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()

    routes = [
        Route("/v1/orders", place_order, methods=["POST"]),
        Route("/v1/orders/{order_no}", get_order, methods=["GET"]),
        Route("/v1/statements/{day}", get_statement, methods=["GET"]),
        Route("/admin/faults", admin(faults), methods=["GET", "POST"]),
        Route("/admin/trade-date", admin(trade_date), methods=["POST"]),
        Route("/admin/fees", admin(fees), methods=["POST"]),
        Route("/admin/stats", admin(stats), methods=["GET"]),
        Route("/admin/reset", admin(reset), methods=["POST"]),
        Route("/admin/orders/{order_no}/complete", admin(complete), methods=["POST"]),
        Route("/admin/orders/{order_no}/reverse", admin(reverse), methods=["POST"]),
        Route("/health", health, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
