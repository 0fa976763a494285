"""Yuan typed by people become integer fen through Decimal; more than two decimals, or
anything that is not an amount, is a field error."""

from __future__ import annotations

import pytest

from lendbridge.web.pages.portal_common import parse_yuan


@pytest.mark.parametrize(
    ("text", "fen"),
    [("1,234.56", 123456), ("¥800", 80000), ("0.01", 1), ("10000", 1000000), ("0.1", 10)],
)
def test_amounts_people_type(text: str, fen: int) -> None:
    assert parse_yuan(text) == (fen, None)


@pytest.mark.parametrize("text", ["", "1.234", "abc", "-5", "0", "1e5", "12.3.4"])
def test_what_is_not_an_amount_is_refused(text: str) -> None:
    fen, problem = parse_yuan(text)
    assert fen is None
    assert problem
