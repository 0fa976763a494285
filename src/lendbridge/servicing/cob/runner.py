"""Running the close of business: each open business day before the target date, in order.

A day's close runs its steps in their order, each recorded in ``cob_step_run`` (status,
items, batches, duration). The last transaction advances the business date and marks the
day done, so a day is closed entirely or not at all as far as the calendar is concerned.

Crash safety is shared with the steps. The runner skips steps already done for the date and
resumes the others; a step must therefore be idempotent per business date: it books each
item in the same transaction that moves the item's own watermark (a loan's "closed
through" date, say), in batches, so a rerun after a crash picks up exactly the items left.
"""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, Table, select, update
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.audit.service import record
from lendbridge.kit import calendar, clock, db
from lendbridge.kit.actor import system_actor
from lendbridge.kit.db import unit_of_work
from lendbridge.kit.errors import Conflict, ValidationFailed, field_error
from lendbridge.kit.logging import get_logger
from lendbridge.servicing.cob.models import CobLease, CobRun, CobStatus, CobStepRun

log = get_logger(__name__)

ACTOR = system_actor("cob")
LEASE = dt.timedelta(minutes=10)
BATCH_SIZE = 5_000
_LEASE_ID = 1


class CobBusy(Conflict):
    code = "cob_running"
    title = "Another close of business is running"


class CobDateInvalid(ValidationFailed):
    code = "cob_date_invalid"
    title = "The close of business cannot run to that date"


@dataclass
class StepResult:
    items: int = 0
    batches: int = 0


@dataclass(frozen=True)
class StepContext:
    factory: sessionmaker[Session]
    business_date: dt.date
    batch_size: int
    renew: Callable[[], None]
    progress: StepResult  # what this attempt committed so far, kept even if it then fails

    def committed(self, items: int) -> None:
        """Count a committed batch of ``items`` and keep the lease alive."""
        self.progress.items += items
        self.progress.batches += 1
        self.renew()


StepFn = Callable[[StepContext], None]


@dataclass(frozen=True)
class Step:
    name: str
    position: int
    run: StepFn
    description: str = ""


_STEPS: dict[str, Step] = {}


def step(name: str, *, position: int, description: str = "") -> Callable[[StepFn], StepFn]:
    """Register a step of every day's close (domains register theirs at import). A step
    books its items in batches, each batch's transaction also moving the items' own
    watermarks, and calls ``ctx.committed(n)`` after each commit."""

    def register(fn: StepFn) -> StepFn:
        known = _STEPS.get(name)
        if known is not None and known.run is not fn:
            raise ValueError(f"close-of-business step {name!r} is registered twice")
        _STEPS[name] = Step(name=name, position=position, run=fn, description=description)
        return fn

    return register


def _order(item: Step) -> tuple[int, str]:
    return (item.position, item.name)


WIRING = "lendbridge.close_steps"  # imports every domain's step module


def registered_steps() -> list[Step]:
    """Every domain's steps, in order (their modules imported first, once per process)."""
    importlib.import_module(WIRING)
    return sorted(_STEPS.values(), key=_order)


@dataclass
class DayReport:
    business_date: dt.date
    resumed: bool
    steps: list[tuple[str, StepResult, int]] = field(default_factory=list)  # name, result, ms


class _Lease:
    """The close-of-business lease, held for the whole run and renewed as it goes."""

    def __init__(self, factory: sessionmaker[Session], holder: str) -> None:
        self.factory = factory
        self.holder = holder

    def take(self) -> None:
        with unit_of_work(self.factory) as session:
            session.execute(
                db.insert_ignoring_duplicates(session, cast(Table, CobLease.__table__)).values(
                    id=_LEASE_ID, holder=None, expires_at=None
                )
            )
            if not self._claim(session):
                current = session.get(CobLease, _LEASE_ID)
                holder = current.holder if current else "?"
                raise CobBusy(f"the close of business is running in {holder}")

    def renew(self) -> None:
        with unit_of_work(self.factory) as session:
            if not self._claim(session):
                raise CobBusy("the close of business lease was lost to another process")

    def release(self) -> None:
        with unit_of_work(self.factory) as session:
            session.execute(
                update(CobLease)
                .where(CobLease.id == _LEASE_ID, CobLease.holder == self.holder)
                .values(holder=None, expires_at=None)
            )

    def _claim(self, session: Session) -> bool:
        now = clock.now()
        result = session.execute(
            update(CobLease)
            .where(
                CobLease.id == _LEASE_ID,
                (CobLease.holder.is_(None))
                | (CobLease.expires_at < now)
                | (CobLease.holder == self.holder),
            )
            .values(holder=self.holder, expires_at=now + LEASE)
        )
        return bool(cast(CursorResult[Any], result).rowcount)


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[:64]


