"""Reads: statements with running balance and cursor pagination, trial balance."""

from __future__ import annotations

import datetime as dt

import pytest

from lendbridge.kit.errors import ValidationFailed
from lendbridge.ledger import errors, service
from tests.conftest import TODAY
from tests.ledger import factories as f


def test_statement_pages_cover_every_posting_once_with_running_balance(session):
    f.basic_chart(session)
    amounts = [100 * (i + 1) for i in range(23)]
    for i, amount in enumerate(amounts):
        if i % 5 == 4:
            f.transfer(session, "wallet", "bank", 50)
        f.transfer(session, "bank", "wallet", amount)
    session.commit()
    seen, cursor, expected = [], None, 0
    while True:
        page = service.statement(session, "wallet", cursor=cursor, limit=7)
        seen.extend(page.lines)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len({line.posting_id for line in seen}) == len(seen) == 23 + 4
    for line in seen:
        expected += line.amount if line.side == "credit" else -line.amount
        assert line.balance_after == expected
    assert expected == service.balance(session, "wallet").balance


def test_statement_filters_by_date(session):
    f.basic_chart(session)
    f.transfer(session, "bank", "wallet", 1, effective_date=TODAY - dt.timedelta(days=2))
    f.transfer(session, "bank", "wallet", 2)
    session.commit()
    page = service.statement(session, "wallet", from_date=TODAY)
    assert [line.amount for line in page.lines] == [2]


def test_bad_cursor_names_the_field(session):
    f.basic_chart(session)
    with pytest.raises(ValidationFailed) as caught:
        service.statement(session, "wallet", cursor="not-a-cursor")
    assert caught.value.errors[0].field == "cursor"


def test_unknown_account_balance_is_not_found(session):
    with pytest.raises(errors.AccountNotFound):
        service.balance(session, "nope")


def test_trial_balance_balances_per_currency_now_and_as_of(session):
    f.basic_chart(session)
    f.account(session, "usd", currency="USD")
    f.account(session, "usd-equity", type_=f.AccountType.EQUITY, currency="USD")
    f.transfer(session, "bank", "wallet", 10_000, effective_date=TODAY - dt.timedelta(days=1))
    f.transfer(session, "wallet", "income", 300)
    service.post_entry(session, f.entry_in("usd", "usd-equity", 5_000, currency="USD"))
    session.commit()
    now = service.trial_balance(session)
    assert {t.currency: (t.debit, t.credit, t.balanced) for t in now.totals} == {
        "CNY": (10_000, 10_000, True),
        "USD": (5_000, 5_000, True),
    }
    assert {
        (line.account, line.debit, line.credit) for line in now.lines if line.currency == "CNY"
    } == {
        ("bank", 10_000, 0),
        ("wallet", 0, 9_700),
        ("income", 0, 300),
    }
    yesterday = service.trial_balance(session, as_of=TODAY - dt.timedelta(days=1), currency="CNY")
    assert {(line.account, line.debit, line.credit) for line in yesterday.lines} == {
        ("bank", 10_000, 0),
        ("wallet", 0, 10_000),
    }
    groups = {(g.type, g.currency): (g.debit, g.credit) for g in now.groups}
    assert groups[("income", "CNY")] == (0, 300)
