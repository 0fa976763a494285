"""The standard chart of accounts: complete, consistent with its numbering, idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest

from lendbridge.ledger import errors, service
from lendbridge.ledger.chart import CLASS_OF_FIRST_DIGIT, STANDARD_CHART, ChartAccount, load_chart
from lendbridge.ledger.models import AccountType, Side

GLOSSARY = Path(__file__).resolve().parents[2] / "docs" / "glossary.md"
BY_CODE = {a.code: a for a in STANDARD_CHART}


def test_loading_twice_opens_nothing_the_second_time(session):
    assert load_chart(session) == len(STANDARD_CHART)
    session.commit()
    assert load_chart(session) == 0
    session.commit()
    codes = {a.code for a in service.list_accounts(session, limit=500)}
    assert codes == set(BY_CODE)


def test_a_changed_account_is_a_conflict_not_a_silent_edit(session):
    load_chart(session)
    session.commit()
    changed = ChartAccount("1002.001", "Renamed", AccountType.ASSET)
    with pytest.raises(errors.DuplicateAccount):
        load_chart(session, [changed])


@pytest.mark.parametrize(
    ("code", "type_", "currency"),
    [
        ("1002.001", AccountType.ASSET, "CNY"),  # bank settlement, channel A
        ("1002.002", AccountType.ASSET, "CNY"),  # bank settlement, channel B
        ("1002.101", AccountType.ASSET, "USD"),  # USD bank account
        ("3001.001", AccountType.ASSET, "CNY"),  # channel clearing
        ("1303.001", AccountType.ASSET, "CNY"),  # principal receivable
        ("1132.001", AccountType.ASSET, "CNY"),  # interest receivable
        ("1122.001", AccountType.ASSET, "CNY"),  # fee receivable
        ("1132.002", AccountType.ASSET, "CNY"),  # penalty receivable
        ("1304.001", AccountType.ASSET, "CNY"),  # loan-loss provision (contra-asset)
        ("1901.001", AccountType.ASSET, "CNY"),  # suspense
        ("2241.001", AccountType.LIABILITY, "CNY"),  # customer balances
        ("2241.002", AccountType.LIABILITY, "CNY"),  # investor balances
        ("3002.CNY", AccountType.ASSET, "CNY"),  # FX position
        ("3002.USD", AccountType.ASSET, "USD"),  # FX position
        ("4001.001", AccountType.EQUITY, "CNY"),  # capital
        ("6011.001", AccountType.INCOME, "CNY"),  # interest income
        ("6011.002", AccountType.INCOME, "CNY"),  # penalty income
        ("6021.001", AccountType.INCOME, "CNY"),  # fee income
        ("6603.001", AccountType.EXPENSE, "CNY"),  # rounding
        ("6702.001", AccountType.EXPENSE, "CNY"),  # provision expense
        ("6702.002", AccountType.EXPENSE, "CNY"),  # write-off expense
    ],
)
def test_required_accounts(code, type_, currency):
    account = BY_CODE[code]
    assert (account.type, account.currency) == (type_, currency)
    assert " / " in account.name, "names carry English / Chinese"


def test_money_owed_to_parties_cannot_go_negative():
    assert BY_CODE["2241.001"].min_balance == 0
    assert BY_CODE["2241.002"].min_balance == 0


def test_provision_is_a_contra_asset_with_a_credit_normal_side():
    provision = BY_CODE["1304.001"]
    assert (provision.type, provision.normal_side) == (AccountType.ASSET, Side.CREDIT)


def test_codes_follow_the_class_numbering():
    expected = {
        "1": {AccountType.ASSET},
        "2": {AccountType.LIABILITY},
        "3": {AccountType.ASSET, AccountType.LIABILITY},
        "4": {AccountType.EQUITY},
        "6": {AccountType.INCOME, AccountType.EXPENSE},
    }
    for account in STANDARD_CHART:
        first = account.code[0]
        assert first in CLASS_OF_FIRST_DIGIT, account.code
        assert account.type in expected[first], account.code
        assert account.code[:4].isdigit(), account.code


def test_glossary_documents_every_account():
    text = GLOSSARY.read_text(encoding="utf-8")
    missing = [a.code for a in STANDARD_CHART if f"`{a.code}`" not in text]
    assert not missing, f"docs/glossary.md does not list {missing}"
