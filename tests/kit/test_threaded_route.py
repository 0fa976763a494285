"""ThreadedRoute: a synchronous endpoint runs on a worker thread, its answer is validated on
the event loop, and FastAPI still reads its parameters and documentation from it."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from lendbridge.app import create_app
from lendbridge.config import Settings
from lendbridge.kit.http import ThreadedRoute


class Answer(BaseModel):
    n: int
    thread: str


def _app() -> tuple[FastAPI, dict[str, str]]:
    seen: dict[str, str] = {}
    router = APIRouter(route_class=ThreadedRoute)

    @router.get("/sync")
    def sync_endpoint(n: Annotated[int, Query(ge=0)]) -> Answer:
        """Counts."""
        seen["endpoint"] = threading.current_thread().name
        return Answer(n=n, thread=threading.current_thread().name)

    @router.get("/bad")
    def bad_answer() -> Answer:
        return {"n": "not a number", "thread": "x"}  # type: ignore[return-value]

    app = FastAPI()
    app.include_router(router)

    @app.middleware("http")
    async def loop_thread(request, call_next):  # type: ignore[no-untyped-def]
        seen["loop"] = threading.current_thread().name
        return await call_next(request)

    return app, seen


def test_sync_endpoint_runs_on_a_worker_thread_with_its_parameters() -> None:
    app, seen = _app()
    with TestClient(app) as client:
        ok = client.get("/sync", params={"n": 3})
        assert ok.status_code == 200, ok.text
        assert ok.json()["n"] == 3
        assert seen["endpoint"] != seen["loop"]  # not on the event loop
        refused = client.get("/sync", params={"n": -1})
        assert refused.status_code == 422  # the Query constraint still applies
    operation = app.openapi()["paths"]["/sync"]["get"]
    assert operation["operationId"].startswith("sync_endpoint")
    assert operation["description"] == "Counts."
    assert operation["parameters"][0]["name"] == "n"


def test_an_answer_that_breaks_its_model_is_still_refused() -> None:
    app, _ = _app()
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/bad").status_code == 500


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # an included router
        if included is not None:
            yield from _routes(included.routes)


def test_every_api_route_is_threaded_or_async() -> None:
    """A router that forgot the route class would send each answer to a second thread."""
    app = create_app(Settings(database_url="sqlite://", log_format="console"))
    api = [r for r in _routes(app.routes) if r.path.startswith("/v1/")]
    assert len(api) > 100
    plain = [
        r.path
        for r in api
        if not isinstance(r, ThreadedRoute) and not inspect.iscoroutinefunction(r.endpoint)
    ]
    assert plain == []
