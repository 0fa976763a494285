"""Background jobs, enqueued through the transactional outbox.

A domain calls :func:`enqueue` inside its transaction: the job is an ``outbox_message`` row
(topic ``job.<name>``), committed or rolled back with the change that caused it. Only after
the commit is a runner told about it, so a job never runs for a change that did not happen.

Running a job: a runner *claims* the row (a lease: ``available_at`` moves a few minutes on
and ``attempts`` counts up, committed), runs the handler outside any transaction (a handler
may call a bank and open its own units of work), then marks the row processed. A handler
that raises is retried with exponential backoff and jitter; a runner that dies mid-job
leaves the lease to expire, and another runner takes the job again. Delivery is therefore
at least once: handlers must be idempotent.

Two ways to run jobs, chosen by ``LENDBRIDGE_BROKER_URL``:

- unset (the embedded default): :class:`InProcessRunner` threads inside the server (or the
  ``lendbridge worker`` process) poll the table and are woken at once by each commit;
- set (``amqp://`` RabbitMQ or ``redis://``): the commit sends the message's id to Dramatiq
  (``kit/broker.py``), whose workers run it; each worker also polls, so a message whose
  broker send was lost (a crash between the commit and the send) still runs.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.kit import clock, db
from lendbridge.kit.logging import get_logger
from lendbridge.kit.outbox import MAX_BACKOFF, OutboxMessage, publish

log = get_logger(__name__)

PREFIX = "job."
LEASE = dt.timedelta(minutes=5)
# How early a broker may deliver a delayed message (its clock is not ours).
EARLY = dt.timedelta(seconds=2)
_PENDING = "lendbridge.jobs.pending"
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True)
class JobContext:
    factory: sessionmaker[Session]
    message_id: int
    attempt: int  # 1 on the first run


JobHandler = Callable[[JobContext, dict[str, Any]], None]
_JOBS: dict[str, JobHandler] = {}


def job(name: str) -> Callable[[JobHandler], JobHandler]:
    """Register ``handler`` as the job ``name``."""

    def register(handler: JobHandler) -> JobHandler:
        known = _JOBS.get(name)
        if known is not None and known is not handler:
            raise ValueError(f"job {name!r} is registered twice")
        _JOBS[name] = handler
        return handler

    return register


def registered() -> Mapping[str, JobHandler]:
    return dict(_JOBS)


class Notifier(Protocol):
    """Told, after a commit, which job messages that commit created."""

    def notify(self, messages: list[tuple[int, dt.datetime]]) -> None: ...


_notifiers: list[Notifier] = []
_notifiers_lock = threading.Lock()


def add_notifier(notifier: Notifier) -> None:
    with _notifiers_lock:
        _notifiers.append(notifier)


def remove_notifier(notifier: Notifier) -> None:
    with _notifiers_lock:
        if notifier in _notifiers:
            _notifiers.remove(notifier)


def enqueue(
    session: Session,
    name: str,
    payload: Mapping[str, Any],
    *,
    delay: dt.timedelta | None = None,
    request_id: str | None = None,
) -> int:
    """Queue job ``name`` in the caller's transaction; it runs after the commit (and not at
    all if the transaction rolls back). Returns the message id."""
    if not _NAME.match(name):
        raise ValueError(f"job names are dotted lower-case words, not {name!r}")
    # The handler need not be registered in this process (a server that only sends jobs to
    # a broker); a runner without it records the error and retries later.
    message = publish(session, PREFIX + name, payload, request_id=request_id)
    if delay is not None and delay > dt.timedelta(0):
        message.available_at = message.created_at + delay
        session.flush()
    session.info.setdefault(_PENDING, []).append((message.id, message.available_at))
    return message.id


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending: list[tuple[int, dt.datetime]] = session.info.pop(_PENDING, [])
    if not pending:
        return
    with _notifiers_lock:
        notifiers = list(_notifiers)
    for notifier in notifiers:
        try:
            notifier.notify(pending)
        except Exception:  # the poller still finds the rows; a failed wake-up is not fatal
            log.exception("job_notify_failed", count=len(pending))


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def configure(*, lease: dt.timedelta) -> None:
    """Set the lease of claimed jobs (process-wide; from ``LENDBRIDGE_JOB_LEASE_SECONDS``)."""
    global LEASE
    LEASE = lease


def retry_delay(attempts: int, rng: random.Random | None = None) -> dt.timedelta:
    """Exponential backoff with jitter: between half and all of 2**(n-1) seconds (capped at an
    hour), so retries of many orders that failed together spread out."""
    ceiling = min(2.0 ** max(0, attempts - 1), MAX_BACKOFF.total_seconds())
    return dt.timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


def _claim(session: Session, message_id: int | None) -> OutboxMessage | None:
    now = clock.now()
    stmt = select(OutboxMessage).where(
        OutboxMessage.processed_at.is_(None), OutboxMessage.topic.like(PREFIX + "%")
    )
    if message_id is not None:
        stmt = stmt.where(OutboxMessage.id == message_id, OutboxMessage.available_at <= now + EARLY)
    else:
        stmt = stmt.where(OutboxMessage.available_at <= now).order_by(
            OutboxMessage.available_at, OutboxMessage.id
        )
    stmt = stmt.limit(1)
    if db.is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    message = session.scalar(stmt)
    if message is None:
        return None
    message.attempts += 1
    message.available_at = now + LEASE
    session.flush()
    return message


def run_one(factory: sessionmaker[Session], message_id: int | None = None) -> bool:
    """Claim and run one due job (``message_id``: that one, if it is due and not leased).
    Returns whether a job was run."""
    with factory() as session:
        message = _claim(session, message_id)
        if message is None:
            session.rollback()
            return False
        claimed = (message.id, message.topic, dict(message.payload), message.attempts)
        session.commit()
    mid, topic, payload, attempt = claimed
    handler = _JOBS.get(topic.removeprefix(PREFIX))
    error: str | None = None
    if handler is None:
        error = f"no handler registered for {topic}"
    else:
        try:
            handler(JobContext(factory=factory, message_id=mid, attempt=attempt), payload)
        except Exception as exc:  # recorded and retried with backoff, never lost
            error = f"{type(exc).__name__}: {exc}"[:2000]
            log.warning("job_failed", topic=topic, message_id=mid, attempt=attempt, error=error)
    with factory() as session:
        values: dict[str, Any]
        if error is None:
            values = {"processed_at": clock.now()}
        else:
            values = {"last_error": error, "available_at": clock.now() + retry_delay(attempt)}
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == mid, OutboxMessage.attempts == attempt)
            .values(**values)
        )
        session.commit()
    return True


def run_due(factory: sessionmaker[Session], *, limit: int = 1000) -> int:
    """Run due jobs until none is due or ``limit`` ran; returns how many ran."""
    ran = 0
    while ran < limit and run_one(factory):
        ran += 1
    return ran


def drain(
    factory: sessionmaker[Session], *, rounds: int = 100, advance: Callable[[], None] | None = None
) -> int:
    """Run jobs until none is due (tests and simulations: ``advance`` may move a fake clock
    between rounds so that delayed jobs come due)."""
    total = 0
    for _ in range(rounds):
        ran = run_due(factory)
        total += ran
        if ran == 0:
            if advance is None:
                break
            advance()
    return total


def pending(session: Session, names: Iterable[str] | None = None) -> int:
    """How many jobs are not processed yet."""
    stmt = select(func.count()).where(OutboxMessage.processed_at.is_(None))
    if names is None:
        stmt = stmt.where(OutboxMessage.topic.like(PREFIX + "%"))
    else:
        stmt = stmt.where(OutboxMessage.topic.in_([PREFIX + n for n in names]))
    return session.scalar(stmt) or 0


class InProcessRunner:
    """Worker threads that run jobs in this process: woken by each commit that enqueues a
    job, and polling every ``poll_seconds`` for delayed jobs and expired leases."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        threads: int = 2,
        poll_seconds: float = 0.5,
        notified: bool = True,
    ) -> None:
        self.factory = factory
        self.poll_seconds = poll_seconds
        self.notified = notified  # woken by commits; off beside a broker, which is
        self._wake = threading.Condition()
        self._signals = 0
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, name=f"lendbridge-jobs-{i}", daemon=True)
            for i in range(threads)
        ]

    def notify(self, messages: list[tuple[int, dt.datetime]]) -> None:
        with self._wake:
            self._signals += len(messages)
            self._wake.notify(len(messages))

    def start(self) -> InProcessRunner:
        if self.notified:
            add_notifier(self)
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        remove_notifier(self)
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    def __enter__(self) -> InProcessRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = run_due(self.factory, limit=100)
            except Exception:  # a database hiccup must not kill the runner
                log.exception("job_runner_error")
                ran = 0
            if ran:
                continue
            with self._wake:
                if self._signals == 0 and not self._stop.is_set():
                    self._wake.wait(self.poll_seconds)
                self._signals = 0
