"""The reconciliation step of ``init --demo`` on both databases: after the loans demo, one
statement per past day on which loan orders executed on the demo channel, imported by the real
importer; all match but the busiest day's, which has exactly the intended breaks (an order
left out, an amount short, an unknown line). A second call imports nothing; the files are the
same bytes each time. Without the loans demo the step says so and writes nothing.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lendbridge.audit.models import AuditRecord
from lendbridge.demo import load_demo
from lendbridge.identity.consents import seed_agreements
from lendbridge.identity.demo import load_identity_demo
from lendbridge.kit import crypto
from lendbridge.kit.crypto import Keyring
from lendbridge.kit.db import unit_of_work
from lendbridge.ledger.chart import load_chart
from lendbridge.payments import runtime
from lendbridge.payments.demo import CHANNEL, load_payments_demo
from lendbridge.payments.models import PaymentOrder
from lendbridge.payments.recon import demo as recon_demo
from lendbridge.payments.recon.importer import import_statement
from lendbridge.payments.recon.models import BreakKind, ReconBreak, ReconRun
from lendbridge.servicing.demo import load_loans_demo
from tests.conftest import TODAY


@pytest.fixture
def keys() -> Iterator[None]:
    """Personal data (the demo people) under this run's keyring; the payments runtime kept."""
    previous = crypto.configure(Keyring.from_env(os.environ["LENDBRIDGE_MASTER_KEYS"]))
    wiring = runtime._runtime
    yield
    crypto.configure(previous)
    runtime._runtime = wiring


@pytest.fixture
def before_loans(session_factory: sessionmaker[Session], keys: None) -> sessionmaker[Session]:
    """What ``init --demo`` commits before the loans demo."""
    with unit_of_work(session_factory) as session:
        seed_agreements(session)
        load_chart(session)
        load_identity_demo(session)
        load_demo(session)
        load_payments_demo(session)
    return session_factory


def counts(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with factory() as session:
        return (
            session.scalar(select(func.count()).select_from(ReconRun)) or 0,
            session.scalar(select(func.count()).select_from(ReconBreak)) or 0,
            session.scalar(select(func.count()).select_from(AuditRecord)) or 0,
        )


def test_the_demo_statements_match_all_but_the_intended_breaks(
    before_loans: sessionmaker[Session],
) -> None:
    factory = before_loans
    assert load_loans_demo(factory).loaded
    with factory() as session:
        loan_orders = session.execute(
            select(PaymentOrder.id, PaymentOrder.amount, PaymentOrder.completed_on)
            .where(PaymentOrder.channel == CHANNEL, PaymentOrder.event_id.is_not(None))
            .order_by(PaymentOrder.completed_on, PaymentOrder.created_at, PaymentOrder.id)
        ).all()
    assert all(o.completed_on is not None and o.completed_on < TODAY for o in loan_orders)
    days = sorted({o.completed_on for o in loan_orders})
    per_day = {d: [o for o in loan_orders if o.completed_on == d] for d in days}
    busiest = max(days, key=lambda d: (len(per_day[d]), -d.toordinal()))
    assert len(per_day[busiest]) >= recon_demo.MIN_ORDERS

    with unit_of_work(factory) as session:
        result = recon_demo.load_recon_demo(session)
    assert result.loaded, result.message
    assert "3 breaks" in result.message
    assert [(r.date_from, r.date_to) for r in result.runs] == [(d, d) for d in days]
    assert all(r.file_name == f"demo-simbank-{r.date_from:%Y%m%d}.csv" for r in result.runs)

    # Every other day: each order matched by its line, nothing else.
    for run in result.runs:
        if run.date_from == busiest:
            continue
        count = len(per_day[run.date_from])
        assert (run.breaks, run.bad_lines, run.lines) == (0, 0, count), run.date_from
        assert (run.matched_lines, run.matched_orders) == (count, count)
        assert run.matched_amount == sum(o.amount for o in per_day[run.date_from])

    # The busiest day: the first orders matched, the second short, the last left out, and
    # one line for which the platform has no order.
    broken = next(r for r in result.runs if r.date_from == busiest)
    orders = per_day[busiest]
    short, missing = orders[1], orders[-1]
    assert broken.lines == len(orders)  # one order fewer, one unknown line more
    assert broken.matched_orders == len(orders) - 2
    assert broken.breaks == 3
    with factory() as session:
        found = {
            b.kind: (b.order_id, b.statement_amount, b.platform_amount, b.status)
            for b in session.scalars(select(ReconBreak).where(ReconBreak.run_id == broken.id))
        }
    assert found == {
        BreakKind.MISSING_AT_CHANNEL.value: (missing.id, None, missing.amount, "open"),
        BreakKind.AMOUNT_MISMATCH.value: (
            short.id,
            short.amount - recon_demo.SHORT_BY,
            short.amount,
            "open",
        ),
        BreakKind.MISSING_ON_PLATFORM.value: (None, recon_demo.UNKNOWN_AMOUNT, None, "open"),
    }

    # Again: nothing new, and the files are the same bytes (the importer answers them).
    before = counts(factory)
    with unit_of_work(factory) as session:
        again = recon_demo.load_recon_demo(session)
    assert not again.loaded
    assert "already imported" in again.message
    assert counts(factory) == before
    with unit_of_work(factory) as session:
        first = recon_demo.demo_statements(session)
        assert [s.content for s in first] == [
            s.content for s in recon_demo.demo_statements(session)
        ]
        for statement, run in zip(first, result.runs, strict=True):
            out, created = import_statement(
                session,
                CHANNEL,
                io.BytesIO(statement.content),
                actor=recon_demo.ACTOR,
                file_name=statement.file_name,
                statement_date=statement.day,
            )
            assert (out.id, created) == (run.id, False)
    assert counts(factory) == before


def test_without_the_loans_demo_the_step_says_so_and_writes_nothing(
    before_loans: sessionmaker[Session],
) -> None:
    before = counts(before_loans)
    with unit_of_work(before_loans) as session:
        result = recon_demo.load_recon_demo(session)
        assert recon_demo.demo_statements(session) == []
    assert not result.loaded
    assert "skipped" in result.message
    assert "loans demo" in result.message
    assert counts(before_loans) == before


def test_without_the_demo_channel_the_step_says_so_and_writes_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    before = counts(session_factory)
    with unit_of_work(session_factory) as session:
        result = recon_demo.load_recon_demo(session)
        assert recon_demo.demo_statements(session) == []
    assert not result.loaded
    assert f"no channel {CHANNEL}" in result.message
    assert counts(session_factory) == before
