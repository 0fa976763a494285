"""Statement CSV parsing: layouts, exact amounts, bad lines reported with their line number
while the good ones go through, and streaming of large files."""

from __future__ import annotations

import datetime as dt
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from lendbridge.payments.channels.base import Direction, StatementLine
from lendbridge.payments.channels.statement_csv import (
    LineError,
    StatementLayout,
    parse_file,
    parse_statement,
)

HEADER = "trade_date,channel_ref,order_no,direction,amount,currency,status,fee,account,completed_at"
GOOD = "2026-01-15,SG1,P1,pay,1234.56,CNY,SUCCESS,1.73,6222****1234,2026-01-15T17:00:00+08:00"


def _parse(text: str, layout: StatementLayout | None = None, encoding: str = "utf-8"):
    return list(parse_statement([text.encode(encoding)], layout))


def _errors(items: list[StatementLine | LineError]) -> list[tuple[int, str | None]]:
    return [(item.line_no, item.field) for item in items if isinstance(item, LineError)]


def test_a_good_statement() -> None:
    reversal = GOOD.replace("SUCCESS,1.73", "REVERSED,0.00").replace("pay", "collect")
    (first, second) = _parse(f"{HEADER}\r\n{GOOD}\r\n{reversal}\r\n")
    assert first == StatementLine(
        line_no=2,
        trade_date=dt.date(2026, 1, 15),
        channel_ref="SG1",
        order_no="P1",
        direction=Direction.PAY,
        amount=123_456,
        currency="CNY",
        status="succeeded",
        fee=173,
        account="6222****1234",
    )
    assert (second.line_no, second.status, second.fee) == (3, "reversed", 0)  # type: ignore[union-attr]
    assert second.direction is Direction.COLLECT  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("12.345", "more than 2 decimals"),
        ("-12.34", "negative"),
        ("abc", "not a number"),
        ("1e5", "not a number"),
        ("12.", "not a number"),
        ("NaN", "not a number"),
        ("Infinity", "not a number"),
        ("", "empty"),
        ("0.00", "zero"),
        ("92233720368547758.08", "too large"),  # 2**63 fen
        ("1" * 30, "too large"),
        ("１２.００", "not a number"),  # full-width digits
    ],
)
def test_bad_amounts_are_errors_never_rounded(amount: str, message: str) -> None:
    (error,) = _parse(f"{HEADER}\n{GOOD.replace('1234.56', amount)}\n")
    assert isinstance(error, LineError)
    assert (error.line_no, error.field) == (2, "amount")
    assert message in error.message


def test_the_largest_amount_is_exact() -> None:
    (line,) = _parse(f"{HEADER}\n{GOOD.replace('1234.56', '92233720368547758.07')}\n")
    assert line.amount == 2**63 - 1  # type: ignore[union-attr]


def test_bad_lines_are_reported_and_good_lines_still_come_through() -> None:
    lines = [
        HEADER,
        GOOD,
        GOOD.replace("2026-01-15,SG1", "2026-02-30,SG1"),  # 3: no such day
        GOOD.replace("pay", "refund"),  # 4: direction
        GOOD.replace("SUCCESS", "PENDING"),  # 5: status
        GOOD.replace("CNY", "yuan"),  # 6: currency
        GOOD.replace("1.73", "0.001"),  # 7: fee
        GOOD + ",extra",  # 8: field count
        "",  # 9: blank, skipped
        GOOD.replace("P1", "P9"),  # 10: good
    ]
    items = _parse("\n".join(lines) + "\n")
    assert _errors(items) == [
        (3, "trade_date"),
        (4, "direction"),
        (5, "status"),
        (6, "currency"),
        (7, "fee"),
        (8, None),
    ]
    good = [item for item in items if isinstance(item, StatementLine)]
    assert [(line.line_no, line.order_no) for line in good] == [(2, "P1"), (10, "P9")]


def test_line_numbers_count_physical_lines_of_quoted_fields() -> None:
    multi = GOOD.replace("P1", '"P1\nsecond line"')
    items = _parse(f"{HEADER}\n{multi}\n{GOOD.replace('1234.56', 'x')}\n")
    assert items[0].line_no == 2
    assert _errors(items) == [(4, "amount")]


def test_invalid_csv_is_an_error_and_reading_goes_on() -> None:
    broken = GOOD.replace("SG1", '"SG"1')  # text after a closing quote
    items = _parse(f"{HEADER}\n{broken}\n{GOOD}\n")
    assert _errors(items) == [(2, None)]
    assert isinstance(items[1], StatementLine)
    assert items[1].line_no == 3


def test_undecodable_bytes_fail_their_line_only() -> None:
    data = (
        f"{HEADER}\n{GOOD}\n".encode()
        + GOOD.replace("SG1", "SG\x00").encode().replace(b"\x00", b"\xff\xfe")
        + f"\n{GOOD}\n".encode()
    )
    items = list(parse_statement([data]))
    assert _errors(items) == [(3, None)]
    assert [item.line_no for item in items if isinstance(item, StatementLine)] == [2, 4]


def test_a_missing_column_stops_with_one_error() -> None:
    items = _parse(HEADER.replace("status", "state") + "\n" + GOOD + "\n")
    assert items == [LineError(1, "status", "the header has no column 'status'")]


