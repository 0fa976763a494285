"""Jobs through a message broker (Dramatiq on RabbitMQ or Redis), for production.

The outbox row stays the source of truth (``kit/jobs.py``): the broker message carries only
the row's id, sent after the commit that created it. A worker receiving it runs the job
through :func:`lendbridge.kit.jobs.run_one`, which claims the row first — so a message the
broker delivers twice, or one the poller already ran, runs the job once. Dramatiq's own
retries are off: the outbox row's backoff is the one retry policy.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AgeLimit, Callbacks, Pipelines, ShutdownNotifications, TimeLimit
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.kit import clock, jobs
from lendbridge.kit.logging import get_logger

log = get_logger(__name__)

ACTOR_NAME = "lendbridge_run_job"
# A job that talks to a bank waits for it at most its channel timeout; this is the backstop.
TIME_LIMIT_MS = 10 * 60 * 1000


def make_broker(url: str) -> dramatiq.Broker:
    """RabbitMQ for ``amqp://``, Redis for ``redis://``; no retries middleware (see above)."""
    middleware = [
        AgeLimit(),
        TimeLimit(time_limit=TIME_LIMIT_MS),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
    ]
    if url.startswith(("amqp://", "amqps://")):
        return RabbitmqBroker(url=url, middleware=middleware)
    if url.startswith(("redis://", "rediss://")):
        return RedisBroker(url=url, middleware=middleware)  # type: ignore[no-untyped-call]
    raise ValueError(f"LENDBRIDGE_BROKER_URL must be amqp://... or redis://..., not {url!r}")


class BrokerJobs:
    """The broker, its one actor, and the sending side (a ``jobs.Notifier``)."""

    def __init__(self, url: str, queue: str, factory: sessionmaker[Session]) -> None:
        self.broker = make_broker(url)
        self.queue = queue
        self.factory = factory

        def run(message_id: int) -> None:
            jobs.run_one(self.factory, message_id)

        decorate: Any = dramatiq.actor(actor_name=ACTOR_NAME, queue_name=queue, broker=self.broker)
        self.actor: Any = decorate(run)
        self._lock = threading.Lock()

    def notify(self, messages: list[tuple[int, dt.datetime]]) -> None:
        now = clock.now()
        with self._lock:  # pika connections are not thread-safe; Dramatiq keeps one per thread
            for message_id, available_at in messages:
                delay_ms = max(0, int((available_at - now).total_seconds() * 1000))
                self.actor.send_with_options(args=(message_id,), delay=delay_ms or None)

    def start_sending(self) -> BrokerJobs:
        jobs.add_notifier(self)
        return self

    def stop_sending(self) -> None:
        jobs.remove_notifier(self)

    def worker(self, threads: int) -> dramatiq.Worker:
        return dramatiq.Worker(self.broker, queues={self.queue}, worker_threads=threads)

    def close(self) -> None:
        self.stop_sending()
        self.broker.close()
