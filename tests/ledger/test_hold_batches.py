"""Holds and entries in batches: each item checked against the accounts as the items before
it left them; a refused item is reported in its place and the others go through."""

from __future__ import annotations

import uuid

from lendbridge.kit.errors import DomainError, IdempotencyConflict
from lendbridge.ledger import service
from lendbridge.ledger.check import check_ledger
from lendbridge.ledger.models import HoldStatus, Side
from lendbridge.ledger.schemas import EntryIn, HoldIn, HoldPostIn, PostingIn
from lendbridge.ledger.service import hold_batches
from tests.ledger import factories as f


def hold_in(amount: int) -> HoldIn:
    return HoldIn(debit_account="wallet", credit_account="bank", amount=amount, currency="CNY")


def test_place_holds_refuses_only_what_would_overdraw(session) -> None:
    f.basic_chart(session)
    f.transfer(session, "bank", "wallet", 100_000)
    results = hold_batches.place_holds(
        session, [(hold_in(60_000), "h1"), (hold_in(50_000), "h2"), (hold_in(40_000), "h3")]
    )
    assert isinstance(results[1], DomainError)
    assert results[1].errors[0].field == "amount"
    placed = [r for r in results if not isinstance(r, DomainError)]
    assert len(placed) == 2
    assert service.balance(session, "wallet").available == 0
    again = hold_batches.place_holds(
        session,
        [
            (hold_in(60_000), "h1"),
            (
                hold_in(
                    1,
                ),
                "h1",
            ),
        ],
    )
    assert again[0] == results[0]
    assert isinstance(again[1], IdempotencyConflict)
    session.commit()
    assert check_ledger(session).ok


def test_post_holds_posts_and_replays(session) -> None:
    f.basic_chart(session)
    f.transfer(session, "bank", "wallet", 100_000)
    a, b = hold_batches.place_holds(session, [(hold_in(30_000), "a"), (hold_in(20_000), "b")])
    assert not isinstance(a, DomainError)
    assert not isinstance(b, DomainError)
    posted = hold_batches.post_holds(
        session,
        [(a.id, HoldPostIn()), (b.id, HoldPostIn(amount=5_000)), (uuid.uuid4(), HoldPostIn())],
    )
    assert isinstance(posted[2], DomainError)
    assert service.get_hold(session, a.id).status == HoldStatus.POSTED
    assert service.get_hold(session, b.id).posted_amount == 5_000
    wallet = service.balance(session, "wallet")
    assert (wallet.balance, wallet.available) == (65_000, 65_000)
    replay = hold_batches.post_holds(session, [(a.id, HoldPostIn())])
    assert replay[0] == posted[0]
    session.commit()
    assert check_ledger(session).ok


def entry(debit: str, credit: str, amount: int) -> EntryIn:
    return EntryIn(
        postings=[
            PostingIn(account=debit, side=Side.DEBIT, amount=amount, currency="CNY"),
            PostingIn(account=credit, side=Side.CREDIT, amount=amount, currency="CNY"),
        ]
    )


def test_post_entries_skips_a_refused_entry_without_its_effects(session) -> None:
    f.basic_chart(session)
    results = hold_batches.post_entries(
        session,
        [
            (entry("bank", "wallet", 10_000), "e1"),
            (entry("wallet", "bank", 50_000), "e2"),  # would overdraw the wallet
            (entry("wallet", "bank", 4_000), "e3"),
        ],
    )
    assert isinstance(results[1], DomainError)
    assert service.balance(session, "wallet").balance == 6_000
    replay = hold_batches.post_entries(session, [(entry("bank", "wallet", 10_000), "e1")])
    assert replay == [results[0]]
    session.commit()
    assert check_ledger(session).ok
