"""The reconciliation part of ``lendbridge init --demo``: the demo channel's daily statements
for the days of the loans demo, imported through the real importer, with a few breaks.

The loans demo (``servicing/demo.py``) sends its disbursements and repayments through the
simulated bank on the demo channel over five months of business days. For each of those
past days on which the channel moved money for a loan, this step writes the statement the
channel would deliver (the gateway's columns, ``payments/gateway/statement.py``: amounts in
yuan, masked card numbers, the channel's fees) and imports it with
:func:`importer.import_statement`, one run per day, as an operator importing each day's file.

Every statement matches its orders but one: on the busiest day (the most orders; the
earliest of equals), the statement

* leaves out that day's last order (a *missing at channel* break),
* prints the second order :data:`SHORT_BY` fen short (an *amount mismatch*: the bank took a
  charge out of the payment),
* and carries one line the platform has no order for: a borrower's transfer straight to the
  platform's account (:data:`UNKNOWN_AMOUNT`, a *missing on platform* break).

Idempotent: the files are deterministic (lines in the orders' creation order, times made up
from the trade date), so the importer answers an imported file's first run; and once any of
this demo's files is imported (file names start with :data:`FILE_PREFIX`) the step does
nothing, so orders executed later (by the server, by a close of business) never add runs.
Without executed loan orders on past days (the loans demo was skipped) it does nothing and
says so. The caller commits.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.kit import calendar
from lendbridge.kit.actor import system_actor
from lendbridge.payments.demo import CHANNEL
from lendbridge.payments.gateway.config import FeeSchedule
from lendbridge.payments.gateway.statement import COLUMNS, major_units
from lendbridge.payments.models import OrderStatus, PaymentChannel, PaymentOrder
from lendbridge.payments.recon.importer import import_statement
from lendbridge.payments.recon.models import ReconRun
from lendbridge.payments.recon.schemas import RunOut

ACTOR = system_actor("demo")
FILE_PREFIX = f"demo-{CHANNEL}-"
SHORT_BY = 50  # fen: the amount mismatch of the busiest day
UNKNOWN_AMOUNT = 520_00  # fen: the transfer the platform has no order for
UNKNOWN_ACCOUNT = "6228480402564890427"  # the payer's card (printed masked)
MIN_ORDERS = 3  # the busiest day needs one order matched, one short and one left out
EXECUTED = (OrderStatus.SUCCEEDED.value, OrderStatus.REVERSED.value)


@dataclass(frozen=True)
class DemoOrder:
    """What a statement line shows of an executed order."""

    id: str
    channel_ref: str
    direction: str
    amount: int
    currency: str
    party_account_masked: str


@dataclass(frozen=True)
class DemoStatement:
    day: dt.date
    file_name: str
    content: bytes
    orders: int  # the day's executed orders
    breaks: bool  # the statement of the busiest day, with the breaks


@dataclass
class ReconDemo:
    """What the step did: ``loaded`` False with the reason in ``message`` when it did not."""

    loaded: bool
    message: str
    runs: list[RunOut] = field(default_factory=list)


def load_recon_demo(session: Session, *, timezone: str = "Asia/Shanghai") -> ReconDemo:
    """Import the demo statements once (see the module's docstring)."""
    if session.get(PaymentChannel, CHANNEL) is None:
        return ReconDemo(False, f"reconciliation demo: skipped — no channel {CHANNEL}")
    if session.scalar(
        select(ReconRun.id).where(
            ReconRun.channel == CHANNEL, ReconRun.file_name.like(FILE_PREFIX + "%")
        )
    ):
        return ReconDemo(False, "reconciliation demo: already imported")
    statements = demo_statements(session, timezone=timezone)
    if not statements:
        return ReconDemo(
            False,
            "reconciliation demo: skipped — no past day with orders of the loans demo "
            f"executed on {CHANNEL} (was the loans demo loaded?)",
        )
    runs = []
    for statement in statements:
        out, _ = import_statement(
            session,
            CHANNEL,
            io.BytesIO(statement.content),
            actor=ACTOR,
            file_name=statement.file_name,
            statement_date=statement.day,
        )
        runs.append(out)
    busiest = next(s for s in statements if s.breaks)
    breaks = sum(run.breaks for run in runs)
    return ReconDemo(
        True,
        f"reconciliation demo: {len(runs)} daily statements of {CHANNEL} imported "
        f"({statements[0].day}..{statements[-1].day}), {breaks} breaks on {busiest.day}: "
        "one order missing from the statement, one amount short, one unknown transaction",
        runs,
    )


def demo_statements(session: Session, *, timezone: str = "Asia/Shanghai") -> list[DemoStatement]:
    """The statements of the past days on which loan orders executed on the demo channel,
    by day; none when there are none or the busiest day has fewer than :data:`MIN_ORDERS`."""
    channel = session.get(PaymentChannel, CHANNEL)
    if channel is None:
        return []
    today = calendar.business_date(session)
    by_day: dict[dt.date, list[DemoOrder]] = {}
    rows = session.execute(
        select(
            PaymentOrder.completed_on,
            PaymentOrder.id,
            PaymentOrder.channel_ref,
            PaymentOrder.direction,
            PaymentOrder.amount,
            PaymentOrder.currency,
            PaymentOrder.party_account_masked,
        )
        .where(
            PaymentOrder.channel == CHANNEL,
            PaymentOrder.status.in_(EXECUTED),
            PaymentOrder.event_id.is_not(None),  # orders of the loans, not the payments demo's
            PaymentOrder.completed_on < today,
        )
        .order_by(PaymentOrder.completed_on, PaymentOrder.created_at, PaymentOrder.id)
    )
    for day, order_id, ref, direction, amount, currency, masked in rows:
        if day is None:  # an executed order always has its date; for the type checker
            continue
        by_day.setdefault(day, []).append(
            DemoOrder(str(order_id), ref or "", direction, amount, currency, masked)
        )
    if not by_day:
        return []
    busiest = max(by_day, key=lambda d: (len(by_day[d]), -d.toordinal()))
    if len(by_day[busiest]) < MIN_ORDERS:
        return []
    fees = FeeSchedule(
        fixed=channel.fee_fixed, bps=Decimal(channel.fee_bps), maximum=channel.fee_max
    )
    zone = ZoneInfo(timezone)
    return [
        DemoStatement(
            day,
            f"{FILE_PREFIX}{day:%Y%m%d}.csv",
            _render(day, orders, fees, zone, with_breaks=day == busiest),
            len(orders),
            day == busiest,
        )
        for day, orders in sorted(by_day.items())
    ]


def _render(
    day: dt.date,
    orders: Sequence[DemoOrder],
    fees: FeeSchedule,
    zone: ZoneInfo,
    *,
    with_breaks: bool,
) -> bytes:
    """The day's statement in the gateway's layout; with the breaks for the busiest day."""
    lines: list[tuple[str, str, str, int, str, str]] = []  # ref, order_no, dir, amount, cur, card
    for index, order in enumerate(orders):
        amount = order.amount
        if with_breaks and index == len(orders) - 1:
            continue  # the channel's file leaves it out
        if with_breaks and index == 1:
            amount -= SHORT_BY
        lines.append(
            (
                order.channel_ref,
                order.id,
                order.direction,
                amount,
                order.currency,
                _card(order.party_account_masked),
            )
        )
    if with_breaks:
        # A transfer to the platform's account that no order asked for.
        ref = f"SG9{day:%Y%m%d}001"
        lines.append((ref, "", "collect", UNKNOWN_AMOUNT, "CNY", _card(UNKNOWN_ACCOUNT)))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for minute, (ref, order_no, direction, amount, currency, card) in enumerate(lines):
        at = dt.datetime.combine(day, dt.time(10, 0), zone) + dt.timedelta(minutes=7 * minute)
        writer.writerow(
            [
                day.isoformat(),
                ref,
                order_no,
                direction,
                major_units(amount, currency),
                currency,
                "SUCCESS",
                major_units(fees.fee(amount), currency),
                card,
                at.isoformat(timespec="seconds"),
            ]
        )
    return buffer.getvalue().encode()


def _card(number: str) -> str:
    """As the gateway prints a card (first four and last four digits), from the full number
    or from the platform's masked form of it (``622202*********5670``)."""
    return f"{number[:4]}****{number[-4:]}" if len(number) >= 12 else "****"
