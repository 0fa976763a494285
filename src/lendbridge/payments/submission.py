"""Sending orders to channels and settling what the channels answer.

Each send is three steps: (1) in a transaction, lock the order, place the hold if this is
its first send, and record an attempt in state ``sending``; commit. (2) Call the channel,
outside any transaction. (3) In a transaction, record the answer and apply it.

A process that dies between (1) and (3) leaves the attempt ``sending``. Nothing is ever sent
again while an attempt's outcome is unknown: the next run of the order's job sees the
attempt, and once the channel's timeout has surely passed it *queries* the channel — the
order succeeded, failed, is still processing, or was never received (only then is it sent
again). The channel also receives the same ``order_no`` on every attempt, so a channel that
deduplicates by it would refuse a second execution even if the platform erred.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Label, Table, exists, select
from sqlalchemy.orm import Session, defer, sessionmaker

from lendbridge.kit import calendar, clock, db, deferred_rows, jobs
from lendbridge.kit.actor import Actor, system_actor
from lendbridge.kit.db import unit_of_work
from lendbridge.kit.errors import DomainError
from lendbridge.kit.logging import get_logger
from lendbridge.ledger.schemas import HoldPostIn
from lendbridge.ledger.service import hold_batches as ledger_batches
from lendbridge.payments import lifecycle, runtime
from lendbridge.payments.channels.base import (
    ChannelAdapter,
    ChannelAnswer,
    ChannelRequest,
    Direction,
    ErrorClass,
    Outcome,
)
from lendbridge.payments.models import (
    AttemptState,
    OrderStatus,
    PaymentAttempt,
    PaymentCallback,
    PaymentChannel,
    PaymentOrder,
)
from lendbridge.payments.orders import SEND_DUE_JOB, channel_of, load, wake_sender

log = get_logger(__name__)

QUERY_JOB = "payments.query"
# Polls of an order the channel keeps "processing" (a callback normally ends it first).
MAX_QUERY_ROUNDS = 12
QUERY_FIRST_DELAY = dt.timedelta(seconds=2)
LEDGER_REFUSED = "LEDGER_REFUSED"
BATCH = 500  # orders per sending transaction
# The effect recorded on a callback that came while the send it answers was in flight.
DEFERRED = "deferred to the answer of the send in flight"


def _actor(source: str) -> Actor:
    return system_actor(f"payments.{source}")


@dataclass(frozen=True)
class _Send:
    request: ChannelRequest
    adapter: ChannelAdapter
    attempt: int


# One sending loop per process at a time: batches of one process would only queue behind
# each other's locks on the same accounts (the channel's clearing account is in every one).
_SENDING = threading.Lock()


@jobs.job(SEND_DUE_JOB)
def _send_due_job(ctx: jobs.JobContext, payload: dict[str, object]) -> None:
    del payload
    with _SENDING:
        while send_due(ctx.factory) == BATCH:
            pass  # a full batch: there may be more


@jobs.job(QUERY_JOB)
def _query_job(ctx: jobs.JobContext, payload: dict[str, object]) -> None:
    rounds = payload.get("round", 1)
    query(
        ctx.factory, uuid.UUID(str(payload["order_id"])), rounds if isinstance(rounds, int) else 1
    )


def send_due(factory: sessionmaker[Session], limit: int = BATCH) -> int:
    """Send up to ``limit`` orders whose ``next_attempt_at`` has come: one transaction to
    record all the attempts, the requests in parallel, one transaction to book all the
    answers. Concurrent senders take disjoint orders (rows locked with SKIP LOCKED).
    Returns how many orders were examined."""
    with unit_of_work(factory) as session:
        now = clock.now()
        stmt = (
            select(PaymentOrder)
            .where(
                PaymentOrder.status.in_([OrderStatus.CREATED.value, OrderStatus.SUBMITTED.value]),
                PaymentOrder.manual.is_(False),
                PaymentOrder.next_attempt_at <= now + jobs.EARLY,
            )
            .order_by(PaymentOrder.next_attempt_at)
            .limit(limit)
        )
        if db.is_postgres(session):
            stmt = stmt.with_for_update(skip_locked=True)
        due = list(session.scalars(stmt))
        sends = _prepare_batch(session, due, now)
    _exchange(factory, sends)
    return len(due)


def submit(factory: sessionmaker[Session], order_id: uuid.UUID) -> OrderStatus:
    """Send one order if it is due and nothing about an earlier send is unknown. Safe to
    call any number of times. Returns the order's status afterwards."""
    with unit_of_work(factory) as session:
        order = load(session, order_id, lock=True)
        sends = _prepare_batch(session, [order], clock.now())
    _exchange(factory, sends)
    with unit_of_work(factory) as session:
        return OrderStatus(load(session, order_id).status)


