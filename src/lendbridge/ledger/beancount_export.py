"""Export the whole ledger as a Beancount file, so auditors and accountants can check our books
with an independent double-entry tool (``bean-check``, Fava).

The export streams: postings are read in pages through a server-side cursor (``yield_per``)
and written as they arrive, so memory does not grow with the ledger. Only the chart of
accounts (small) is held in memory, to name accounts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendbridge.kit import clock
from lendbridge.kit.money import minor_digits, to_major
from lendbridge.ledger.models import Account, AccountDay, AccountType, Entry, Posting, Side

ROOTS: dict[str, str] = {
    AccountType.ASSET: "Assets",
    AccountType.LIABILITY: "Liabilities",
    AccountType.EQUITY: "Equity",
    AccountType.INCOME: "Income",
    AccountType.EXPENSE: "Expenses",
}

_INVALID = re.compile(r"[^A-Za-z0-9-]")
_PAGE = 2000


def account_component(part: str) -> str:
    """One Beancount account component: starts with a capital letter or digit, then letters,
    digits or dashes."""
    cleaned = _INVALID.sub("-", part)
    if not cleaned:
        return "X"
    if cleaned[0].isdigit():
        return cleaned
    if cleaned[0].isalpha():
        return cleaned[0].upper() + cleaned[1:]
    return "X" + cleaned


def beancount_name(type_: str, code: str) -> str:
    """Our code under the Beancount root of its type; ``.`` and ``:`` become levels of the
    hierarchy (``1002.001`` -> ``Assets:1002:001``)."""
    parts = [p for p in re.split(r"[.:]", code) if p] or [code]
    return ":".join([ROOTS[type_], *(account_component(p) for p in parts)])


def account_names(rows: Iterable[tuple[int, str, str]]) -> dict[int, str]:
    """Beancount names for (id, code, type) rows, unique even when sanitising makes two codes
    look alike (``a_b`` and ``a-b``): later ones get a short hash of the code appended."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    for account_id, code, type_ in sorted(rows, key=lambda r: r[1]):
        name = beancount_name(type_, code)
        if name in taken:
            name = f"{name}-{hashlib.sha256(code.encode()).hexdigest()[:8]}"
        taken.add(name)
        names[account_id] = name
    return names


def quote(text: str) -> str:
    """A Beancount string literal on one line."""
    flat = " ".join(text.split())
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"'


def amount_text(amount: int, currency: str) -> str:
    # Decimal keeps every minor unit exact; formatting with the currency's digits keeps
    # trailing zeros (12.30, not 12.3).
    return f"{to_major(amount, currency):.{minor_digits(currency)}f}"


def export_beancount(session: Session, out: TextIO, *, title: str = "lendbridge ledger") -> int:
    """Write the ledger to ``out``; returns the number of transactions written."""
    accounts = session.execute(
        select(Account.id, Account.code, Account.type, Account.currency, Account.name)
        .add_columns(Account.status, Account.normal_side, Account.created_at)
        .order_by(Account.code)
    ).all()
    names = account_names((a.id, a.code, a.type) for a in accounts)
    first_day = dict(
        session.execute(
            select(AccountDay.account_id, func.min(AccountDay.day)).group_by(AccountDay.account_id)
        ).all()
    )
    out.write(f"; {title}, exported {clock.now().isoformat(timespec='seconds')}\n")
    out.write("; Amounts in major units; dates are effective (business) dates.\n")
    currencies = sorted({a.currency for a in accounts})
    out.write(f'option "title" {quote(title)}\n')
    for currency in currencies:
        out.write(f'option "operating_currency" "{currency}"\n')
    out.write("\n")
    for a in accounts:
        opened: dt.date = a.created_at.date()
        if a.id in first_day:
            # Entries may be dated before the account row was created (backdated bookings).
            opened = min(opened, first_day[a.id])
        out.write(f"{opened.isoformat()} open {names[a.id]} {a.currency}\n")
        out.write(f"  code: {quote(a.code)}\n  name: {quote(a.name)}\n")
        out.write(f'  normal-side: "{a.normal_side}"\n  status: "{a.status}"\n')
    written = 0
    for entry, postings in _entries(session):
        out.write("\n")
        _write_transaction(out, entry, postings, names)
        written += 1
    return written


def _entries(session: Session) -> Iterator[tuple[Any, list[Any]]]:
    """(entry, its postings) in effective-date order, grouped from one streamed query."""
    stmt = (
        select(
            Entry.id,
            Entry.effective_date,
            Entry.description,
            Entry.event_type,
            Entry.reverses_id,
            Entry.link_id,
            Entry.hold_id,
            Posting.line,
            Posting.account_id,
            Posting.side,
            Posting.amount,
            Posting.currency,
        )
        .join(Posting, Posting.entry_id == Entry.id)
        .order_by(Entry.effective_date, Entry.created_at, Entry.id, Posting.line)
        .execution_options(yield_per=_PAGE)
    )
    current: Any = None
    lines: list[Any] = []
    for row in session.execute(stmt):
        if current is not None and row.id != current.id:
            yield current, lines
            lines = []
        current = row
        lines.append(row)
    if current is not None:
        yield current, lines


def _write_transaction(out: TextIO, entry: Any, postings: list[Any], names: dict[int, str]) -> None:
    narration = entry.description or entry.event_type or "journal entry"
    out.write(f"{entry.effective_date.isoformat()} * {quote(narration)}\n")
    out.write(f'  entry-id: "{entry.id}"\n')
    if entry.event_type:
        out.write(f"  event-type: {quote(entry.event_type)}\n")
    for label, value in (
        ("reverses", entry.reverses_id),
        ("link-id", entry.link_id),
        ("hold-id", entry.hold_id),
    ):
        if value is not None:
            out.write(f'  {label}: "{value}"\n')
    for p in postings:
        sign = "" if p.side == Side.DEBIT else "-"
        out.write(
            f"  {names[p.account_id]}  {sign}{amount_text(p.amount, p.currency)} {p.currency}\n"
        )