def run_cob(
    factory: sessionmaker[Session],
    to_date: dt.date,
    *,
    steps: Sequence[Step] | None = None,
    batch_size: int = BATCH_SIZE,
    holder: str | None = None,
) -> list[DayReport]:
    """Close every business day before ``to_date`` (which becomes the business date); a day
    already closed is not closed again. Returns what each closed day did."""
    # An explicit list (even an empty one) is what runs; None means every registered step.
    chosen = sorted(steps if steps is not None else registered_steps(), key=_order)
    lease = _Lease(factory, holder or default_holder())
    lease.take()
    reports: list[DayReport] = []
    # A close allocates millions of short-lived objects; freezing what exists now (modules,
    # mappers, caches) keeps every full collection from walking it again (a third of the
    # close's CPU time before).
    gc.freeze()
    try:
        while True:
            with unit_of_work(factory) as session:
                day = calendar.business_date(session)
            if day >= to_date:
                if not reports and day > to_date:
                    raise field_error(
                        CobDateInvalid,
                        "to_date",
                        f"the business date is already {day.isoformat()}, after "
                        f"{to_date.isoformat()}: closed days are not reopened",
                    )
                return reports
            reports.append(_close_day(factory, day, chosen, batch_size, lease))
    finally:
        gc.unfreeze()
        lease.release()


def _close_day(
    factory: sessionmaker[Session],
    day: dt.date,
    steps: Sequence[Step],
    batch_size: int,
    lease: _Lease,
) -> DayReport:
    with unit_of_work(factory) as session:
        run = session.get(CobRun, day)
        resumed = run is not None
        if run is None:
            run = CobRun(business_date=day, status=CobStatus.RUNNING, attempts=0)
            run.started_at = clock.now()
            session.add(run)
        run.attempts += 1
        run.status = CobStatus.RUNNING
        run.error = None
        done = {
            s.step
            for s in session.scalars(
                select(CobStepRun).where(
                    CobStepRun.business_date == day, CobStepRun.status == CobStatus.DONE
                )
            )
        }
    report = DayReport(business_date=day, resumed=resumed)
    log.info("cob_day_started", business_date=day.isoformat(), resumed=resumed)
    for position, item in enumerate(steps):
        if item.name in done:
            continue
        lease.renew()
        result, elapsed_ms = _run_step(factory, day, item, position, batch_size, lease)
        report.steps.append((item.name, result, elapsed_ms))
    with unit_of_work(factory) as session:
        run = session.get(CobRun, day)
        assert run is not None
        run.status = CobStatus.DONE
        run.finished_at = clock.now()
        calendar.set_business_date(session, day + dt.timedelta(days=1))
        record(
            session,
            ACTOR,
            action="cob.day.close",
            target_type="business_date",
            target_id=day.isoformat(),
            after={"steps": [name for name, _, _ in report.steps], "resumed": resumed},
        )
    log.info("cob_day_closed", business_date=day.isoformat())
    return report


def _run_step(
    factory: sessionmaker[Session],
    day: dt.date,
    item: Step,
    position: int,
    batch_size: int,
    lease: _Lease,
) -> tuple[StepResult, int]:
    with unit_of_work(factory) as session:
        row = session.get(CobStepRun, (day, item.name))
        if row is None:
            row = CobStepRun(
                business_date=day,
                step=item.name,
                position=position,
                items=0,
                batches=0,
                duration_ms=0,
                started_at=clock.now(),
            )
            session.add(row)
        row.status = CobStatus.RUNNING
        row.error = None
    started = time.perf_counter()
    result = StepResult()
    try:
        item.run(
            StepContext(
                factory=factory,
                business_date=day,
                batch_size=batch_size,
                renew=lease.renew,
                progress=result,
            )
        )
    except Exception as exc:
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        with unit_of_work(factory) as session:
            row = session.get(CobStepRun, (day, item.name))
            run = session.get(CobRun, day)
            assert row is not None
            assert run is not None
            row.status = run.status = CobStatus.FAILED
            row.error = run.error = error
            row.items += result.items
            row.batches += result.batches
            row.duration_ms += elapsed_ms
        log.error("cob_step_failed", business_date=day.isoformat(), step=item.name, error=error)
        raise
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    with unit_of_work(factory) as session:
        row = session.get(CobStepRun, (day, item.name))
        assert row is not None
        row.status = CobStatus.DONE
        row.items += result.items
        row.batches += result.batches
        row.duration_ms += elapsed_ms
        row.finished_at = clock.now()
    log.info(
        "cob_step_done",
        business_date=day.isoformat(),
        step=item.name,
        items=result.items,
        duration_ms=elapsed_ms,
    )
    return result, elapsed_ms
