"""The daily reconciliation report of a channel.

For a date D: the figures of the runs whose statement covers D (statement, platform,
matched, breaks per kind), and every break of the channel that was open on D, whatever its
run, aged by business date (D minus the business date it was raised on). "Open on D" is
read from when breaks were raised and resolved, so a report of a past date stays the same.
The sums are made in Python from the breaks' rows (exact whatever the amounts).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from lendbridge.payments import channel_config
from lendbridge.payments.recon.models import BreakKind, ReconBreak, ReconRun
from lendbridge.payments.recon.schemas import Ageing, Figure, KindReport, ReportOut
from lendbridge.payments.recon.views import run_out

STREAM_ROWS = 10_000
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-1", 0, 1),
    ("2-3", 2, 3),
    ("4-7", 4, 7),
    ("8-30", 8, 30),
    (">30", 31, None),
)


def bucket_of(days: int) -> str:
    for name, low, high in BUCKETS:
        if days >= low and (high is None or days <= high):
            return name
    return BUCKETS[0][0]  # raised after the report date cannot be open on it


def _difference() -> ColumnElement[int]:
    """|statement - platform| of a break (each side at most 2^63 - 1, so the difference of
    one break fits the database's integers; sums are made in Python, which never overflows)."""
    return func.abs(
        func.coalesce(ReconBreak.statement_amount, 0) - func.coalesce(ReconBreak.platform_amount, 0)
    )


def _open_on(day: dt.date) -> ColumnElement[bool]:
    return and_(
        ReconBreak.raised_on <= day,
        or_(ReconBreak.resolved_on.is_(None), ReconBreak.resolved_on > day),
    )


def daily_report(session: Session, channel_name: str, day: dt.date) -> ReportOut:
    channel = channel_config.get(session, channel_name)
    runs = [
        run_out(r)
        for r in session.scalars(
            select(ReconRun)
            .where(
                ReconRun.channel == channel.name,
                ReconRun.date_from <= day,
                ReconRun.date_to >= day,
            )
            .order_by(ReconRun.id)
        )
    ]
    by_kind: dict[BreakKind, KindReport] = {}
    for run in runs:
        run_rows = session.execute(
            select(ReconBreak.kind, _difference(), _open_on(day))
            .where(ReconBreak.run_id == run.id)
            .execution_options(yield_per=STREAM_ROWS)
        )
        for kind, difference, still_open in run_rows:
            figure = by_kind.setdefault(BreakKind(kind), KindReport(count=0, amount=0, open=0))
            figure.count += 1
            figure.amount += difference
            figure.open += 1 if still_open else 0
    ageing_count: Counter[str] = Counter()
    ageing_amount: Counter[str] = Counter()
    open_count: Counter[str] = Counter()
    open_amount: Counter[str] = Counter()
    open_rows = session.execute(
        select(ReconBreak.raised_on, ReconBreak.kind, _difference())
        .where(ReconBreak.channel == channel.name, _open_on(day))
        .execution_options(yield_per=STREAM_ROWS)
    )
    for raised_on, kind, difference in open_rows:
        bucket = bucket_of((day - raised_on).days)
        ageing_count[bucket] += 1
        ageing_amount[bucket] += difference
        open_count[kind] += 1
        open_amount[kind] += difference
    return ReportOut(
        channel=channel.name,
        currency=channel.currency,
        date=day,
        runs=[r.id for r in runs],
        lines=sum(r.lines for r in runs),
        bad_lines=sum(r.bad_lines for r in runs),
        statement=Figure(
            count=sum(r.statement.count for r in runs),
            amount=sum(r.statement.amount for r in runs),
        ),
        statement_fees=sum(r.statement_fees for r in runs),
        platform=Figure(
            count=sum(r.platform.count for r in runs),
            amount=sum(r.platform.amount for r in runs),
        ),
        matched_lines=sum(r.matched_lines for r in runs),
        matched_orders=sum(r.matched_orders for r in runs),
        matched_amount=sum(r.matched_amount for r in runs),
        breaks_by_kind=dict(sorted(by_kind.items())),
        open_breaks=Figure(count=sum(open_count.values()), amount=sum(open_amount.values())),
        open_by_kind={
            BreakKind(kind): Figure(count=open_count[kind], amount=open_amount[kind])
            for kind in sorted(open_count)
        },
        ageing=[
            Ageing(bucket=name, count=ageing_count[name], amount=ageing_amount[name])
            for name, _, _ in BUCKETS
        ],
    )