def _exchange(factory: sessionmaker[Session], sends: list[_Send]) -> None:
    """Call the channel for each send (in parallel), then book every answer in one
    transaction (each order's answer in its own savepoint, so one failure does not undo
    the others)."""
    if not sends:
        return
    if len(sends) == 1:
        answers = [sends[0].adapter.submit(sends[0].request)]
    else:
        answers = list(_pool().map(lambda s: s.adapter.submit(s.request), sends))
    pairs = list(zip(sends, answers, strict=True))
    ids = [uuid.UUID(send.request.order_no) for send in sends]
    try:  # the common case: every answer books; one transaction, no savepoints
        with unit_of_work(factory) as session:
            _book_batch(session, pairs)
            apply_deferred(session, ids)
        return
    except Exception:
        log.warning("payment_answers_retried_one_by_one", count=len(pairs), exc_info=True)
    with unit_of_work(factory) as session:
        # Every order first, in key order, then the ledger's accounts one order at a time:
        # the order every booking path takes its locks in (no deadlock with a callback).
        _lock_orders(session, ids)
        for send, answer in pairs:
            try:
                with session.begin_nested():
                    _book(session, send, answer)
            except Exception:  # left "sending": its watchdog time brings it back to a query
                log.exception("payment_answer_not_booked", order_id=send.request.order_no)
        try:
            with session.begin_nested():
                apply_deferred(session, ids)
        except Exception:  # the orders' status queries settle what these callbacks said
            log.exception("payment_deferred_callbacks_not_applied", count=len(ids))


def in_flight_clause(order_id: uuid.UUID | None, timeout_seconds: int) -> Label[bool]:
    """Whether a sender is waiting for the channel's answer to a send of this order, inside
    the watchdog time (an older unanswered send belongs to a process that died): a column
    for a query that reads the order."""
    watchdog = clock.now() - dt.timedelta(seconds=timeout_seconds * 2)
    return (
        exists()
        .where(
            PaymentAttempt.order_id == order_id,
            PaymentAttempt.operation == "submit",
            PaymentAttempt.state == AttemptState.SENDING.value,
            PaymentAttempt.sent_at > watchdog,
        )
        .label("in_flight")
    )


def already_settled(status: str, outcome: Outcome) -> bool:
    """Whether an order in ``status`` has nothing left to learn from ``outcome`` (the state
    machine would ignore it anyway)."""
    if status in (OrderStatus.FAILED, OrderStatus.REVERSED):
        return outcome != Outcome.SUCCEEDED  # success of a failed order: a contradiction
    if status == OrderStatus.SUCCEEDED:
        return outcome != Outcome.REVERSED
    return False


def apply_deferred(session: Session, ids: list[uuid.UUID]) -> None:
    """Apply the callbacks that arrived while these orders' answers were in flight (their
    order rows are locked by the caller, so no other such callback can slip in). Usually
    the answer just booked said the same and they change nothing."""
    deferred = list(
        session.scalars(
            select(PaymentCallback)
            .where(PaymentCallback.order_id.in_(ids), PaymentCallback.effect == DEFERRED)
            .order_by(PaymentCallback.id)
        )
    )
    if not deferred:
        return
    status = {
        order_id: order_status
        for order_id, order_status in session.execute(
            select(PaymentOrder.id, PaymentOrder.status).where(
                PaymentOrder.id.in_({c.order_id for c in deferred})
            )
        )
    }
    for callback in deferred:
        assert callback.order_id is not None
        outcome = Outcome(callback.outcome)
        if already_settled(status[callback.order_id], outcome):
            callback.effect = "no effect"
            continue
        answer = ChannelAnswer(
            order_no=str(callback.order_id),
            outcome=outcome,
            channel_ref=callback.channel_ref,
            error_code=callback.error_code,
        )
        callback.effect = apply_answer(
            session, callback.order_id, answer, attempt=None, source="callback"
        )
        status[callback.order_id] = load(session, callback.order_id).status
    session.flush()


