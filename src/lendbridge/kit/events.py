"""Domain events: one domain announces what happened, others react, after the commit.

``emit`` writes the event to the transactional outbox (the record of what happened, and what
an external consumer such as a webhook relay reads) and, in the same transaction, queues one
background job per *subscriber* whose filter accepts it. Each subscriber therefore gets the
event at least once, after the commit that caused it, retried with backoff on failure, and
independently of the others; a transaction that rolls back announces nothing. Handlers must
be idempotent (a retried job runs again).

Subscribers register with :func:`subscribe` when their module is imported. The module
``lendbridge.subscribers`` imports them all; :func:`emit` imports it before the first event
of the process, so no process (server, worker, command line, script) can emit an event
while its subscribers are unknown and silently miss them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lendbridge.kit import jobs, outbox

EventFilter = Callable[[Mapping[str, Any]], bool]
EventHandler = Callable[[jobs.JobContext, str, dict[str, Any]], None]


@dataclass(frozen=True)
class Subscriber:
    name: str  # the job that delivers the event, e.g. "loans.on_payment_outcome"
    accepts: EventFilter


_SUBSCRIBERS: dict[str, list[Subscriber]] = {}
WIRING = "lendbridge.subscribers"  # imports every subscriber module


def subscribe(
    *topics: str, name: str, when: EventFilter | None = None
) -> Callable[[EventHandler], EventHandler]:
    """Register ``handler(ctx, topic, payload)`` for ``topics``, delivered by the job
    ``name``; ``when`` filters the events worth a job (most payment orders concern no loan)."""

    def register(handler: EventHandler) -> EventHandler:
        @jobs.job(name)
        def deliver(ctx: jobs.JobContext, message: dict[str, Any]) -> None:
            handler(ctx, str(message["topic"]), dict(message["payload"]))

        subscriber = Subscriber(name=name, accepts=when or (lambda _payload: True))
        for topic in topics:
            known = _SUBSCRIBERS.setdefault(topic, [])
            if all(s.name != name for s in known):
                known.append(subscriber)
        return handler

    return register


def load_subscribers() -> None:
    """Import every subscriber module: a process that runs jobs calls it at start, so that
    it knows the subscribers' jobs before it has emitted any event itself."""
    importlib.import_module(WIRING)


def subscribers(topic: str) -> list[Subscriber]:
    return list(_SUBSCRIBERS.get(topic, ()))


def emit(
    session: Session,
    topic: str,
    payload: Mapping[str, Any],
    *,
    request_id: str | None = None,
    flush: bool = True,
) -> None:
    """Announce ``topic`` in the caller's transaction (see the module's docstring)."""
    load_subscribers()  # cached after the first time
    if flush:
        outbox.publish(session, topic, payload, request_id=request_id)
    else:
        outbox.publish_deferred(session, topic, payload, request_id=request_id)
    for subscriber in _SUBSCRIBERS.get(topic, ()):
        if subscriber.accepts(payload):
            jobs.enqueue(
                session,
                subscriber.name,
                {"topic": topic, "payload": dict(payload)},
                request_id=request_id,
            )
