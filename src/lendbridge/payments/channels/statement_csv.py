"""Channel statement files (CSV) into :class:`StatementLine` objects, as a stream.

Each channel prints its own columns, units, dates and status words; a
:class:`StatementLayout` (channel configuration, ``from_dict`` of the stored JSON) says which.
:func:`parse_statement` reads byte chunks as they arrive and yields one item per line: a
:class:`StatementLine`, or a :class:`LineError` naming the line and the field, so one bad line
never hides the good ones. Memory stays flat whatever the file's size: nothing is kept but the
current chunk and line.

Amounts are read with ``Decimal`` and must be exact in the currency's minor unit: ``12.345``
CNY, negative, non-numeric or 64-bit-overflowing amounts are errors, never rounded.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from lendbridge.kit.money import MAX_MINOR_UNITS, minor_digits
from lendbridge.payments.channels.base import Direction, StatementLine

_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_CURRENCY = re.compile(r"[A-Z]{3}")
# 2**63 has 19 digits; with decimals a real amount stays far below this. Longer strings are
# refused before Decimal sees them (its context rounds past 28 digits).
_MAX_NUMBER_CHARS = 24
CHUNK_BYTES = 65_536


@dataclass(frozen=True)
class StatementLayout:
    """Where each field is in a channel's statement and how it is written. A column set to
    None is absent from the file (``currency`` then comes from ``default_currency``)."""

    trade_date: str = "trade_date"
    direction: str = "direction"
    amount: str = "amount"
    status: str = "status"
    channel_ref: str | None = "channel_ref"
    order_no: str | None = "order_no"
    currency: str | None = "currency"
    fee: str | None = "fee"
    account: str | None = "account"
    amount_unit: Literal["major", "minor"] = "major"  # also for the fee
    date_format: str = "%Y-%m-%d"
    delimiter: str = ","
    encoding: str = "utf-8"  # "gb18030" for many mainland banks
    thousands_separator: str | None = None  # "," when amounts read 1,234.56
    status_map: Mapping[str, str] = field(
        default_factory=lambda: {"SUCCESS": "succeeded", "REVERSED": "reversed"}
    )
    direction_map: Mapping[str, str] = field(
        default_factory=lambda: {"pay": "pay", "collect": "collect"}
    )
    default_currency: str = "CNY"
    skip_lines: int = 0  # title lines before the header
    footer_prefixes: tuple[str, ...] = ()  # summary lines to ignore, e.g. ("合计",)

    def __post_init__(self) -> None:
        if self.amount_unit not in ("major", "minor"):
            raise ValueError("amount_unit must be 'major' or 'minor'")
        if len(self.delimiter) != 1:
            raise ValueError("the delimiter must be one character")
        "".encode(self.encoding)  # an unknown encoding fails here, not mid-file
        for value in self.direction_map.values():
            Direction(value)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StatementLayout:
        """A layout from stored configuration; unknown keys are an error (a typo there would
        otherwise silently fall back to a default column)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown statement layout keys: {', '.join(sorted(unknown))}")
        values = dict(data)
        if "footer_prefixes" in values:
            values["footer_prefixes"] = tuple(values["footer_prefixes"])
        return cls(**values)


@dataclass(frozen=True)
class LineError:
    """A line that could not be read; ``line_no`` counts physical lines from 1 (the header
    is a line), ``field`` is the layout's field name or None for the whole line."""

    line_no: int
    field: str | None
    message: str


class _FieldError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _text_lines(chunks: Iterable[bytes], encoding: str) -> Iterator[str]:
    """Decoded lines with their endings, cut only at ``\\n`` bytes (never inside a character
    in UTF-8 or GB18030). Undecodable bytes become U+FFFD and fail their line."""
    pending: list[bytes] = []
    for chunk in chunks:
        cut = chunk.rfind(b"\n")
        if cut < 0:
            pending.append(chunk)
            continue
        pending.append(chunk[: cut + 1])
        text = b"".join(pending).decode(encoding, errors="replace")
        pending = [chunk[cut + 1 :]]
        yield from io.StringIO(text, newline="")
    rest = b"".join(pending)
    if rest:
        yield from io.StringIO(rest.decode(encoding, errors="replace"), newline="")


def _amount(value: str, currency: str, layout: StatementLayout, name: str) -> int:
    text = value.strip()
    if layout.thousands_separator:
        text = text.replace(layout.thousands_separator, "")
    if not text:
        raise _FieldError(name, "is empty")
    if text.startswith("-"):
        raise _FieldError(name, f"{value!r} is negative")
    if len(text) > _MAX_NUMBER_CHARS:
        raise _FieldError(name, f"{value!r} is too large")
    if not _NUMBER.fullmatch(text):
        raise _FieldError(name, f"{value!r} is not a number")
    if layout.amount_unit == "minor":
        if "." in text:
            raise _FieldError(name, f"{value!r} is not a whole number of minor units")
        minor = int(text)
    else:
        digits = minor_digits(currency)
        try:
            amount = Decimal(text)
            exact = amount.quantize(Decimal(1).scaleb(-digits))
        except InvalidOperation:
            raise _FieldError(name, f"{value!r} is not a number") from None
        if exact != amount:
            raise _FieldError(name, f"{value!r} has more than {digits} decimals for {currency}")
        minor = int(exact.scaleb(digits))
    if minor > MAX_MINOR_UNITS:
        raise _FieldError(name, f"{value!r} is too large")
    return minor