def _book(session: Session, send: _Send, answer: ChannelAnswer) -> None:
    apply_answer(
        session, uuid.UUID(send.request.order_no), answer, attempt=send.attempt, source="submit"
    )


def _book_batch(session: Session, pairs: list[tuple[_Send, ChannelAnswer]]) -> None:
    """Book a batch of answers: pay orders the channel executed are posted together (one
    lock of the accounts, one write); every other answer goes through ``apply_answer``."""
    locked = _lock_orders(session, [uuid.UUID(send.request.order_no) for send, _ in pairs])
    ids = list(locked)
    attempts = {
        (a.order_id, a.number): a
        for a in session.scalars(
            select(PaymentAttempt).where(
                PaymentAttempt.order_id.in_(ids), PaymentAttempt.operation == "submit"
            )
        )
    }
    now = clock.now()
    fast: list[tuple[PaymentOrder, _Send, ChannelAnswer]] = []
    for send, answer in pairs:
        order = locked[uuid.UUID(send.request.order_no)]
        attempt = attempts.get((order.id, send.attempt))
        quick = (
            answer.outcome == Outcome.SUCCEEDED
            and order.status == OrderStatus.SUBMITTED
            and (order.direction == Direction.COLLECT or order.hold_id is not None)
            and attempt is not None
            and attempt.state == AttemptState.SENDING
        )
        if not quick:
            _book(session, send, answer)
            continue
        assert attempt is not None
        attempt.state = AttemptState.ANSWERED.value
        attempt.outcome = answer.outcome.value
        attempt.answered_at = now
        fast.append((order, send, answer))
    if not fast:
        return
    day = calendar.business_date(session)
    pays = [item for item in fast if item[0].direction == Direction.PAY]
    collects = [item for item in fast if item[0].direction == Direction.COLLECT]
    entry_of: dict[uuid.UUID, uuid.UUID] = {}
    posted = ledger_batches.post_holds(
        session, [(o.hold_id, HoldPostIn(effective_date=day)) for o, _, _ in pays if o.hold_id]
    )
    for (order, _s, _a), result in zip(pays, posted, strict=True):
        if isinstance(result, DomainError):
            raise result  # unexpected for a pending hold: the one-by-one path reports it
        entry_of[order.id] = result.entry_id
    channels = {o.channel: channel_of(session, o) for o, _, _ in collects}
    booked = ledger_batches.post_entries(
        session,
        [
            (lifecycle.collect_entry(o, channels[o.channel], day), lifecycle.collect_key(o))
            for o, _, _ in collects
        ],
    )
    for (order, _s, _a), entry in zip(collects, booked, strict=True):
        if isinstance(entry, DomainError):
            raise entry  # a collection only credits its account: the one-by-one path reports it
        entry_of[order.id] = entry
    for order, _send, answer in fast:
        order.entry_id = entry_of[order.id]
        if answer.channel_ref and not order.channel_ref:
            order.channel_ref = answer.channel_ref
        _mark_succeeded(session, order, _actor("submit"), "submit", flush=False)
    session.flush()


def _lock_orders(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, PaymentOrder]:
    return {
        o.id: o
        for o in session.scalars(
            select(PaymentOrder)
            .where(PaymentOrder.id.in_(ids))
            .order_by(PaymentOrder.id)
            .with_for_update()
            # Booking needs no party details: skip decrypting them for every order.
            .options(defer(PaymentOrder.party_account), defer(PaymentOrder.party_name))
            .execution_options(populate_existing=True)
        )
    }


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="payments-send")
        return _POOL