def test_empty_and_header_only_statements() -> None:
    assert _parse("") == [LineError(0, None, "the statement has no header line")]
    assert _parse(HEADER + "\n") == []


def test_a_bank_layout_in_gb18030_with_its_own_words() -> None:
    layout = StatementLayout.from_dict(
        {
            "trade_date": "交易日期",
            "channel_ref": "流水号",
            "order_no": "商户订单号",
            "direction": "收支",
            "amount": "金额(分)",
            "status": "状态",
            "fee": "手续费(分)",
            "account": None,
            "currency": None,
            "amount_unit": "minor",
            "date_format": "%Y%m%d",
            "delimiter": "|",
            "encoding": "gb18030",
            "status_map": {"成功": "succeeded", "退票": "reversed"},
            "direction_map": {"代付": "pay", "代扣": "collect"},
            "thousands_separator": ",",
            "skip_lines": 1,
            "footer_prefixes": ["合计"],
        }
    )
    text = (
        "某某银行 商户对账单 2026-01-15\n"
        "交易日期|流水号|商户订单号|收支|金额(分)|状态|手续费(分)\n"
        "20260115|B001|P1|代付|1,234,56|成功|173\n"
        "20260115|B002|P2|代扣|100|退票|0\n"
        "20260115|B003|P3|代付|12.5|成功|0\n"
        "合计|3|||1,234,756||173\n"
    )
    items = _parse(text, layout, encoding="gb18030")
    first, second, error = items
    assert (first.amount, first.fee, first.currency, first.account) == (123_456, 173, "CNY", None)  # type: ignore[union-attr]
    assert first.trade_date == dt.date(2026, 1, 15)  # type: ignore[union-attr]
    assert (second.direction, second.status) == (Direction.COLLECT, "reversed")  # type: ignore[union-attr]
    assert error == LineError(5, "amount", "'12.5' is not a whole number of minor units")


def test_currencies_have_their_own_decimals() -> None:
    jpy = GOOD.replace("CNY", "JPY").replace("1.73", "0")
    items = _parse(
        f"{HEADER}\n{jpy.replace('1234.56', '1234')}\n{jpy.replace('1234.56', '12.5')}\n"
    )
    assert items[0].amount == 1234  # type: ignore[union-attr]
    assert _errors(items) == [(3, "amount")]


def test_layouts_refuse_unknown_keys_and_bad_values() -> None:
    with pytest.raises(ValueError, match="colunm"):
        StatementLayout.from_dict({"colunm": "x"})
    with pytest.raises(LookupError):
        StatementLayout(encoding="no-such-encoding")
    with pytest.raises(ValueError, match="delimiter"):
        StatementLayout(delimiter=";;")
    with pytest.raises(ValueError, match="amount_unit"):
        StatementLayout.from_dict({"amount_unit": "cents"})
    with pytest.raises(ValueError, match="sideways"):
        StatementLayout(direction_map={"x": "sideways"})


def test_chunk_boundaries_anywhere_give_the_same_lines() -> None:
    text = (
        f"\ufeff{HEADER}\r\n{GOOD}\r\n{GOOD.replace('SG1', '流水1')}\r\n{GOOD.replace('P1', 'P2')}"
    )
    data = text.encode()
    whole = list(parse_statement([data]))
    byte_by_byte = list(parse_statement(data[i : i + 1] for i in range(len(data))))
    assert byte_by_byte == whole
    assert [item.channel_ref for item in whole] == ["SG1", "流水1", "SG1"]  # type: ignore[union-attr]


def test_parse_file_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "statement.csv"
    path.write_text(f"{HEADER}\n{GOOD}\n", encoding="utf-8")
    (line,) = parse_file(path)
    assert isinstance(line, StatementLine)


LINES = 50_000


def _generated(pulled: list[int], lines: int = LINES) -> Iterator[bytes]:
    """A large statement made on demand, counting the lines handed out so far."""
    yield (HEADER + "\n").encode()
    pulled.append(1)
    for start in range(0, lines, 1_000):
        chunk = "".join(
            f"2026-01-15,SG{n},P{n},pay,{n + 1}.{n % 100:02d},CNY,SUCCESS,0.50,6222****1234,x\n"
            for n in range(start, start + 1_000)
        )
        yield chunk.encode()
        pulled.append(pulled[-1] + 1_000)


def test_a_large_statement_is_parsed_as_a_stream() -> None:
    pulled: list[int] = []
    items = parse_statement(_generated(pulled))
    first = next(items)
    assert isinstance(first, StatementLine)
    assert pulled[-1] <= 1_001  # one chunk read, not the file
    count = 1
    for item in items:
        assert isinstance(item, StatementLine)
        # Never more than a chunk of lines read ahead of what has been handed back.
        assert pulled[-1] - item.line_no <= 1_000
        count += 1
    assert count == LINES


def test_memory_stays_flat_while_streaming() -> None:
    pulled: list[int] = []
    tracemalloc.start()
    try:
        count = sum(1 for _ in parse_statement(_generated(pulled, 10_000)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 10_000
    # A chunk and a line at a time: well under what 10,000 parsed lines take (about 5 MB).
    assert peak < 1_500_000
