"""Cleaning of the messy formats found in lenders' exports."""

from __future__ import annotations

import pytest

from lendbridge.scoring.cleaning import (
    Change,
    clean_category,
    is_missing,
    normalise_sentinels,
    parse_number,
)


@pytest.mark.parametrize(
    ("raw", "value", "change"),
    [
        ("83.70%", 83.7, Change.PERCENT),
        (" 5 % ", 5.0, Change.PERCENT),
        ("1,234.50", 1234.5, Change.AMOUNT),
        ("¥1,234", 1234.0, Change.AMOUNT),
        ("￥ 12,000,000", 12_000_000.0, Change.AMOUNT),
        ("$99", 99.0, Change.AMOUNT),
        ("1 234 CNY", 1234.0, Change.AMOUNT),
        ("10+ years", 10.0, Change.DURATION),
        ("< 1 year", 0.0, Change.DURATION),
        ("3 years", 3.0, Change.DURATION),
        ("1 year", 1.0, Change.DURATION),
        ("6 months", 0.5, Change.DURATION),
        ("42", 42.0, None),
        ("-3.5", -3.5, None),
        ("1e3", 1000.0, None),
        (7, 7.0, None),
    ],
)
def test_numbers_in_messy_formats(raw: object, value: float, change: Change | None) -> None:
    parsed = parse_number(raw)
    assert parsed.value == pytest.approx(value)
    assert parsed.change == change


@pytest.mark.parametrize("raw", ["abc", "12,34", "1,2345", "%", "10 apples", "inf", "nan%"])
def test_text_that_is_no_number(raw: str) -> None:
    assert parse_number(raw).value is None


@pytest.mark.parametrize("raw", ["", "  ", None, "N/A", "n/a", "NULL", "?", "-999", -999, -999.0])
def test_blanks_and_sentinels_are_missing(raw: object) -> None:
    assert is_missing(raw)


@pytest.mark.parametrize("raw", ["none", "0", 0, "-998", "good"])
def test_real_values_are_not_missing(raw: object) -> None:
    assert not is_missing(raw)


def test_spec_sentinels_add_to_the_defaults() -> None:
    sentinels = normalise_sentinels(["Unknown ", "-1"])
    assert is_missing("unknown", sentinels)
    assert is_missing(-1, sentinels)
    assert is_missing("N/A", sentinels)


def test_categories_are_trimmed() -> None:
    assert clean_category("  rent   free ") == "rent free"
    assert clean_category(3.0) == "3"