def _prepare_batch(session: Session, due: list[PaymentOrder], now: dt.datetime) -> list[_Send]:
    """Decide, for locked orders, which to send now; place the holds of first sends together
    and record an attempt for each order sent."""
    candidates = [
        o
        for o in due
        if o.status in (OrderStatus.CREATED, OrderStatus.SUBMITTED)
        and not o.manual
        and o.next_attempt_at is not None
        and o.next_attempt_at <= now + jobs.EARLY
    ]
    if not candidates:
        return []
    ids = [o.id for o in candidates]
    last_number: dict[uuid.UUID, int] = {}
    last_submit: dict[uuid.UUID, PaymentAttempt] = {}
    for attempt in session.scalars(
        select(PaymentAttempt)
        .where(PaymentAttempt.order_id.in_(ids))
        .order_by(PaymentAttempt.order_id, PaymentAttempt.number)
    ):
        last_number[attempt.order_id] = attempt.number
        if attempt.operation == "submit":
            last_submit[attempt.order_id] = attempt
    sendable: list[PaymentOrder] = []
    for order in candidates:
        last = last_submit.get(order.id)
        if last is not None and last.state in (AttemptState.SENDING, AttemptState.UNKNOWN):
            # An earlier send has no answer: ask the channel, never send blind.
            order.next_attempt_at = None
            _schedule_query(session, order, delay=dt.timedelta(0))
        else:
            sendable.append(order)
    channels = {o.channel: channel_of(session, o) for o in sendable}
    first_pay = [
        o for o in sendable if o.status == OrderStatus.CREATED and o.direction == Direction.PAY
    ]
    held = ledger_batches.place_holds(
        session,
        [
            (lifecycle.hold_request(o, channels[o.channel]), lifecycle.hold_key(o))
            for o in first_pay
        ],
    )
    refused: dict[uuid.UUID, DomainError] = {}
    for order, result in zip(first_pay, held, strict=True):
        if isinstance(result, DomainError):
            refused[order.id] = result
        else:
            order.hold_id = result.id
    rt = runtime.current()
    sends: list[_Send] = []
    actor = _actor("submit")
    for order in sendable:
        channel = channels[order.channel]
        if order.status == OrderStatus.CREATED:
            refusal = refused.get(order.id)
            if refusal is not None:
                order.error_code = LEDGER_REFUSED
                order.error_message = refusal.detail[:500]
                lifecycle.transition(
                    session,
                    order,
                    OrderStatus.FAILED,
                    reason="refused by the ledger",
                    actor=actor,
                    flush=False,
                )
                continue
            lifecycle.transition(
                session,
                order,
                OrderStatus.SUBMITTED,
                reason="sent to channel",
                actor=actor,
                flush=False,
            )
        order.attempts += 1
        # The watchdog: if no answer is booked by then (the process died mid-call), the next
        # sender finds the attempt without an answer and queries the channel.
        order.next_attempt_at = now + dt.timedelta(seconds=channel.timeout_seconds * 2)
        number = last_number.get(order.id, 0) + 1
        deferred_rows.defer_insert(
            session,
            cast(Table, PaymentAttempt.__table__),
            {
                "order_id": order.id,
                "number": number,
                "operation": "submit",
                "state": AttemptState.SENDING.value,
                "sent_at": now,
            },
        )
        sends.append(
            _Send(
                request=ChannelRequest(
                    order_no=str(order.id),
                    direction=Direction(order.direction),
                    amount=order.amount,
                    currency=order.currency,
                    account_number=order.party_account,
                    account_name=order.party_name,
                    callback_url=rt.callback_url(channel.name),
                    memo=order.memo,
                ),
                adapter=rt.adapters.get(channel),
                attempt=number,
            )
        )
    session.flush()
    return sends


def query(factory: sessionmaker[Session], order_id: uuid.UUID, rounds: int = 1) -> OrderStatus:
    """Ask the channel about a submitted order and apply the answer."""
    with unit_of_work(factory) as session:
        order = load(session, order_id)
        if order.status != OrderStatus.SUBMITTED:
            apply_deferred(session, [order_id])  # settled meanwhile, maybe not by all it heard
            return OrderStatus(load(session, order_id).status)
        adapter = runtime.current().adapters.get(channel_of(session, order))
    answer = adapter.query(str(order_id))
    with unit_of_work(factory) as session:
        apply_answer(session, order_id, answer, attempt=None, source="query", rounds=rounds)
        # Callbacks deferred to a send whose sender died: the query settled that send.
        apply_deferred(session, [order_id])
        return OrderStatus(load(session, order_id).status)


