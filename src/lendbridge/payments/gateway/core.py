"""The gateway's behaviour, independent of HTTP: orders, completions, reversals, callbacks.

Everything here except the read-only helpers runs on the gateway's event loop: timers and
callback tasks belong to that loop. Other threads go through
:meth:`lendbridge.payments.gateway.server.RunningGateway.call`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lendbridge.payments.gateway import faults as f
from lendbridge.payments.gateway import statement
from lendbridge.payments.gateway.callbacks import CallbackSender
from lendbridge.payments.gateway.config import GatewayConfig
from lendbridge.payments.gateway.protocol import (
    ACCOUNT_NUMBER,
    MESSAGES,
    OrderRequest,
    dumps,
    error,
)
from lendbridge.payments.gateway.state import (
    Book,
    Conflict,
    StatementEntry,
    Status,
    Transaction,
)


@dataclass
class Reply:
    """How to answer a request: ``status`` and ``body`` after ``delay`` seconds, or close the
    connection without an answer (``drop``)."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


class Gateway:
    def __init__(self, config: GatewayConfig, faults: f.FaultConfig | None = None) -> None:
        self.config = config
        self.tz = ZoneInfo(config.timezone)
        self.book = Book()
        self._initial_faults = faults or f.FaultConfig()
        self.faults = self._initial_faults
        self.seed = config.seed
        self.fees = config.fees
        self.trade_date_override: dt.date | None = None
        self._started = time.monotonic()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self.callbacks = CallbackSender(
            self.book,
            config.clock,
            config.callback_attempts,
            config.callback_backoff,
            config.callback_timeout,
            config.callback_concurrency,
        )

    # -- lifecycle (on the loop) -------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        await self.callbacks.start()

    def begin_shutdown(self) -> None:
        """Wake requests held by latency or a timeout fault so the server can stop now."""
        if self._stopping is not None:
            self._stopping.set()

    async def pause(self, seconds: float) -> bool:
        """Wait ``seconds``; False if the gateway began to shut down meanwhile."""
        if self._stopping is None or self._stopping.is_set():
            return False
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def stop(self) -> None:
        await self.callbacks.stop()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the gateway is not running")
        return self._loop

    async def reset(self, seed: int | None = None, faults: f.FaultConfig | None = None) -> None:
        """Forget every order and pending callback, and go back to the start's seed, faults,
        fees and trade date; timers of earlier orders then do nothing (the epoch changed)."""
        await self.callbacks.cancel_all()
        self.book.reset()
        self.seed = self.config.seed if seed is None else seed
        self.faults = faults or self._initial_faults
        self.fees = self.config.fees
        self.trade_date_override = None
        self._started = time.monotonic()

    # -- reads (any thread) -------------------------------------------------------------

    def now(self) -> dt.datetime:
        return self.config.clock()

    def trade_date(self) -> dt.date:
        return self.trade_date_override or self.now().astimezone(self.tz).date()

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self._started) * 1000)

    def statement(self, day: dt.date, merchant_id: str | None = None) -> list[StatementEntry]:
        """The day's statement entries, of one merchant or all."""
        entries = self.book.statement(day)
        if merchant_id is None:
            return entries
        return [e for e in entries if e.transaction.merchant_id == merchant_id]

    def write_statement(self, path: Path, day: dt.date, merchant_id: str | None = None) -> int:
        """Write the day's statement CSV to ``path`` (the bytes ``GET /v1/statements``
        serves); answer the number of bytes written."""
        return statement.write_statement(path, day, self.statement(day, merchant_id), self.tz)

    def stats(self) -> dict[str, Any]:
        stats = self.book.stats()
        stats["callbacks"]["pending"] = self.callbacks.pending
        return stats

    # -- requests -------------------------------------------------------------------------

    def place_order(self, merchant_id: str, order: OrderRequest) -> Reply:
        order_no, content = order.order_no, order.content
        attempt = self.book.next_attempt(merchant_id, order_no)
        faults = self.faults  # one consistent snapshot while runtime changes swap it
        rng = f.rng_for(self.seed, merchant_id, order_no, str(attempt))
        delay = f.latency(faults, rng)
        forced = f.forced_action(faults, order_no, content.account_number, attempt)
        fault = f.transport_fault(faults, forced, rng, self.elapsed_ms())
        if fault is f.Action.LOST:
            self.book.count("requests", "lost")
            return self._no_answer(faults, delay)
        if fault is f.Action.SYSTEM_BUSY:
            self.book.count("requests", "system_busy")
            return Reply(503, error("SYSTEM_BUSY"), delay)
        if not ACCOUNT_NUMBER.fullmatch(content.account_number):
            forced = f.Action.INVALID_ACCOUNT
        plan = f.plan_order(faults, forced, f.rng_for(self.seed, merchant_id, order_no, "plan"))

        def make(channel_ref: str, epoch: int) -> Transaction:
            return Transaction(
                merchant_id=merchant_id,
                order_no=order_no,
                content=content,
                callback_url=order.callback_url,
                memo=order.memo,
                channel_ref=channel_ref,
                plan=plan,
                received_at=self.now(),
                epoch=epoch,
            )

        try:
            transaction, created = self.book.record(merchant_id, order_no, content, make)
        except Conflict:
            self.book.count("requests", "duplicate_order")
            return Reply(409, error("DUPLICATE_ORDER"), delay)
        self.book.count("requests", "accepted" if created else "repeated")
        if created:
            self._begin(transaction)
        if fault is f.Action.TIMEOUT:
            self.book.count("requests", "timeout")
            return self._no_answer(faults, delay, transaction.state(self.tz))
        return Reply(200, transaction.state(self.tz), delay)

    def _no_answer(
        self, faults: f.FaultConfig, delay: float, body: dict[str, Any] | None = None
    ) -> Reply:
        if faults.timeout_mode == "drop":
            return Reply(200, {}, delay, drop=True)
        if body is None:  # a lost request: whoever is still waiting gets nothing
            return Reply(200, {}, delay + faults.timeout_delay_ms / 1000, drop=True)
        return Reply(200, body, delay + faults.timeout_delay_ms / 1000)

    def query(self, merchant_id: str, order_no: str) -> Reply:
        attempt = self.book.next_attempt(merchant_id, order_no, kind="query")
        faults = self.faults
        rng = f.rng_for(self.seed, merchant_id, order_no, "query", str(attempt))
        delay = f.latency(faults, rng) if faults.faults_on_queries else 0.0
        if f.busy_query(faults, rng, self.elapsed_ms()):
            self.book.count("requests", "system_busy")
            return Reply(503, error("SYSTEM_BUSY"), delay)
        transaction = self.book.get(merchant_id, order_no)
        if transaction is None:
            return Reply(404, error("NOT_FOUND"), delay)
        return Reply(200, transaction.state(self.tz), delay)

    # -- completion, reversal, callbacks (on the loop) ------------------------------------

    def _begin(self, transaction: Transaction) -> None:
        plan = transaction.plan
        if plan.hold:
            return
        if plan.async_delay is None:
            self.complete(transaction, plan.error_code)
        else:
            self.loop.call_later(plan.async_delay, self.complete, transaction, plan.error_code)

    def complete(self, transaction: Transaction, error_code: str | None) -> bool:
        """Finish a processing order: success moves the money (one execution)."""
        content = transaction.content
        fee = 0 if error_code else self.fees.fee(content.amount)
        message = MESSAGES.get(error_code, error_code) if error_code else None
        if not self.book.complete(
            transaction, error_code, message, self.now(), self.trade_date(), fee
        ):
            return False
        plan = transaction.plan
        reversing = transaction.status is Status.SUCCEEDED and plan.reverse_delay is not None
        held: bytes | None = None
        if transaction.callback_url:
            body = self._callback_body(transaction, transaction.status)
            if reversing and plan.reversal_first:
                held = body  # delivered after the reversal's callback
            else:
                final = self._callback(transaction, body, plan.callback_delays[0])
                if plan.stale_processing:
                    stale = self._callback_body(transaction, Status.PROCESSING)
                    self._callback(transaction, stale, plan.callback_delays[2], after=final)
        if reversing and plan.reverse_delay is not None:
            self.loop.call_later(plan.reverse_delay, self.reverse, transaction, held)
        return True

    def reverse(self, transaction: Transaction, held: bytes | None = None) -> bool:
        """Undo a succeeded order (a bank return, 退票)."""
        if not self.book.reverse(transaction, self.now(), self.trade_date()):
            return False
        if transaction.callback_url:
            plan = transaction.plan
            body = self._callback_body(transaction, Status.REVERSED)
            reversal = self._callback(transaction, body, plan.callback_delays[1])
            if held is not None:
                self._callback(transaction, held, 0.0, after=reversal)
        return True

    def _callback(
        self,
        transaction: Transaction,
        body: bytes,
        delay: float,
        after: asyncio.Task[None] | None = None,
    ) -> asyncio.Task[None]:
        assert transaction.callback_url is not None
        return self.callbacks.send(
            transaction.callback_url,
            transaction.merchant_id,
            self.config.merchants[transaction.merchant_id],
            body,
            delay,
            transaction.plan.callback_copies,
            after,
        )

    def _callback_body(self, transaction: Transaction, status: Status) -> bytes:
        state = transaction.state(self.tz)
        if status is Status.PROCESSING:
            state.update(error_code=None, message=None, completed_at=None, reversed_at=None)
        elif status is Status.SUCCEEDED:
            state["reversed_at"] = None
        state["status"] = status.value
        state["notify_id"] = f"{transaction.channel_ref}-{status.value}"
        return dumps(state)
