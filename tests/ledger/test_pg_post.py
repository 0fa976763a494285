"""On PostgreSQL a single entry is posted by the database function ``ledger_post_entry()``;
everything else by the Python engine. Both must apply the same rules in the same order: each
case here is staged by the engine and posted by the function on the same state, and the
results (the error, or the running balances written) must be identical."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from lendbridge.kit.errors import DomainError
from lendbridge.kit.money import MAX_MINOR_UNITS
from lendbridge.ledger import engine, service
from lendbridge.ledger.check import check_ledger
from lendbridge.ledger.models import AccountStatus, Posting, Side
from lendbridge.ledger.schemas import EntryIn, PostingIn
from tests.ledger import factories as f

pytestmark = pytest.mark.postgres_only


def entry(*lines: tuple[str, Side, int, str]) -> EntryIn:
    return EntryIn(
        postings=[PostingIn(account=a, side=s, amount=m, currency=c) for a, s, m, c in lines]
    )


D, C = Side.DEBIT, Side.CREDIT


def staged_by_engine(session: Session, request: EntryIn) -> Any:
    """What the engine decides for ``request`` on the current state (nothing is written)."""
    try:
        ws = engine.lock_accounts(session, codes=(p.account for p in request.postings))
        staged = engine.stage_entry(ws, request, idempotency_key=None)
        return [p.balance_after for p in staged.postings]
    except DomainError as exc:
        return (type(exc), exc.detail, exc.errors, exc.extra)
    finally:
        session.rollback()


def posted_by_function(session: Session, request: EntryIn) -> Any:
    try:
        out = service.post_entry(session, request)
    except DomainError as exc:
        session.rollback()
        return (type(exc), exc.detail, exc.errors, exc.extra)
    balances = session.scalars(
        select(Posting.balance_after).where(Posting.entry_id == out.id).order_by(Posting.line)
    ).all()
    session.commit()
    return list(balances)


@pytest.fixture
def books(pg_engine):
    with Session(pg_engine) as session:
        f.basic_chart(session)  # bank, wallet (min 0), income, receivable
        f.account(session, "usd", currency="USD")
        f.account(session, "frozen")
        f.account(session, "closed")
        service.set_account_status(session, "frozen", AccountStatus.FROZEN)
        service.set_account_status(session, "closed", AccountStatus.FROZEN)
        service.set_account_status(session, "closed", AccountStatus.CLOSED)
        f.transfer(session, "bank", "wallet", 1_000)
        session.commit()
    return pg_engine


CASES = {
    "plain transfer": entry(("bank", D, 250, "CNY"), ("wallet", C, 250, "CNY")),
    "one account twice": entry(
        ("wallet", D, 100, "CNY"), ("bank", D, 300, "CNY"), ("wallet", C, 400, "CNY")
    ),
    "withdraw exactly the balance": entry(("wallet", D, 1_000, "CNY"), ("bank", C, 1_000, "CNY")),
    "unknown accounts, all named": entry(
        ("nope", D, 5, "CNY"),
        ("bank", C, 5, "CNY"),
        ("gone", C, 5, "CNY"),
        ("bank", D, 5, "CNY"),
    ),
    "currency mismatch": entry(("bank", D, 5, "USD"), ("usd", C, 5, "USD")),
    "frozen account": entry(("bank", D, 5, "CNY"), ("frozen", C, 5, "CNY")),
    "closed account": entry(("closed", D, 5, "CNY"), ("bank", C, 5, "CNY")),
    "over the limit": entry(("wallet", D, 1_001, "CNY"), ("bank", C, 1_001, "CNY")),
    "first line's problem wins": entry(
        ("frozen", D, 5, "CNY"),
        ("bank", D, 5, "USD"),
        ("bank", C, 5, "CNY"),
        ("usd", C, 5, "USD"),
    ),
    "64-bit overflow": entry(
        ("bank", D, MAX_MINOR_UNITS, "CNY"), ("income", C, MAX_MINOR_UNITS, "CNY")
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_function_and_engine_agree(books, case):
    request = CASES[case]
    with Session(books) as session:
        expected = staged_by_engine(session, request)
        assert posted_by_function(session, request) == expected
        assert check_ledger(session).ok


def test_function_refusal_writes_nothing(books):
    with Session(books) as session:
        before = session.execute(text("SELECT count(*) FROM ledger_posting")).scalar()
        with pytest.raises(DomainError):
            service.post_entry(session, CASES["over the limit"])
        session.commit()  # a refusal leaves nothing to commit
        assert session.execute(text("SELECT count(*) FROM ledger_posting")).scalar() == before


def test_function_replays_a_booked_key(books):
    with Session(books) as session:
        first = service.post_entry(session, CASES["plain transfer"], idempotency_key="k-1")
        session.commit()
        again = service.post_entry(session, CASES["plain transfer"], idempotency_key="k-1")
        assert again == first