def apply_answer(
    session: Session,
    order_id: uuid.UUID,
    answer: ChannelAnswer,
    *,
    attempt: int | None,
    source: str,
    rounds: int = 1,
) -> str:
    """Apply what the channel said (an answer to a send, a query or a callback) to the
    locked order. Answers that come late or twice change nothing. Returns what it did."""
    order = load(session, order_id, lock=True)
    channel = channel_of(session, order)
    adapter = runtime.current().adapters.get(channel)
    now = clock.now()
    _log_attempt(session, order, answer, attempt, source, now)
    if answer.channel_ref and not order.channel_ref:
        order.channel_ref = answer.channel_ref
    actor = _actor(source)
    status = OrderStatus(order.status)
    outcome = answer.outcome
    if outcome == Outcome.SUCCEEDED:
        if status == OrderStatus.SUBMITTED:
            _succeed(session, order, channel, actor, source)
            return "succeeded"
        if status == OrderStatus.FAILED:
            _to_manual(order, f"channel reports success for a failed order ({source})")
            return "conflict: manual queue"
        return "no effect"
    if outcome == Outcome.REVERSED:
        if status == OrderStatus.SUBMITTED:
            _succeed(session, order, channel, actor, source)
            status = OrderStatus.SUCCEEDED
        if status == OrderStatus.SUCCEEDED:
            suspense = lifecycle.book_reversal(session, order, channel)
            lifecycle.transition(
                session,
                order,
                OrderStatus.REVERSED,
                reason=f"reversed by the channel ({source})",
                actor=actor,
            )
            if suspense is not None:
                _to_manual(order, suspense)
            return "reversed"
        return "no effect"
    if status != OrderStatus.SUBMITTED:
        return "no effect"  # a late "processing" or failure after the outcome is known
    if outcome == Outcome.FAILED:
        code = answer.error_code or "UNSPECIFIED"
        order.error_code = code
        order.error_message = (answer.message or "")[:500] or None
        if adapter.classify(code) == ErrorClass.FINAL:
            lifecycle.release_funds(session, order)
            lifecycle.transition(
                session, order, OrderStatus.FAILED, reason=f"{code} ({source})", actor=actor
            )
            return "failed"
        return _retry_or_manual(session, order, channel, f"{code} ({source})")
    if outcome == Outcome.NOT_FOUND:
        last = _last_submit(session, order.id)
        if last is not None and last.state in (AttemptState.SENDING, AttemptState.UNKNOWN):
            last.state = AttemptState.ANSWERED.value
            last.outcome = Outcome.NOT_FOUND.value
            last.answered_at = now
        return _retry_or_manual(session, order, channel, f"not received by the channel ({source})")
    # PROCESSING or UNKNOWN: wait for the callback, and query in case it never comes.
    if source in ("submit", "query"):
        order.next_attempt_at = None  # nothing to send: the query job follows it up
    if rounds >= MAX_QUERY_ROUNDS and source == "query":
        _to_manual(order, f"no final answer after {rounds} status queries")
        return "manual queue"
    if source in ("submit", "query"):
        base = QUERY_FIRST_DELAY if outcome == Outcome.UNKNOWN else dt.timedelta(seconds=5)
        delay = base + jobs.retry_delay(rounds)
        _schedule_query(session, order, delay=delay, rounds=rounds + 1 if source == "query" else 1)
    session.flush()
    return "waiting"


def _succeed(
    session: Session, order: PaymentOrder, channel: PaymentChannel, actor: Actor, source: str
) -> None:
    lifecycle.book_success(session, order, channel)
    _mark_succeeded(session, order, actor, source)


def _mark_succeeded(
    session: Session, order: PaymentOrder, actor: Actor, source: str, *, flush: bool = True
) -> None:
    """The order's success, once its entry is booked: out of any queue, no error left."""
    order.error_code = None
    order.error_message = None
    order.manual = False
    order.manual_reason = None
    lifecycle.transition(
        session,
        order,
        OrderStatus.SUCCEEDED,
        reason=f"confirmed by the channel ({source})",
        actor=actor,
        flush=flush,
    )


