"""The close-of-business runner: days closed in order, each once; steps recorded; a failed
day resumed where it stopped; one close at a time."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.kit import calendar
from lendbridge.kit.db import unit_of_work
from lendbridge.servicing.cob import runner
from lendbridge.servicing.cob.models import CobLease, CobRun, CobStatus, CobStepRun
from tests.conftest import TODAY, FakeClock


class Items:
    """A step over ``count`` items whose watermark is the business date each item was last
    closed for (the pattern real steps follow with their loans)."""

    def __init__(self, count: int, fail_after: int | None = None) -> None:
        self.closed: dict[int, list[dt.date]] = {i: [] for i in range(count)}
        self.fail_after = fail_after  # fail once, after this many committed items

    def run(self, ctx: runner.StepContext) -> None:
        todo = [i for i, days in self.closed.items() if ctx.business_date not in days]
        for start in range(0, len(todo), ctx.batch_size):
            batch = todo[start : start + ctx.batch_size]
            if self.fail_after is not None and ctx.progress.items >= self.fail_after:
                self.fail_after = None
                raise RuntimeError("killed mid-step")
            for i in batch:
                self.closed[i].append(ctx.business_date)
            ctx.committed(len(batch))


def business_date(factory: sessionmaker[Session]) -> dt.date:
    with unit_of_work(factory) as session:
        return calendar.business_date(session)


def steps(*pairs: tuple[str, Items]) -> list[runner.Step]:
    return [runner.Step(name=n, position=i, run=item.run) for i, (n, item) in enumerate(pairs)]


def test_days_close_in_order_and_the_date_moves_on(
    session_factory: sessionmaker[Session],
) -> None:
    a, b = Items(7), Items(3)
    reports = runner.run_cob(
        session_factory, TODAY + dt.timedelta(days=3), steps=steps(("a", a), ("b", b)), batch_size=2
    )
    assert [r.business_date for r in reports] == [TODAY + dt.timedelta(days=d) for d in range(3)]
    assert business_date(session_factory) == TODAY + dt.timedelta(days=3)
    assert all(len(days) == 3 for days in a.closed.values())
    with unit_of_work(session_factory) as session:
        runs = list(session.scalars(select(CobRun).order_by(CobRun.business_date)))
        assert [(r.status, r.attempts) for r in runs] == [(CobStatus.DONE, 1)] * 3
        first = list(
            session.scalars(
                select(CobStepRun)
                .where(CobStepRun.business_date == TODAY)
                .order_by(CobStepRun.position)
            )
        )
        assert [(s.step, s.status, s.items, s.batches) for s in first] == [
            ("a", CobStatus.DONE, 7, 4),
            ("b", CobStatus.DONE, 3, 2),
        ]


def test_running_again_changes_nothing(session_factory: sessionmaker[Session]) -> None:
    a = Items(2)
    target = TODAY + dt.timedelta(days=1)
    runner.run_cob(session_factory, target, steps=steps(("a", a)))
    assert runner.run_cob(session_factory, target, steps=steps(("a", a))) == []
    assert all(days == [TODAY] for days in a.closed.values())
    with pytest.raises(runner.CobDateInvalid):  # closed days are not reopened
        runner.run_cob(session_factory, TODAY, steps=steps(("a", a)))


def test_a_failed_day_resumes_where_it_stopped(session_factory: sessionmaker[Session]) -> None:
    a, b = Items(10, fail_after=4), Items(3)
    plan = steps(("a", a), ("b", b))
    target = TODAY + dt.timedelta(days=2)
    with pytest.raises(RuntimeError, match="killed"):
        runner.run_cob(session_factory, target, steps=plan, batch_size=2)
    assert business_date(session_factory) == TODAY  # the day is not closed
    with unit_of_work(session_factory) as session:
        run = session.get(CobRun, TODAY)
        assert run is not None
        assert (run.status, run.error) == (CobStatus.FAILED, "RuntimeError: killed mid-step")
    reports = runner.run_cob(session_factory, target, steps=plan, batch_size=2)
    assert [r.resumed for r in reports] == [True, False]
    # every item closed exactly once per day, the failed attempt's batches included
    assert all(days == [TODAY, TODAY + dt.timedelta(days=1)] for days in a.closed.values())
    with unit_of_work(session_factory) as session:
        run = session.get(CobRun, TODAY)
        step_a = session.get(CobStepRun, (TODAY, "a"))
        assert run is not None
        assert step_a is not None
        assert (run.status, run.attempts) == (CobStatus.DONE, 2)
        assert (step_a.items, step_a.batches) == (10, 5)


def test_one_close_at_a_time(session_factory: sessionmaker[Session], time: FakeClock) -> None:
    holder = runner._Lease(session_factory, "other-host:1")
    holder.take()
    with pytest.raises(runner.CobBusy):
        runner.run_cob(session_factory, TODAY + dt.timedelta(days=1), steps=[])
    time.advance(minutes=11)  # the other close died: its lease expires
    runner.run_cob(session_factory, TODAY + dt.timedelta(days=1), steps=[])
    assert business_date(session_factory) == TODAY + dt.timedelta(days=1)
    with unit_of_work(session_factory) as session:
        lease = session.get(CobLease, 1)
        assert lease is not None
        assert lease.holder is None  # released at the end
