"""Signed callbacks to the platform, sent from background tasks of the gateway's event loop.

A callback never runs on the request path: the handler schedules a task and answers. Each
delivery is retried with doubling backoff while the platform answers non-2xx or cannot be
reached, and is signed again on every try so its timestamp stays fresh.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from lendbridge.payments.gateway.http_client import HttpClient, HttpError
from lendbridge.payments.gateway.state import Book
from lendbridge.payments.signing import signed_headers


class CallbackSender:
    def __init__(
        self,
        book: Book,
        clock: Callable[[], dt.datetime],
        attempts: int,
        backoff: float,
        timeout: float,
        concurrency: int,
    ) -> None:
        self._book = book
        self._clock = clock
        self._attempts = attempts
        self._backoff = backoff
        self._timeout = timeout
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: HttpClient | None = None
        # At most this many deliveries in flight: a burst of thousands of callbacks then
        # waits here instead of opening thousands of connections to the platform.
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency

    async def start(self) -> None:
        self._client = HttpClient(max_idle_per_host=self._concurrency)

    async def stop(self) -> None:
        await self.cancel_all()
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def send(
        self,
        url: str,
        merchant_id: str,
        secret: bytes,
        body: bytes,
        delay: float = 0.0,
        copies: int = 1,
        after: asyncio.Task[None] | None = None,
    ) -> asyncio.Task[None]:
        """Schedule a callback ``delay`` seconds from now (and after ``after`` has finished,
        which is how callbacks are put in a chosen order); ``copies`` > 1 delivers it again."""
        task = asyncio.get_running_loop().create_task(
            self._run(url, merchant_id, secret, body, delay, copies, after)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._book.count("callbacks", "scheduled")
        return task

    async def _run(
        self,
        url: str,
        merchant_id: str,
        secret: bytes,
        body: bytes,
        delay: float,
        copies: int,
        after: asyncio.Task[None] | None,
    ) -> None:
        if after is not None:
            await asyncio.wait([after])
        if delay > 0:
            await asyncio.sleep(delay)
        for _ in range(copies):
            await self._deliver(url, merchant_id, secret, body)

    async def _deliver(self, url: str, merchant_id: str, secret: bytes, body: bytes) -> None:
        client = self._client
        if client is None:
            raise RuntimeError("the callback sender is not started")
        for attempt in range(self._attempts):
            if attempt:
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
            headers = signed_headers(secret, body, self._clock(), merchant_id)
            headers["Content-Type"] = "application/json"
            self._book.count("callbacks", "attempts")
            try:
                async with self._slots:
                    status = await client.post(url, body, headers, self._timeout)
            except HttpError:
                continue  # unreachable or timed out: the platform may be restarting
            if 200 <= status < 300:
                self._book.count("callbacks", "delivered")
                return
        self._book.count("callbacks", "failed")