def _retry_or_manual(
    session: Session, order: PaymentOrder, channel: PaymentChannel, why: str
) -> str:
    if order.attempts >= channel.max_attempts:
        _to_manual(order, f"{why}; {order.attempts} attempts made")
        session.flush()
        return "manual queue"
    order.next_attempt_at = clock.now() + jobs.retry_delay(order.attempts)
    session.flush()
    wake_sender(session, order.next_attempt_at)
    return "retry scheduled"


def _to_manual(order: PaymentOrder, reason: str) -> None:
    order.manual = True
    order.manual_reason = reason[:200]
    order.next_attempt_at = None
    order.updated_at = clock.now()


def _schedule_query(
    session: Session, order: PaymentOrder, *, delay: dt.timedelta, rounds: int = 1
) -> None:
    jobs.enqueue(session, QUERY_JOB, {"order_id": str(order.id), "round": rounds}, delay=delay)


def _log_attempt(
    session: Session,
    order: PaymentOrder,
    answer: ChannelAnswer,
    attempt: int | None,
    source: str,
    now: dt.datetime,
) -> None:
    if attempt is not None:
        row = session.scalar(
            select(PaymentAttempt).where(
                PaymentAttempt.order_id == order.id, PaymentAttempt.number == attempt
            )
        )
        if row is not None and row.state == AttemptState.SENDING:
            unknown = answer.outcome == Outcome.UNKNOWN
            row.state = (AttemptState.UNKNOWN if unknown else AttemptState.ANSWERED).value
            row.outcome = answer.outcome.value
            row.error_code = answer.error_code
            row.message = (answer.message or "")[:500] or None
            row.answered_at = now
        return
    if source == "query":
        last = _last_submit(session, order.id)
        settled = answer.outcome not in (Outcome.UNKNOWN, Outcome.NOT_FOUND)
        if (
            settled
            and last is not None
            and last.state in (AttemptState.SENDING, AttemptState.UNKNOWN)
        ):
            # The query settled what the lost answer would have said.
            last.state = AttemptState.ANSWERED.value
            last.outcome = answer.outcome.value
            last.error_code = answer.error_code
            last.answered_at = now
        session.add(
            PaymentAttempt(
                order_id=order.id,
                number=_next_attempt_number(session, order.id),
                operation="query",
                state=(
                    AttemptState.UNKNOWN
                    if answer.outcome == Outcome.UNKNOWN
                    else AttemptState.ANSWERED
                ).value,
                outcome=answer.outcome.value,
                error_code=answer.error_code,
                message=(answer.message or "")[:500] or None,
                sent_at=now,
                answered_at=now,
            )
        )


def _last_submit(session: Session, order_id: uuid.UUID) -> PaymentAttempt | None:
    return session.scalar(
        select(PaymentAttempt)
        .where(PaymentAttempt.order_id == order_id, PaymentAttempt.operation == "submit")
        .order_by(PaymentAttempt.number.desc())
        .limit(1)
    )


def _next_attempt_number(session: Session, order_id: uuid.UUID) -> int:
    last = session.scalar(
        select(PaymentAttempt.number)
        .where(PaymentAttempt.order_id == order_id)
        .order_by(PaymentAttempt.number.desc())
        .limit(1)
    )
    return (last or 0) + 1


def recover(session: Session) -> int:
    """Queue a status query for every order whose last send has no answer and whose channel
    timeout has passed (a process that died mid-call). Returns how many were queued."""
    now = clock.now()
    stuck = session.execute(
        select(PaymentOrder, PaymentAttempt.sent_at, PaymentChannel.timeout_seconds)
        .join(PaymentAttempt, PaymentAttempt.order_id == PaymentOrder.id)
        .join(PaymentChannel, PaymentChannel.name == PaymentOrder.channel)
        .where(
            PaymentOrder.status == OrderStatus.SUBMITTED.value,
            PaymentOrder.manual.is_(False),
            PaymentAttempt.operation == "submit",
            PaymentAttempt.state == AttemptState.SENDING.value,
        )
    ).all()
    queued = 0
    for order, sent_at, timeout in stuck:
        if sent_at + dt.timedelta(seconds=timeout * 2) <= now:
            _schedule_query(session, order, delay=dt.timedelta(0))
            queued += 1
    return queued
