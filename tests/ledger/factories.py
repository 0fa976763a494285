"""Factories for ledger tests: small, explicit, one purpose each."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from lendbridge.ledger import service
from lendbridge.ledger.models import AccountType, Side

__all__ = ["AccountType", "account", "basic_chart", "entry_in", "transfer"]
from lendbridge.ledger.schemas import AccountIn, AccountOut, EntryIn, EntryOut, PostingIn


def account(
    session: Session,
    code: str,
    type_: AccountType = AccountType.ASSET,
    *,
    currency: str = "CNY",
    min_balance: int | None = None,
    name: str | None = None,
) -> AccountOut:
    return service.open_account(
        session,
        AccountIn(
            code=code, name=name or code, type=type_, currency=currency, min_balance=min_balance
        ),
    )


def entry_in(
    debit: str,
    credit: str,
    amount: int,
    *,
    currency: str = "CNY",
    effective_date: dt.date | None = None,
    description: str = "",
) -> EntryIn:
    return EntryIn(
        postings=[
            PostingIn(account=debit, side=Side.DEBIT, amount=amount, currency=currency),
            PostingIn(account=credit, side=Side.CREDIT, amount=amount, currency=currency),
        ],
        effective_date=effective_date,
        description=description,
    )


def transfer(
    session: Session,
    debit: str,
    credit: str,
    amount: int,
    *,
    key: str | None = None,
    effective_date: dt.date | None = None,
) -> EntryOut:
    return service.post_entry(
        session, entry_in(debit, credit, amount, effective_date=effective_date), idempotency_key=key
    )


def basic_chart(session: Session) -> None:
    """A bank account (asset), a customer wallet that may not overdraw (liability), income."""
    account(session, "bank", AccountType.ASSET)
    account(session, "wallet", AccountType.LIABILITY, min_balance=0)
    account(session, "income", AccountType.INCOME)
    account(session, "receivable", AccountType.ASSET)
    session.commit()
