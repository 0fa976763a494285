"""Reads: balances (now and as of a date), statements with running balance, trial balance.
None of them sums an account's postings: totals live on the account row and in day buckets."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lendbridge.kit.errors import ValidationFailed, field_error
from lendbridge.ledger import errors
from lendbridge.ledger.models import Account, AccountDay, AccountType, Entry, Posting, Side
from lendbridge.ledger.schemas import (
    BalanceOut,
    StatementLine,
    StatementPage,
    TrialBalanceGroup,
    TrialBalanceLine,
    TrialBalanceOut,
    TrialBalanceTotal,
)


def _account(session: Session, code: str) -> Account:
    account = session.scalar(select(Account).where(Account.code == code))
    if account is None:
        raise errors.AccountNotFound(f"no account has code {code!r}")
    return account


def _normal(account_normal_side: str, debits: int, credits: int) -> int:
    return debits - credits if account_normal_side == Side.DEBIT else credits - debits


def balance(session: Session, code: str, *, as_of: dt.date | None = None) -> BalanceOut:
    """The posted balance now (with pending and available), or as it stood at the end of the
    business date ``as_of`` (postings dated that day or earlier)."""
    account = _account(session, code)
    if as_of is None:
        available = (
            account.debits_posted - account.credits_posted - account.credits_pending
            if account.normal_side == Side.DEBIT
            else account.credits_posted - account.debits_posted - account.debits_pending
        )
        return BalanceOut(
            account=code,
            currency=account.currency,
            as_of=None,
            debits_posted=account.debits_posted,
            credits_posted=account.credits_posted,
            balance=_normal(account.normal_side, account.debits_posted, account.credits_posted),
            debits_pending=account.debits_pending,
            credits_pending=account.credits_pending,
            available=available,
        )
    debits, credits = session.execute(
        select(
            func.coalesce(func.sum(AccountDay.debits), 0),
            func.coalesce(func.sum(AccountDay.credits), 0),
        ).where(AccountDay.account_id == account.id, AccountDay.day <= as_of)
    ).one()
    return BalanceOut(
        account=code,
        currency=account.currency,
        as_of=as_of,
        debits_posted=int(debits),
        credits_posted=int(credits),
        balance=_normal(account.normal_side, int(debits), int(credits)),
    )


def encode_cursor(posting_id: int) -> str:
    return base64.urlsafe_b64encode(f"p:{posting_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        if prefix != "p" or not value.isdigit():
            raise ValueError(cursor)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise field_error(ValidationFailed, "cursor", "is not a cursor this API issued") from None


def statement(
    session: Session,
    code: str,
    *,
    cursor: str | None = None,
    limit: int = 50,
    from_date: dt.date | None = None,
    to_date: dt.date | None = None,
) -> StatementPage:
    """An account's postings in booking order with the running balance after each, a page at
    a time (cursor pagination: cost per page does not grow with the account's history)."""
    account = _account(session, code)
    stmt = (
        select(
            Posting.id,
            Posting.entry_id,
            Posting.effective_date,
            Entry.created_at,
            Entry.description,
            Posting.side,
            Posting.amount,
            Posting.balance_after,
        )
        .join(Entry, Entry.id == Posting.entry_id)
        .where(Posting.account_id == account.id)
        .order_by(Posting.id)
        .limit(limit + 1)
    )
    if cursor is not None:
        stmt = stmt.where(Posting.id > decode_cursor(cursor))
    if from_date is not None:
        stmt = stmt.where(Posting.effective_date >= from_date)
    if to_date is not None:
        stmt = stmt.where(Posting.effective_date <= to_date)
    rows = session.execute(stmt).all()
    lines = [
        StatementLine(
            posting_id=r[0],
            entry_id=r[1],
            effective_date=r[2],
            created_at=r[3],
            description=r[4],
            side=Side(r[5]),
            amount=r[6],
            balance_after=r[7],
        )
        for r in rows[:limit]
    ]
    next_cursor = encode_cursor(lines[-1].posting_id) if len(rows) > limit else None
    return StatementPage(
        account=code, currency=account.currency, lines=lines, next_cursor=next_cursor
    )


def trial_balance(
    session: Session, *, as_of: dt.date | None = None, currency: str | None = None
) -> TrialBalanceOut:
    """Every account with a balance, its debit or credit balance, subtotals by account type
    and currency, and per-currency totals, which balance when the books do."""
    columns = (Account.code, Account.name, Account.type, Account.currency)
    if as_of is None:
        stmt = select(*columns, Account.debits_posted, Account.credits_posted)
    else:
        day_totals = (
            select(
                AccountDay.account_id,
                func.sum(AccountDay.debits).label("d"),
                func.sum(AccountDay.credits).label("c"),
            )
            .where(AccountDay.day <= as_of)
            .group_by(AccountDay.account_id)
            .subquery()
        )
        stmt = select(*columns, day_totals.c.d, day_totals.c.c).join(
            day_totals, day_totals.c.account_id == Account.id
        )
    if currency is not None:
        stmt = stmt.where(Account.currency == currency)
    lines: list[TrialBalanceLine] = []
    groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for code, name, type_, ccy, debits, credits in session.execute(stmt.order_by(Account.code)):
        net = int(debits) - int(credits)
        if net == 0:
            continue
        debit, credit = (net, 0) if net > 0 else (0, -net)
        lines.append(
            TrialBalanceLine(
                account=code,
                name=name,
                type=AccountType(type_),
                currency=ccy,
                debit=debit,
                credit=credit,
            )
        )
        for bucket in (groups[(type_, ccy)], totals[ccy]):
            bucket[0] += debit
            bucket[1] += credit
    return TrialBalanceOut(
        as_of=as_of,
        lines=lines,
        groups=[
            TrialBalanceGroup(type=AccountType(t), currency=c, debit=d, credit=cr)
            for (t, c), (d, cr) in sorted(groups.items())
        ],
        totals=[
            TrialBalanceTotal(currency=c, debit=d, credit=cr, balanced=d == cr)
            for c, (d, cr) in sorted(totals.items())
        ],
    )
