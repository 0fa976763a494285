"""HTTP plumbing: request ids, body-size limit, the session dependency, idempotency header."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import re
import types
import typing
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any

import structlog
from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lendbridge.kit.actor import Actor
from lendbridge.kit.errors import DomainError, ValidationFailed, field_error

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


class RequestContextMiddleware:
    """Binds a request id (the caller's ``X-Request-ID`` if well-formed, else a new one) to
    the log context and echoes it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request_id, method=scope["method"], path=scope["path"]
        )

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"].append((b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyTooLarge(Exception):
    pass


class InFlightLimitMiddleware:
    """At most ``limit`` requests inside the application at once; the rest wait at the door,
    holding nothing.

    A request keeps its database connection from its first query to its end, across the
    framework's hops between request threads (dependencies, then the endpoint). With more
    requests inside than connections, a burst deadlocks: every thread slot taken by a request
    waiting for a connection, every connection held by a request waiting for a thread slot,
    until the pool's timeout fails them all (32 simultaneous first requests did exactly
    that). Admitting no more requests than the pool has connections makes that impossible."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None  # made in the server's event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)


class BodySizeLimitMiddleware:
    """Refuses request bodies over ``limit`` bytes with 413, whether or not the client sent a
    Content-Length, before the application reads them into memory. The API's paths get a
    problem document; other paths (the web pages) get ``page(request, limit)`` when given, so
    a person who uploaded too large a file reads why in their language."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        page: typing.Callable[[Request, int], typing.Any] | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._refuse(scope, send)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            # The framework may turn BodyTooLarge into its own error response (FastAPI answers
            # 400 "error parsing the body"); once the limit was passed, 413 is the answer.
            if exceeded and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, limited_receive, guarded_send)
        if exceeded and not started:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        from lendbridge.kit.problems import problem_response

        request = Request(scope)
        if self.page is not None and not request.url.path.startswith("/v1/"):
            await self.page(request, self.limit)(scope, _noop_receive, send)
            return
        response = problem_response(
            request,
            status=413,
            code="payload_too_large",
            title="Payload too large",
            detail=f"the request body exceeds {self.limit} bytes",
            errors=[{"field": "body", "message": f"larger than {self.limit} bytes"}],
        )
        await response(scope, _noop_receive, send)


async def _noop_receive() -> Message:
    return {"type": "http.disconnect"}


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for the request. Endpoints that change state call ``session.commit()``
    themselves before returning, so a failed commit (a deferred constraint) is the response.

    Async, so that opening and closing cost no trip to a worker thread each: a session
    connects on first use, and only one still holding a connection (a read, or a failed
    write) needs the thread to roll back and give the connection back."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(_end, session)
        else:
            session.close()


def _end(session: Session) -> None:
    session.rollback()
    session.close()


_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


# async: no I/O, so FastAPI runs it on the event loop instead of handing it to a thread
async def idempotency_key(
    key: Annotated[
        str,
        Header(
            alias="Idempotency-Key",
            # Declared, not only checked below, so the OpenAPI contract says which keys are valid.
            min_length=1,
            max_length=200,
            pattern=_KEY.pattern,
            description="Unique per intended operation (1-200 visible ASCII characters); "
            "retrying with the same key and body returns the first result.",
        ),
    ],
) -> str:
    if not _KEY.match(key):
        raise field_error(
            ValidationFailed, "Idempotency-Key", "must be 1-200 visible ASCII characters"
        )
    return key


# async: no I/O, so FastAPI runs it on the event loop instead of handing it to a thread
async def screen_parameters(request: Request) -> None:
    """Refuse, naming it, a query or path parameter containing NUL (PostgreSQL text cannot
    hold it) and a query parameter the route does not declare (a typo such as ``?limt=5``
    would otherwise be ignored silently)."""
    for name, value in [*request.query_params.multi_items(), *request.path_params.items()]:
        if "\x00" in str(value):  # NUL cannot reach a PostgreSQL text column
            raise field_error(ValidationFailed, name, "must not contain the NUL character")
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or not request.query_params:
        return
    declared, lists = _query_names(dependant)
    unknown = sorted(set(request.query_params.keys()) - declared)
    if unknown:
        name = unknown[0] or "(empty name)"
        raise field_error(ValidationFailed, f"query.{name}", "is not a parameter of this route")
    # ``?limit=5&limit=500``: the framework would take one of them silently.
    names = [name for name, _ in request.query_params.multi_items() if name not in lists]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise field_error(ValidationFailed, f"query.{repeated[0]}", "is given more than once")


_QUERY_NAMES: dict[int, tuple[frozenset[str], frozenset[str]]] = {}


def _query_names(dependant: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The query parameters a route declares, its dependencies' included, and those of them
    that take a list; computed once per route (routes live as long as the application)."""
    known = _QUERY_NAMES.get(id(dependant))
    if known is None:
        params = _collect_query_params(dependant)
        known = (
            frozenset(str(p.alias) for p in params),
            frozenset(str(p.alias) for p in params if _takes_a_list(p)),
        )
        _QUERY_NAMES[id(dependant)] = known
    return known


def _collect_query_params(dependant: Any) -> list[Any]:
    params = list(getattr(dependant, "query_params", ()))
    for sub in getattr(dependant, "dependencies", ()):
        params += _collect_query_params(sub)
    return params


def _takes_a_list(param: Any) -> bool:
    annotation = getattr(getattr(param, "field_info", None), "annotation", None)
    kinds = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    return any(typing.get_origin(k) in (list, tuple, set, frozenset) for k in kinds)


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


# async: no I/O, so FastAPI runs it on the event loop instead of handing it to a thread
async def current_actor(request: Request) -> Actor:
    """The actor the application-wide permission check established for this request (see
    ``identity/auth.py``), for domains that must not depend on identity."""
    actor = getattr(request.state, "actor", None)
    if not isinstance(actor, Actor):
        raise RuntimeError("no actor: the permission check did not run for this route")
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]


def permission(name: str) -> dict[str, Any]:
    """A route's declared permission, as ``openapi_extra``: the application-wide check reads
    it, and the OpenAPI document publishes it as ``x-permission``."""
    return {"x-permission": name}


@contextlib.contextmanager
def commit_refusals(session: Session, *refusals: type[DomainError]) -> Iterator[None]:
    """For refusals that must leave a trace (an audited attempt, a counted wrong code): commit
    what the operation recorded, then let the refusal answer the request."""
    try:
        yield
    except refusals:
        session.commit()
        raise


class ThreadedRoute(APIRoute):
    """A route whose synchronous endpoint runs on a worker thread and whose answer is then
    validated on the event loop. FastAPI would send a synchronous endpoint's answer to a
    second worker thread for validation: one more hand-over per request, and each costs
    about a tenth of a millisecond of CPU. Every API router uses this class."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _on_a_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)


def _on_a_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    # functools.wraps keeps the name, the documentation and, through __wrapped__, the
    # signature and annotations FastAPI reads the parameters from.
    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return run
