"""Worker processes for the loans' close of a large portfolio on PostgreSQL.

Closing a loan costs more Python than database time, and one process computes on one core
whatever its threads do; so past ``PARALLEL_FROM`` pending loans the close hands its batches
to ``WORKERS`` processes (spawned, each with its own engine on the same database), keeping
two batches per worker in flight. Each batch is still one transaction of its own, over loans
no other batch touches, moving each loan's watermarks: a worker that dies loses only its
uncommitted batch, which the rerun finds pending. A small portfolio (every test, a small
lender's day) is closed in the calling process: starting a worker costs about a second.
"""

from __future__ import annotations

import gc
import multiprocessing
import uuid
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.kit.db import make_engine, make_session_factory

WORKERS = 2
# Pending loans (in whole batches) from which the close starts worker processes.
PARALLEL_FROM = 50_000

_factory: sessionmaker[Session] | None = None


def database_url(factory: sessionmaker[Session]) -> str:
    bind = factory.kw["bind"]
    assert isinstance(bind, Engine)
    return bind.url.render_as_string(hide_password=False)


def pool(url: str, workers: int = WORKERS) -> ProcessPoolExecutor:
    """Worker processes connected to ``url`` (spawned: a fork would share the caller's
    connections and threads)."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start,
        initargs=(url,),
    )


def _start(url: str) -> None:
    global _factory
    from lendbridge.kit.logging import configure_logging
    from lendbridge.servicing.cob import close  # noqa: F401  (imported before the freeze)

    configure_logging("WARNING")
    _factory = make_session_factory(make_engine(url, pool_size=1))
    gc.freeze()  # as the runner does: long-lived objects stay out of every collection


def close_ids(ids: list[uuid.UUID], day: Any) -> int:
    """In a worker: close the pending loans among ``ids`` for business day ``day``."""
    from lendbridge.servicing.cob.close import close_ids as close

    assert _factory is not None, "the worker was not started with pool()"
    return close(_factory, ids, day)
