"""Amounts in yuan with two decimals and separators, rates and dates as each locale writes
them; integer fen in, never a float on the way."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from lendbridge.web import i18n


def test_money_in_both_languages() -> None:
    i18n.use("zh_CN")
    assert i18n.money(123_456_789) == "¥1,234,567.89"
    assert i18n.money(-5) == "-¥0.05"
    assert i18n.money(None) == "—"
    i18n.use("en")
    assert i18n.money(100) == "CN¥1.00"
    i18n.use(i18n.DEFAULT_LOCALE)


def test_rates_and_dates() -> None:
    i18n.use("zh_CN")
    assert i18n.percent(Decimal("23.456")) == "23.46%"
    assert i18n.date(dt.date(2026, 1, 15)) == "2026年1月15日"
    i18n.use("en")
    assert i18n.date(dt.date(2026, 1, 15)) == "Jan 15, 2026"
    i18n.use(i18n.DEFAULT_LOCALE)


@given(st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1))
def test_every_fen_is_shown_exactly(fen: int) -> None:
    i18n.use("zh_CN")
    shown = i18n.money(fen)
    digits = shown.replace("¥", "").replace(",", "").replace("-", "")
    assert Decimal(digits) == abs(Decimal(fen)) / 100