class _LineReader:
    """One row (already split into fields) into a StatementLine, by the header's positions."""

    def __init__(self, layout: StatementLayout, columns: dict[str, int]) -> None:
        self.layout = layout
        self.columns = columns
        self.iso_dates = layout.date_format == "%Y-%m-%d"

    def _get(self, row: list[str], name: str) -> str | None:
        index = self.columns.get(name)
        return None if index is None else row[index].strip()

    def _date(self, value: str) -> dt.date:
        try:
            if self.iso_dates:
                if len(value) != 10:
                    raise ValueError(value)
                return dt.date.fromisoformat(value)
            # time.strptime: a calendar day with no instant, so no naive datetime is made.
            parsed = time.strptime(value, self.layout.date_format)
            return dt.date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)
        except ValueError:
            raise _FieldError(
                "trade_date", f"{value!r} is not a date ({self.layout.date_format})"
            ) from None

    def read(self, row: list[str], line_no: int) -> StatementLine:
        layout = self.layout
        trade_date = self._date(self._get(row, "trade_date") or "")
        currency = self._get(row, "currency")
        if currency is None:
            currency = layout.default_currency
        elif not _CURRENCY.fullmatch(currency):
            raise _FieldError("currency", f"{currency!r} is not an ISO 4217 code")
        direction = layout.direction_map.get(self._get(row, "direction") or "")
        if direction is None:
            raise _FieldError("direction", f"{self._get(row, 'direction')!r} is not a direction")
        status_word = self._get(row, "status") or ""
        status = layout.status_map.get(status_word)
        if status is None:
            raise _FieldError("status", f"{status_word!r} is not a known status")
        amount = _amount(self._get(row, "amount") or "", currency, layout, "amount")
        if amount == 0:
            raise _FieldError("amount", "is zero")
        fee_text = self._get(row, "fee")
        fee = _amount(fee_text, currency, layout, "fee") if fee_text else 0
        return StatementLine(
            line_no=line_no,
            trade_date=trade_date,
            channel_ref=self._get(row, "channel_ref") or None,
            order_no=self._get(row, "order_no") or None,
            direction=Direction(direction),
            amount=amount,
            currency=currency,
            status=status,
            fee=fee,
            account=self._get(row, "account") or None,
        )


_FIELDS = (
    "trade_date",
    "direction",
    "amount",
    "status",
    "channel_ref",
    "order_no",
    "currency",
    "fee",
    "account",
)


def parse_statement(
    chunks: Iterable[bytes], layout: StatementLayout | None = None
) -> Iterator[StatementLine | LineError]:
    """Yield each data line of a statement as a StatementLine or a LineError. A missing
    header, or a column the layout names missing from it, is one LineError and the end
    (nothing can be read)."""
    layout = layout or StatementLayout()
    lines = _text_lines(chunks, layout.encoding)
    reader = csv.reader(lines, delimiter=layout.delimiter, strict=True)
    header: list[str] | None = None
    skipped = 0
    for line_no, row, problem in _rows(reader):
        if header is None and skipped < layout.skip_lines:
            skipped += 1
            continue
        if problem is not None:
            yield LineError(line_no, None, problem)
            if header is None:
                return
            continue
        if header is None:
            header = [name.strip().lstrip("\ufeff") for name in row]
            positions = {name: index for index, name in enumerate(header)}
            columns: dict[str, int] = {}
            for name in _FIELDS:
                column = getattr(layout, name)
                if column is None:
                    continue
                if column not in positions:
                    yield LineError(line_no, name, f"the header has no column {column!r}")
                    return
                columns[name] = positions[column]
            line_reader = _LineReader(layout, columns)
            continue
        if not any(cell.strip() for cell in row):
            continue
        if layout.footer_prefixes and row[0].strip().startswith(layout.footer_prefixes):
            continue
        if len(row) != len(header):
            yield LineError(line_no, None, f"{len(row)} fields where the header has {len(header)}")
            continue
        if any("\ufffd" in cell for cell in row):
            yield LineError(line_no, None, f"bytes that are not {layout.encoding}")
            continue
        try:
            yield line_reader.read(row, line_no)
        except _FieldError as exc:
            yield LineError(line_no, exc.field, exc.message)
    if header is None:
        yield LineError(0, None, "the statement has no header line")


def _rows(reader: Any) -> Iterator[tuple[int, list[str], str | None]]:
    """(first physical line of the record, fields, csv error or None), carrying on after a
    malformed record (the reader starts afresh on the next line)."""
    previous = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield previous + 1, [], f"not valid CSV: {exc}"
            previous = reader.line_num
            continue
        yield previous + 1, row, None
        previous = reader.line_num


def parse_file(
    path: Path, layout: StatementLayout | None = None
) -> Iterator[StatementLine | LineError]:
    """:func:`parse_statement` of a file, read in chunks."""

    def chunks() -> Iterator[bytes]:
        with path.open("rb") as file:
            while chunk := file.read(CHUNK_BYTES):
                yield chunk

    return parse_statement(chunks(), layout)
