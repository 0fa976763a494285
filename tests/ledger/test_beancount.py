"""The Beancount export: an independent double-entry tool accepts it and agrees with us."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from beancount import loader
from beancount.core import realization

from lendbridge.kit.money import to_major
from lendbridge.ledger import beancount_export, service
from lendbridge.ledger.beancount_export import account_names, beancount_name, export_beancount
from lendbridge.ledger.models import AccountType, Side
from lendbridge.ledger.schemas import EntryIn, PostingIn
from tests.ledger import factories as f
from tests.ledger.test_check import busy_ledger


def load(session, tmp_path):
    path = tmp_path / "ledger.beancount"
    with path.open("w", encoding="utf-8") as out:
        written = export_beancount(session, out)
    entries, problems, _options = loader.load_file(str(path))
    return written, entries, problems


def beancount_balances(entries):
    """Account name -> {currency: Decimal}, debit positive (Beancount's sign convention)."""
    root = realization.realize(entries)
    balances = {}
    for real in realization.iter_children(root):
        inventory = real.balance
        if not inventory.is_empty():
            balances[real.account] = {
                pos.units.currency: pos.units.number for pos in inventory.get_positions()
            }
    return balances


def our_balances(session):
    accounts = service.list_accounts(session, limit=500)
    names = {a.code: beancount_name(a.type, a.code) for a in accounts}
    result = {}
    for a in accounts:
        b = service.balance(session, a.code)
        net = b.debits_posted - b.credits_posted
        if net:
            result[names[a.code]] = {a.currency: to_major(net, a.currency)}
    return result


def test_bean_check_accepts_the_export_and_agrees_on_every_balance(session, tmp_path, monkeypatch):
    # A tiny page size makes the streamed read cross many page boundaries.
    monkeypatch.setattr(beancount_export, "_PAGE", 3)
    busy_ledger(session)
    service.post_entry(
        session,
        EntryIn(
            postings=[
                PostingIn(account="bank", side=Side.DEBIT, amount=1, currency="CNY"),
                PostingIn(account="wallet", side=Side.CREDIT, amount=1, currency="CNY"),
            ],
            description='A "quoted" \\ description\nover two lines',
        ),
    )
    session.commit()
    written, entries, problems = load(session, tmp_path)
    assert problems == []
    assert written == counts_entries(session)
    assert beancount_balances(entries) == our_balances(session)


def counts_entries(session):
    from lendbridge.ledger.check import counts

    return counts(session).entries


def test_export_is_ordered_by_effective_date(session):
    f.basic_chart(session)
    late = f.transfer(session, "bank", "wallet", 300, effective_date=dt.date(2026, 1, 14))
    early = f.transfer(session, "bank", "wallet", 100, effective_date=dt.date(2026, 1, 2))
    session.commit()
    out = io.StringIO()
    export_beancount(session, out)
    text = out.getvalue()
    assert text.index(str(early.id)) < text.index(str(late.id))
    assert "2026-01-02 *" in text
    assert "Assets:Bank  1.00 CNY" in text
    assert "Liabilities:Wallet  -1.00 CNY" in text


def test_an_empty_ledger_exports_a_valid_file(session, tmp_path):
    written, _entries, problems = load(session, tmp_path)
    assert (written, problems) == (0, [])


@pytest.mark.parametrize(
    ("type_", "code", "name"),
    [
        (AccountType.ASSET, "1002.001", "Assets:1002:001"),
        (AccountType.LIABILITY, "2241.001.C0001", "Liabilities:2241:001:C0001"),
        (AccountType.INCOME, "fee_income", "Income:Fee-income"),
        (AccountType.EXPENSE, "x:y.z", "Expenses:X:Y:Z"),
        (AccountType.EQUITY, "-odd", "Equity:X-odd"),
        (AccountType.ASSET, "3002.CNY", "Assets:3002:CNY"),
    ],
)
def test_codes_become_valid_beancount_names(type_, code, name):
    assert beancount_name(type_, code) == name


def test_codes_that_sanitise_alike_stay_distinct():
    names = account_names([(1, "a_b", "asset"), (2, "a-b", "asset"), (3, "a.b", "asset")])
    assert len(set(names.values())) == 3


def test_amounts_keep_every_minor_unit():
    assert beancount_export.amount_text(1, "CNY") == "0.01"
    assert beancount_export.amount_text(120, "CNY") == "1.20"
    assert beancount_export.amount_text(2**63 - 1, "CNY") == "92233720368547758.07"
    assert beancount_export.amount_text(500, "JPY") == "500"
    assert Decimal(beancount_export.amount_text(12345, "USD")) == Decimal("123.45")
