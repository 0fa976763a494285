"""Daily statement files (对账单): one CSV line per money movement of a trade date.

Amounts and fees are printed in major units with the currency's decimals (``1234.56``), as a
bank prints yuan; accounts are masked (``6222****1234``). A reversal is a line of its own
(status ``REVERSED``, fee 0) on the trade date it happened, next to the original ``SUCCESS``
line on its own date: a closed day's statement never changes afterwards.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

from lendbridge.kit.money import to_major
from lendbridge.payments.gateway.state import StatementEntry

COLUMNS = (
    "trade_date",
    "channel_ref",
    "order_no",
    "direction",
    "amount",
    "currency",
    "status",
    "fee",
    "account",
    "completed_at",
)
ROWS_PER_CHUNK = 500


def mask_account(number: str) -> str:
    """First four and last four digits: ``6222021234561234`` -> ``6222****1234``."""
    if len(number) >= 12:
        return f"{number[:4]}****{number[-4:]}"
    return f"****{number[-4:]}" if len(number) > 4 else "****"


def major_units(amount: int, currency: str) -> str:
    return format(to_major(amount, currency), "f")


def _row(day: dt.date, entry: StatementEntry, tz: dt.tzinfo) -> list[str]:
    transaction = entry.transaction
    content = transaction.content
    return [
        day.isoformat(),
        transaction.channel_ref,
        transaction.order_no,
        content.direction,
        major_units(content.amount, content.currency),
        content.currency,
        entry.kind.value,
        major_units(entry.fee, content.currency),
        mask_account(content.account_number),
        entry.at.astimezone(tz).isoformat(timespec="seconds"),
    ]


def render(day: dt.date, entries: Iterable[StatementEntry], tz: dt.tzinfo) -> Iterator[bytes]:
    """The statement as UTF-8 CSV chunks of a few hundred lines each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for index, entry in enumerate(entries, start=1):
        writer.writerow(_row(day, entry, tz))
        if index % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


async def render_async(
    day: dt.date, entries: list[StatementEntry], tz: dt.tzinfo
) -> AsyncIterator[bytes]:
    """:func:`render` for a streaming response: one chunk per step of the event loop, so a
    long statement does not hold up order requests."""
    for chunk in render(day, entries, tz):
        yield chunk


def write_statement(
    path: Path, day: dt.date, entries: Iterable[StatementEntry], tz: dt.tzinfo
) -> int:
    """Write a statement file; answer the number of bytes written."""
    written = 0
    with path.open("wb") as file:
        for chunk in render(day, entries, tz):
            written += file.write(chunk)
    return written
