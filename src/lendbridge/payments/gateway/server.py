"""Running the gateway: in a background thread (tests, demos, benchmarks) or in the
foreground (``lendbridge gateway``)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from starlette.types import ASGIApp

from lendbridge.payments.gateway.app import create_app
from lendbridge.payments.gateway.config import FeeSchedule, GatewayConfig
from lendbridge.payments.gateway.core import Gateway
from lendbridge.payments.gateway.faults import FaultConfig
from lendbridge.payments.gateway.state import Transaction

T = TypeVar("T")
START_TIMEOUT = 30.0  # seconds; generous for a loaded two-core machine


class _Server(uvicorn.Server):
    """uvicorn, telling the gateway when shutdown begins: uvicorn waits for open requests
    before the application's own shutdown runs, and a request held by a timeout fault would
    otherwise hold the stop for its whole delay."""

    def __init__(self, config: uvicorn.Config, on_shutdown: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._on_shutdown is not None:
            self._on_shutdown()
        await super().shutdown(sockets)


def _server(
    app: ASGIApp, log_level: str, on_shutdown: Callable[[], None] | None, **options: Any
) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        lifespan="on",
        access_log=False,
        log_level=log_level,
        timeout_graceful_shutdown=5,
        **options,
    )
    return _Server(config, on_shutdown)


@contextlib.contextmanager
def running_app(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    on_shutdown: Callable[[], None] | None = None,
) -> Iterator[str]:
    """Serve an ASGI app from a background thread; yield its base URL. The socket is bound
    before the thread starts, so port 0 gives a free port without a race."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_host, bound_port = sock.getsockname()[:2]
    # log_config=None: leave the process's logging alone (tests, the platform's own server).
    server = _server(app, "warning", on_shutdown, log_config=None)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"asgi-{bound_port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the server did not start")
        time.sleep(0.005)
    shown = f"[{bound_host}]" if family == socket.AF_INET6 else bound_host
    try:
        yield f"http://{shown}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT)
        sock.close()


@dataclass
class RunningGateway:
    """A gateway served from a background thread, and a handle on it for the test thread."""

    base_url: str
    gateway: Gateway

    @property
    def merchant_id(self) -> str:
        return next(iter(self.gateway.config.merchants))

    @property
    def secret(self) -> bytes:
        return self.gateway.config.merchants[self.merchant_id]

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = START_TIMEOUT) -> T:
        """Run ``coroutine`` on the gateway's loop (its timers and tasks live there)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.gateway.loop).result(timeout)

    def reset(self, seed: int | None = None, faults: FaultConfig | None = None) -> None:
        """A fresh book, the start's faults (or ``faults``), seed and trade date."""
        self.call(self.gateway.reset(seed, faults))

    def set_faults(self, faults: FaultConfig | None = None, **changes: Any) -> FaultConfig:
        """Replace the faults, or change some of their fields: ``set_faults(lost_rate=0.5)``."""
        updated = (faults or self.gateway.faults).updated(changes)
        self.gateway.faults = updated  # one reference swap: requests see old or new, whole
        return updated

    def set_fees(self, fees: FeeSchedule) -> None:
        self.gateway.fees = fees

    def set_trade_date(self, day: dt.date | None) -> None:
        """Fix the gateway's trade date (None: back to the clock's date in its timezone)."""
        self.gateway.trade_date_override = day

    def write_statement(self, path: Path, day: dt.date) -> int:
        """This merchant's statement for ``day`` as a file (what the platform downloads)."""
        return self.gateway.write_statement(path, day, self.merchant_id)

    def stats(self) -> dict[str, Any]:
        return self.gateway.stats()

    def order(self, order_no: str) -> Transaction | None:
        return self.gateway.book.get(self.merchant_id, order_no)

    def executions(self, order_no: str) -> int:
        return self.gateway.book.executions(self.merchant_id, order_no)

    def complete(self, order_no: str, error_code: str | None = None) -> bool:
        """Finish an order held in processing (``Action.HOLD``)."""
        transaction = self._known(order_no)

        async def run() -> bool:
            return self.gateway.complete(transaction, error_code)

        return self.call(run())

    def reverse(self, order_no: str) -> bool:
        transaction = self._known(order_no)

        async def run() -> bool:
            return self.gateway.reverse(transaction)

        return self.call(run())

    def _known(self, order_no: str) -> Transaction:
        transaction = self.order(order_no)
        if transaction is None:
            raise KeyError(order_no)
        return transaction


@contextlib.contextmanager
def running_gateway(
    config: GatewayConfig | None = None,
    faults: FaultConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[RunningGateway]:
    """A gateway on a free loopback port for the duration of the block::

    with running_gateway(GatewayConfig({"M1": b"secret"}, seed=7)) as gw:
        adapter = SimulatedGatewayAdapter("sim", gw.base_url, gw.merchant_id, gw.secret)
    """
    gateway = Gateway(config or GatewayConfig({"M0001": b"gateway-test-secret"}), faults)
    with running_app(create_app(gateway), host, port, gateway.begin_shutdown) as base_url:
        yield RunningGateway(base_url, gateway)


def serve(gateway: Gateway, host: str, port: int, log_level: str = "info") -> None:
    """Serve in the foreground until interrupted (Ctrl+C)."""
    _server(create_app(gateway), log_level, gateway.begin_shutdown, host=host, port=port).run()
