"""``lendbridge worker``: a process that runs background jobs.

With ``LENDBRIDGE_BROKER_URL`` set it consumes the broker's queue (Dramatiq worker threads)
and also polls the outbox, so jobs whose broker message was lost still run; without a broker
it polls the outbox on its own threads (several workers may run side by side on PostgreSQL:
claims skip rows another worker holds). Every minute it also looks for payment attempts
left without an answer by a process that died, and queues their status queries.
"""

from __future__ import annotations

import datetime as dt
import signal
import threading
from types import FrameType

from sqlalchemy import Engine

from lendbridge.config import Settings
from lendbridge.kit import events, jobs
from lendbridge.kit.broker import BrokerJobs
from lendbridge.kit.db import make_session_factory, unit_of_work
from lendbridge.kit.logging import get_logger
from lendbridge.kit.startup import freeze_startup_objects
from lendbridge.payments import submission
from lendbridge.runtime import configure_keyring, configure_payments

log = get_logger(__name__)
RECOVER_EVERY_SECONDS = 60.0


def run_worker(
    settings: Settings, engine: Engine, *, threads: int, stop: threading.Event | None = None
) -> None:
    """Run until SIGTERM/SIGINT (or ``stop`` is set)."""
    configure_keyring(settings, engine)
    configure_payments(settings, engine)
    jobs.configure(lease=dt.timedelta(seconds=settings.job_lease_seconds))
    events.load_subscribers()  # their jobs are run here too
    factory = make_session_factory(engine)
    stop = stop or threading.Event()
    _install_signals(stop)
    broker: BrokerJobs | None = None
    consumer = None
    if settings.broker_url:
        broker = BrokerJobs(settings.broker_url, settings.broker_queue, factory).start_sending()
        consumer = broker.worker(threads)
        consumer.start()
        poller = jobs.InProcessRunner(factory, threads=1, poll_seconds=2.0, notified=False)
    else:
        poller = jobs.InProcessRunner(factory, threads=threads)
    freeze_startup_objects()
    poller.start()
    log.info("worker_started", broker=bool(broker), threads=threads)
    try:
        while not stop.is_set():
            try:
                with unit_of_work(factory) as session:
                    queued = submission.recover(session)
                if queued:
                    log.info("payments_recovery_queued", orders=queued)
            except Exception:  # the database may be restarting; try again next round
                log.exception("payments_recovery_failed")
            stop.wait(RECOVER_EVERY_SECONDS)
    finally:
        poller.stop()
        if consumer is not None:
            consumer.stop()
        if broker is not None:
            broker.close()
        log.info("worker_stopped")


def _install_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("worker_stopping", signal=signum)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
