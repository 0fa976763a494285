"""Posting journal entries through the service: balance, idempotency, reversal, atomic
batches, account status and balance limits. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from lendbridge.kit.errors import IdempotencyConflict, ValidationFailed
from lendbridge.ledger import errors, service
from lendbridge.ledger.models import AccountStatus, AccountType, Entry, Posting, Side
from lendbridge.ledger.schemas import BatchIn, EntryIn, PostingIn, ReverseIn
from tests.conftest import TODAY
from tests.ledger import factories as f


def counts(session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(Entry)),
        session.scalar(select(func.count()).select_from(Posting)),
    )


@pytest.fixture
def chart(session):
    f.basic_chart(session)
    return session


def test_entry_moves_both_balances_and_defaults_to_business_date(chart):
    out = f.transfer(chart, "bank", "wallet", 12_345, key="k")
    chart.commit()
    assert out.effective_date == TODAY
    assert [(p.account, p.side, p.amount) for p in out.postings] == [
        ("bank", Side.DEBIT, 12_345),
        ("wallet", Side.CREDIT, 12_345),
    ]
    assert service.balance(chart, "bank").balance == 12_345
    assert service.balance(chart, "wallet").balance == 12_345
    assert service.get_entry(chart, out.id) == out


def test_unbalanced_entry_is_refused_naming_postings():
    with pytest.raises(ValueError, match="unbalanced in CNY"):
        EntryIn(
            postings=[
                PostingIn(account="bank", side=Side.DEBIT, amount=100, currency="CNY"),
                PostingIn(account="wallet", side=Side.CREDIT, amount=99, currency="CNY"),
            ]
        )


def test_multi_currency_entry_must_balance_per_currency():
    with pytest.raises(ValueError, match="unbalanced"):
        EntryIn(
            postings=[
                PostingIn(account="a", side=Side.DEBIT, amount=100, currency="CNY"),
                PostingIn(account="b", side=Side.CREDIT, amount=100, currency="USD"),
            ]
        )


@pytest.mark.parametrize("amount", [0, -1, 2**63, 1.5, "100"])
def test_amount_must_be_a_positive_64_bit_integer(amount):
    with pytest.raises(ValueError, match="amount"):
        PostingIn(account="bank", side=Side.DEBIT, amount=amount, currency="CNY")


def test_unknown_account_names_the_field_and_writes_nothing(chart):
    request = f.entry_in("bank", "nope", 100)
    with pytest.raises(errors.UnknownAccount) as caught:
        service.post_entry(chart, request, idempotency_key="k")
    assert caught.value.errors[0].field == "postings.1.account"
    chart.rollback()
    assert counts(chart) == (0, 0)


def test_currency_mismatch_names_the_field(chart):
    request = f.entry_in("bank", "wallet", 100, currency="USD")
    with pytest.raises(errors.CurrencyMismatch) as caught:
        service.post_entry(chart, request)
    assert caught.value.errors[0].field == "postings.0.currency"


def test_same_key_same_content_returns_original_and_writes_nothing(chart):
    first = f.transfer(chart, "bank", "wallet", 500, key="pay-1")
    chart.commit()
    again = f.transfer(chart, "bank", "wallet", 500, key="pay-1")
    chart.commit()
    assert again == first
    assert counts(chart) == (1, 2)
    assert service.balance(chart, "wallet").balance == 500


def test_same_key_different_content_is_a_conflict_naming_what_differs(chart):
    f.transfer(chart, "bank", "wallet", 500, key="pay-1")
    chart.commit()
    with pytest.raises(IdempotencyConflict) as caught:
        service.post_entry(
            chart,
            f.entry_in("bank", "wallet", 501, description="other"),
            idempotency_key="pay-1",
        )
    fields = {e.field for e in caught.value.errors}
    assert fields == {"postings", "description"}
    chart.rollback()
    assert counts(chart) == (1, 2)


def test_rejected_request_stores_nothing_and_key_can_be_retried(chart):
    with pytest.raises(errors.BalanceLimitExceeded):
        f.transfer(chart, "wallet", "bank", 100, key="w-1")  # wallet may not overdraw
    chart.rollback()
    assert counts(chart) == (0, 0)
    f.transfer(chart, "bank", "wallet", 100, key="top-up")
    out = f.transfer(chart, "wallet", "bank", 100, key="w-1")
    chart.commit()
    assert out.idempotency_key == "w-1"
    assert service.balance(chart, "wallet").balance == 0


def test_balance_limit_allows_down_to_the_floor_and_no_further(session):
    f.account(session, "bank")
    f.account(session, "overdraft", AccountType.LIABILITY, min_balance=-1_000)
    f.transfer(session, "overdraft", "bank", 1_000)
    with pytest.raises(errors.BalanceLimitExceeded) as caught:
        f.transfer(session, "overdraft", "bank", 1)
    assert caught.value.extra["account"] == "overdraft"
    session.rollback()


def test_frozen_and_closed_accounts_reject_postings(chart):
    f.transfer(chart, "bank", "receivable", 100)
    service.set_account_status(chart, "income", AccountStatus.FROZEN)
    with pytest.raises(errors.AccountNotOpen):
        f.transfer(chart, "bank", "income", 1)
    service.set_account_status(chart, "income", AccountStatus.OPEN)
    f.transfer(chart, "bank", "income", 1)
    with pytest.raises(errors.IllegalStatusChange):
        service.set_account_status(chart, "receivable", AccountStatus.CLOSED)  # has a balance
    f.account(chart, "spare")
    service.set_account_status(chart, "spare", AccountStatus.CLOSED)
    with pytest.raises(errors.AccountNotOpen):
        f.transfer(chart, "spare", "bank", 1)
    with pytest.raises(errors.IllegalStatusChange):
        service.set_account_status(chart, "spare", AccountStatus.OPEN)


def test_reversal_mirrors_the_entry_links_it_and_happens_once(chart):
    original = f.transfer(chart, "bank", "wallet", 700, key="k")
    reversal = service.reverse_entry(chart, original.id, ReverseIn(), idempotency_key="rev")
    chart.commit()
    assert reversal.reverses_id == original.id
    assert [(p.account, p.side) for p in reversal.postings] == [
        ("bank", Side.CREDIT),
        ("wallet", Side.DEBIT),
    ]
    assert service.balance(chart, "wallet").balance == 0
    assert service.reverse_entry(chart, original.id, idempotency_key="rev") == reversal
    with pytest.raises(errors.AlreadyReversed):
        service.reverse_entry(chart, original.id, idempotency_key="rev-2")


def test_reversal_of_unknown_entry_is_not_found(chart):
    import uuid

    with pytest.raises(errors.EntryNotFound):
        service.reverse_entry(chart, uuid.uuid4())


def test_batch_is_all_or_nothing(chart):
    good = f.entry_in("bank", "wallet", 100)
    bad = f.entry_in("wallet", "bank", 1_000)  # overdraws the wallet
    with pytest.raises(errors.BalanceLimitExceeded) as caught:
        service.post_batch(chart, BatchIn(entries=[good, bad]), idempotency_key="b")
    assert caught.value.errors[0].field == "entries.1.postings"
    chart.rollback()
    assert counts(chart) == (0, 0)
    out = service.post_batch(
        chart, BatchIn(entries=[good, f.entry_in("wallet", "income", 40)]), idempotency_key="b"
    )
    chart.commit()
    assert len(out.entries) == 2
    assert {e.batch_id for e in out.entries} == {out.id}
    replay = service.post_batch(
        chart, BatchIn(entries=[good, f.entry_in("wallet", "income", 40)]), idempotency_key="b"
    )
    assert replay.id == out.id
    assert [e.id for e in replay.entries] == [e.id for e in out.entries]
    with pytest.raises(IdempotencyConflict):
        service.post_batch(chart, BatchIn(entries=[good]), idempotency_key="b")


def test_stream_posts_in_chunks_and_skips_already_booked_keys(chart):
    entries = [(f.entry_in("bank", "wallet", i + 1), f"s-{i}") for i in range(25)]
    assert service.post_stream(chart, entries[:10], chunk_size=4) == 10
    chart.commit()
    assert service.post_stream(chart, iter(entries), chunk_size=7) == 15
    chart.commit()
    assert counts(chart) == (25, 50)
    assert service.balance(chart, "wallet").balance == sum(range(1, 26))


def test_stream_refuses_a_key_repeated_within_it(chart):
    entries = [(f.entry_in("bank", "wallet", 1), "same"), (f.entry_in("bank", "wallet", 1), "same")]
    with pytest.raises(ValidationFailed):
        service.post_stream(chart, entries)


def test_fx_conversion_books_two_linked_entries_with_the_rate(session):
    from decimal import Decimal

    f.account(session, "usd-bank", currency="USD")
    f.account(session, "cny-bank")
    f.account(session, "fx-usd", AccountType.EQUITY, currency="USD")
    f.account(session, "fx-cny", AccountType.EQUITY)
    f.account(session, "capital-usd", AccountType.EQUITY, currency="USD")
    service.post_entry(session, f.entry_in("usd-bank", "capital-usd", 100_00, currency="USD"))
    session.commit()
    conversion = {
        "source_account": "usd-bank",
        "target_account": "cny-bank",
        "source_amount": 10_00,
        "rate": Decimal("7.1234"),
        "source_fx_account": "fx-usd",
        "target_fx_account": "fx-cny",
        "idempotency_key": "fx-1",
    }
    first, second = service.convert_currency(session, **conversion)
    session.commit()
    assert first.link_id == second.link_id is not None
    assert second.postings[1].amount == 71_23  # 10.00 USD * 7.1234 = 71.234 -> 71.23 half-even
    assert first.metadata["fx_rate"] == "7.1234"
    assert service.balance(session, "usd-bank").balance == 90_00
    assert service.balance(session, "cny-bank").balance == 71_23
    assert service.convert_currency(session, **conversion) == (first, second)
    with pytest.raises(IdempotencyConflict) as caught:
        service.convert_currency(session, **{**conversion, "rate": Decimal("7.2")})
    assert [e.field for e in caught.value.errors] == ["rate"]


def test_backdated_entry_counts_on_its_date(chart):
    f.transfer(chart, "bank", "wallet", 100, effective_date=TODAY - dt.timedelta(days=3))
    f.transfer(chart, "bank", "wallet", 50)
    chart.commit()
    assert service.balance(chart, "wallet", as_of=TODAY - dt.timedelta(days=4)).balance == 0
    assert service.balance(chart, "wallet", as_of=TODAY - dt.timedelta(days=1)).balance == 100
    assert service.balance(chart, "wallet", as_of=TODAY).balance == 150
