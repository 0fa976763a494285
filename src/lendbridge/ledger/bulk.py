"""Bulk posting: thousands of entries per transaction (a daily close), from plain rows.

The rules are the posting engine's (``engine.stage_entry``): unknown accounts, then line by
line currency, account status and 64-bit overflow, then balance limits in order of first
appearance, each entry applied in stream order with its running balances. What differs is
how the work is done:

* **Light rows.** An entry is a :class:`BulkEntry` (a named tuple of plain values), not a
  Pydantic model. Its shape is checked by a few comparisons (the rules of ``EntryIn``:
  2-500 postings, positive 64-bit amounts, codes, balanced per currency, text lengths), and
  its request hash is built from the same JSON text ``EntryIn.model_dump_json()`` produces,
  so a key booked in bulk replays through ``post_entry`` and vice versa. Entries with
  metadata go through ``EntryIn`` itself (validated and hashed by the model).
* **Per chunk, two reads.** The accounts a chunk touches for the first time in this call are
  locked in primary-key order (one statement) and the chunk's idempotency keys looked up (one
  statement). Locked accounts stay in memory for the rest of the call.
* **COPY.** On PostgreSQL the chunk's entries and postings are sent with ``COPY ... FROM
  STDIN (FORMAT BINARY)``: rows packed with ``struct``, no statement text, no parsing of
  values on either side. Postings go in account order (booking order within an account).
  The COPY of one chunk runs on a worker thread while the next chunk is staged.
* **Once per call.** Account totals and day buckets are written once per call for every
  account the call touched (one ``MERGE`` per effective date, one ``UPDATE``).
* **Atomic.** The call runs in a savepoint: it writes all its entries or nothing, and leaves
  the caller's transaction usable after an error.

Memory holds one chunk of rows plus one small record per account the call touched: it does
not grow with the number of entries. On SQLite the same staging writes through SQLAlchemy
Core in chunks of at most ``PORTABLE_CHUNK_SIZE`` entries (SQLite caps the parameters of a
statement). The database's guards (migrations 0002 and 0009) check what is copied, like any
other write. See docs/architecture.md, "Bulk posting".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
import re
import struct
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from itertools import islice
from operator import itemgetter
from typing import Any, NamedTuple, Protocol

import psycopg
import uuid_utils
from pydantic import ValidationError
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lendbridge.kit import calendar, clock, db
from lendbridge.kit.errors import FieldError, ValidationFailed
from lendbridge.kit.money import MAX_MINOR_UNITS
from lendbridge.ledger import engine
from lendbridge.ledger.engine import LockedAccount
from lendbridge.ledger.models import Account, AccountStatus, Entry
from lendbridge.ledger.schemas import MAX_POSTINGS, EntryIn

MAX_KEY_LENGTH = 200
DEFAULT_CHUNK_SIZE = 5_000
# SQLite limits the parameters of one statement; the portable path locks in smaller chunks.
PORTABLE_CHUNK_SIZE = 500


class BulkPosting(NamedTuple):
    """One line: account code, ``"debit"`` or ``"credit"``, amount in minor units, currency."""

    account: str
    side: str
    amount: int
    currency: str


class BulkEntry(NamedTuple):
    """One journal entry of a bulk stream, as plain values. ``postings`` holds
    :class:`BulkPosting` values or plain ``(account, side, amount, currency)`` tuples."""

    postings: Sequence[tuple[str, str, int, str]]
    idempotency_key: str | None = None
    effective_date: dt.date | None = None
    description: str = ""
    metadata: Mapping[str, Any] | None = None
    event_type: str | None = None
    event_id: str | None = None

    @classmethod
    def from_model(cls, entry: EntryIn, idempotency_key: str | None = None) -> BulkEntry:
        return cls(
            [(p.account, p.side.value, p.amount, p.currency) for p in entry.postings],
            idempotency_key,
            entry.effective_date,
            entry.description,
            entry.metadata or None,
            entry.event_type,
            entry.event_id,
        )

    def to_model(self, field_prefix: str = "") -> EntryIn:
        """The same entry as an ``EntryIn`` (validated); a ValidationFailed naming the field
        (under ``field_prefix``) if it is not a valid entry."""
        postings: Any = self.postings
        if isinstance(postings, list | tuple):
            postings = [
                dict(zip(BulkPosting._fields, p, strict=True))
                if isinstance(p, list | tuple) and len(p) == len(BulkPosting._fields)
                else p
                for p in postings
            ]
        data = {
            "postings": postings,
            "effective_date": self.effective_date,
            "description": self.description,
            "metadata": dict(self.metadata) if self.metadata is not None else {},
            "event_type": self.event_type,
            "event_id": self.event_id,
        }
        try:
            return EntryIn.model_validate(data)
        except ValidationError as exc:
            problems = [
                FieldError(field_prefix + ".".join(str(p) for p in e["loc"]), e["msg"])
                for e in exc.errors()
            ]
            detail = "; ".join(f"{p.field}: {p.message}" for p in problems)
            raise ValidationFailed(detail, problems) from None


# --- checking an entry's shape and hashing it, without a model -------------------------------

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_.]{0,63}")
_DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_CACHE_LIMIT = 4096


class Parsed(NamedTuple):
    """An entry whose shape is valid: its lines as ``(code, is_debit, amount, currency)``, its
    request hash (``engine.request_hash`` of the equivalent ``EntryIn``), its other fields."""

    position: int
    entry: BulkEntry
    key: str | None
    lines: list[tuple[str, bool, int, str]]
    digest: str
    effective_date: dt.date | None
    description: str
    metadata_json: str
    event_type: str | None
    event_id: str | None


def _invalid(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{path}: {message}", [FieldError(path, message)])


class Parser:
    """Checks entries and computes their request hashes; remembers the codes, currencies and
    texts it has already checked (a few thousand at most)."""

    def __init__(self) -> None:
        self._codes: dict[str, str] = {}  # valid code -> its JSON text
        self._currencies: set[str] = set()
        self._texts: dict[str, str] = {}  # description -> its JSON text
        self._dates: dict[dt.date, str] = {}

    def parse(self, entry: BulkEntry, index: int) -> Parsed:
        if entry.__class__ is not BulkEntry:
            raise _invalid(f"entries.{index}", "must be a BulkEntry")
        postings, key, effective_date, description, metadata, event_type, event_id = entry
        if key is not None and (
            key.__class__ is not str or not 0 < len(key) <= MAX_KEY_LENGTH or "\x00" in key
        ):
            raise _invalid(f"entries.{index}.idempotency_key", f"1-{MAX_KEY_LENGTH} characters")
        if metadata:  # rich entries: the model validates and hashes them
            model = entry.to_model(f"entries.{index}.")
            lines = [(p.account, p.side == "debit", p.amount, p.currency) for p in model.postings]
            return Parsed(
                index,
                entry,
                key,
                lines,
                engine.request_hash(model),
                model.effective_date,
                model.description,
                _DUMPS(model.metadata),
                model.event_type,
                model.event_id,
            )
        if postings.__class__ not in (list, tuple) or not 2 <= len(postings) <= MAX_POSTINGS:
            raise _invalid(
                f"entries.{index}.postings", f"must be a list of 2 to {MAX_POSTINGS} postings"
            )
        codes = self._codes
        currencies = self._currencies
        lines = []
        parts = []
        net: dict[str, int] = {}
        for line, posting in enumerate(postings):
            try:
                code, side, amount, currency = posting
            except (TypeError, ValueError):
                raise _invalid(
                    f"entries.{index}.postings.{line}", "must be (account, side, amount, currency)"
                ) from None
            quoted = codes.get(code) if code.__class__ is str else None
            if quoted is None:
                if code.__class__ is not str or not _CODE.fullmatch(code):
                    raise _invalid(
                        f"entries.{index}.postings.{line}.account", "not an account code"
                    )
                if len(codes) >= _CACHE_LIMIT:
                    codes.clear()
                quoted = codes[code] = f'"{code}"'
            if currency.__class__ is not str or currency not in currencies:
                if currency.__class__ is not str or not _CURRENCY.fullmatch(currency):
                    raise _invalid(
                        f"entries.{index}.postings.{line}.currency", "not an ISO 4217 code"
                    )
                currencies.add(currency)
            if amount.__class__ is not int or not 0 < amount <= MAX_MINOR_UNITS:
                raise _invalid(
                    f"entries.{index}.postings.{line}.amount",
                    f"must be an integer from 1 to {MAX_MINOR_UNITS}",
                )
            if side == "debit":
                net[currency] = net.get(currency, 0) + amount
                parts.append(
                    f'{{"account":{quoted},"side":"debit","amount":{amount},'
                    f'"currency":"{currency}"}}'
                )
                lines.append((code, True, amount, currency))
            elif side == "credit":
                net[currency] = net.get(currency, 0) - amount
                parts.append(
                    f'{{"account":{quoted},"side":"credit","amount":{amount},'
                    f'"currency":"{currency}"}}'
                )
                lines.append((code, False, amount, currency))
            else:
                raise _invalid(
                    f"entries.{index}.postings.{line}.side", "must be 'debit' or 'credit'"
                )
        if any(net.values()):
            self._unbalanced(index, lines)
        if len(lines) > 2:  # two balanced lines total one amount: at most 64 bits
            self._check_totals(index, lines)
        if effective_date is None:
            date_json = "null"
        else:
            found = self._dates.get(effective_date) if effective_date.__class__ is dt.date else None
            if found is None:
                if effective_date.__class__ is not dt.date:
                    raise _invalid(f"entries.{index}.effective_date", "must be a date")
                found = self._dates[effective_date] = f'"{effective_date.isoformat()}"'
            date_json = found
        text = self._texts.get(description) if description.__class__ is str else None
        if text is None:
            text = self._description(index, description)
        if event_type is None:
            type_json = "null"
        elif event_type.__class__ is str and _EVENT_TYPE.fullmatch(event_type):
            type_json = f'"{event_type}"'
        else:
            raise _invalid(f"entries.{index}.event_type", "must match ^[a-z][a-z0-9_.]*$ (1-64)")
        id_json = "null" if event_id is None else _event_id(index, event_id)
        # Exactly EntryIn.model_dump_json(): field order, compact separators, raw Unicode.
        document = (
            f'{{"postings":[{",".join(parts)}],"effective_date":{date_json},'
            f'"description":{text},"metadata":{{}},"event_type":{type_json},'
            f'"event_id":{id_json}}}'
        )
        digest = hashlib.sha256(document.encode()).hexdigest()
        return Parsed(
            index,
            entry,
            key,
            lines,
            digest,
            effective_date,
            description,
            "{}",
            event_type,
            event_id,
        )

    @staticmethod
    def _unbalanced(index: int, lines: list[tuple[str, bool, int, str]]) -> None:
        debits: dict[str, int] = {}
        credits: dict[str, int] = {}
        for _, is_debit, amount, currency in lines:
            totals = debits if is_debit else credits
            totals[currency] = totals.get(currency, 0) + amount
        for currency in sorted(debits.keys() | credits.keys()):
            d, c = debits.get(currency, 0), credits.get(currency, 0)
            if d != c:
                raise _invalid(
                    f"entries.{index}.postings",
                    f"unbalanced in {currency}: debits {d} != credits {c}",
                )

    @staticmethod
    def _check_totals(index: int, lines: list[tuple[str, bool, int, str]]) -> None:
        debits: dict[str, int] = {}
        for _, is_debit, amount, currency in lines:
            if is_debit:
                debits[currency] = debits.get(currency, 0) + amount
        for currency in sorted(debits):
            if debits[currency] > MAX_MINOR_UNITS:
                raise _invalid(
                    f"entries.{index}.postings", f"total in {currency} exceeds {MAX_MINOR_UNITS}"
                )

    def _description(self, index: int, description: object) -> str:
        path = f"entries.{index}.description"
        if description.__class__ is not str:
            raise _invalid(path, "must be text")
        assert isinstance(description, str)
        if len(description) > 500:
            raise _invalid(path, "text of at most 500 characters")
        if "\x00" in description:
            raise _invalid(path, "must not contain the NUL character")
        try:
            description.encode()
        except UnicodeEncodeError:
            raise _invalid(path, "not valid Unicode text") from None
        if len(self._texts) >= _CACHE_LIMIT:
            self._texts.clear()
        text: str = _DUMPS(description)
        self._texts[description] = text
        return text


def _event_id(index: int, event_id: object) -> str:
    if event_id.__class__ is str:
        assert isinstance(event_id, str)
        if 0 < len(event_id) <= 200 and "\x00" not in event_id:
            try:
                event_id.encode()
            except UnicodeEncodeError:
                pass
            else:
                return str(_DUMPS(event_id))
    raise _invalid(f"entries.{index}.event_id", "1-200 characters of text")


# --- staging: the engine's rules over locked accounts ----------------------------------------

# (id, key, request hash, effective date, created at, description, metadata JSON, event type,
#  event id, posting count)
EntryRow = tuple[
    bytes, str | None, str, dt.date, dt.datetime, str, str, str | None, str | None, int
]
# (entry id, line, account id, currency, side, amount, effective date, balance after)
PostingRow = tuple[bytes, int, int, str, str, int, dt.date, int]


class Stager:
    """Applies parsed entries to locked accounts in stream order, like ``stage_entry``, and
    collects the rows to write, the accounts whose totals changed and the day buckets."""

    def __init__(self, business_date: dt.date, backend: Backend) -> None:
        self.business_date = business_date
        self.pack_entry = backend.pack_entry
        self.pack_posting = backend.pack_posting
        self.accounts: dict[str, LockedAccount] = {}
        self.dirty: list[LockedAccount] = []
        self.days: DayChanges = {}

    def stage(
        self, p: Parsed, created_at: dt.datetime, entries: list[Any], postings: list[Any]
    ) -> bytes:
        """Stage one entry; returns its id. Raises the engine's error, naming the field
        under ``entries.<position>.``, if the entry breaks a rule."""
        get = self.accounts.get
        lines = p.lines
        located = []
        for line in lines:
            a = get(line[0])
            if a is None:
                raise engine.unknown_accounts_error(
                    f"entries.{p.position}.",
                    [(n, code) for n, (code, *_) in enumerate(lines) if get(code) is None],
                )
            located.append(a)
        effective = p.effective_date or self.business_date
        buckets = self.days.get(effective)
        if buckets is None:
            buckets = self.days[effective] = {}
        entry_id: bytes = uuid_utils.uuid7().bytes
        dirty = self.dirty
        pack = self.pack_posting
        staged = []
        limited = False
        for n, (code, is_debit, amount, currency) in enumerate(lines):
            a = located[n]
            if a.currency != currency:
                raise engine.currency_mismatch_error(
                    f"entries.{p.position}.postings.{n}", code, a.currency, currency
                )
            if a.status != _OPEN:
                raise engine.not_open_error(f"entries.{p.position}.postings.{n}", code, a.status)
            bucket = buckets.get(a.id)
            if bucket is None:
                bucket = buckets[a.id] = [0, 0]
            if is_debit:
                debits = a.debits_posted + amount
                if debits > MAX_MINOR_UNITS:
                    raise engine.overflow_error(f"entries.{p.position}.postings.{n}", code)
                a.debits_posted = debits
                bucket[0] += amount
                balance = debits - a.credits_posted
                side = "debit"
            else:
                credits = a.credits_posted + amount
                if credits > MAX_MINOR_UNITS:
                    raise engine.overflow_error(f"entries.{p.position}.postings.{n}", code)
                a.credits_posted = credits
                bucket[1] += amount
                balance = a.debits_posted - credits
                side = "credit"
            if a.normal_side != "debit":
                balance = -balance
            if not a.dirty:
                a.dirty = True
                dirty.append(a)
            if a.min_balance is not None:
                limited = True
            staged.append(pack(entry_id, n, a.id, currency, side, amount, effective, balance))
        if limited:  # after the whole entry, in order of first appearance (as stage_entry)
            seen: set[int] = set()
            for a in located:
                if a.min_balance is not None and a.id not in seen:
                    seen.add(a.id)
                    if not a.within_limit():
                        raise engine.limit_error(
                            f"entries.{p.position}.postings", a.code, a.available(), a.min_balance
                        )
        postings += staged
        entries.append(
            self.pack_entry(
                entry_id,
                p.key,
                p.digest,
                effective,
                created_at,
                p.description,
                p.metadata_json,
                p.event_type,
                p.event_id,
                len(lines),
            )
        )
        return entry_id

    def take_changes(self) -> tuple[Totals, DayChanges]:
        """The posted totals of the accounts changed since the last call (id, debits,
        credits) and the amounts to add to day buckets; starts afresh."""
        totals = [(a.id, a.debits_posted, a.credits_posted) for a in self.dirty]
        for account in self.dirty:
            account.dirty = False
        self.dirty = []
        days, self.days = self.days, {}
        return totals, days


_OPEN = AccountStatus.OPEN.value

Totals = list[tuple[int, int, int]]  # (account id, debits posted, credits posted)
DayChanges = dict[dt.date, dict[int, list[int]]]  # day -> account id -> [debits, credits]


# --- writing: COPY on PostgreSQL, Core statements elsewhere -----------------------------------


class Booked(NamedTuple):
    entry_id: uuid.UUID
    digest: str


class Backend(Protocol):
    chunk_limit: int

    def lock(
        self, codes: Sequence[str], keys: Sequence[str]
    ) -> tuple[list[LockedAccount], dict[str, Booked]]:
        """Lock accounts by code (primary-key order); the entries booked under ``keys``."""

    def pack_entry(
        self,
        entry_id: bytes,
        key: str | None,
        digest: str,
        effective_date: dt.date,
        created_at: dt.datetime,
        description: str,
        metadata_json: str,
        event_type: str | None,
        event_id: str | None,
        posting_count: int,
    ) -> Any:
        """One entry row in the form ``prepare`` takes."""

    def pack_posting(
        self,
        entry_id: bytes,
        line: int,
        account_id: int,
        currency: str,
        side: str,
        amount: int,
        effective_date: dt.date,
        balance_after: int,
    ) -> Any:
        """One posting row in the form ``prepare`` takes."""

    def prepare(
        self, entries: list[Any], postings: list[Any], totals: Totals, days: DayChanges
    ) -> Any:
        """A chunk's rows, the accounts' new totals and the day-bucket amounts to add, in
        the form ``submit`` sends."""

    def submit(self, prepared: Any) -> None:
        """Write a prepared chunk; may return before it is written (see ``wait``)."""

    def wait(self) -> None:
        """Return when the submitted chunk is written; raise its error if any."""

    def abandon(self) -> None:
        """Wait for submitted work, ignoring its outcome (an error is being raised)."""

    def finish(self) -> None:
        """Wait for submitted work and release what the writer holds."""


_PG_LOCK = (
    "SELECT id, code, currency, normal_side, status, min_balance, debits_posted, "
    "credits_posted, debits_pending, credits_pending FROM ledger_account "
    "WHERE code = ANY(%s::text[]) ORDER BY id FOR UPDATE"
)
_PG_BOOKED = (
    "SELECT idempotency_key, id, request_hash FROM ledger_entry "
    "WHERE idempotency_key = ANY(%s::text[])"
)
_PG_COPY_ENTRIES = (
    "COPY ledger_entry (id, idempotency_key, request_hash, effective_date, created_at, "
    "description, metadata, event_type, event_id, posting_count) FROM STDIN (FORMAT BINARY)"
)
_PG_COPY_POSTINGS = (
    "COPY ledger_posting (entry_id, line, account_id, currency, side, amount, effective_date, "
    "balance_after) FROM STDIN (FORMAT BINARY)"
)
# Every writer of a day bucket holds its account's row lock (this call holds it until the
# transaction ends), so no other transaction can insert these buckets meanwhile: MERGE,
# cheaper than INSERT ... ON CONFLICT (measured ~15 %), is safe here.
_PG_DAYS = """
MERGE INTO ledger_account_day AS t
USING (SELECT * FROM unnest(%(a)s::bigint[], %(dr)s::bigint[], %(cr)s::bigint[]) AS v(a, dr, cr))
    AS v
ON t.account_id = v.a AND t.day = %(d)s
WHEN MATCHED THEN UPDATE SET debits = t.debits + v.dr, credits = t.credits + v.cr
WHEN NOT MATCHED THEN INSERT (account_id, day, debits, credits) VALUES (v.a, %(d)s, v.dr, v.cr)
"""
_PG_TOTALS = """
UPDATE ledger_account AS a SET debits_posted = v.dp, credits_posted = v.cp, updated_at = %(now)s
FROM unnest(%(ids)s::bigint[], %(dp)s::bigint[], %(cp)s::bigint[]) AS v(id, dp, cp)
WHERE a.id = v.id
"""

_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)
_PG_EPOCH_DATE = dt.date(2000, 1, 1)
_PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_NULL = struct.pack(">i", -1)
_INT = struct.Struct(">i")
_COUNT = struct.Struct(">ii").pack
_EMPTY_OBJECT = struct.pack(">i", 2) + b"{}"
# Binary COPY rows. A posting: 8 fields, the currency three letters, the side five or six.
_POSTING_DEBIT = struct.Struct(">hi16siiiqi3si5siqiiiq").pack
_POSTING_CREDIT = struct.Struct(">hi16siiiqi3si6siqiiiq").pack
_ENTRY_HEAD = struct.Struct(">hi16s").pack
_ENTRY_MIDDLE = struct.Struct(">i64siiiq").pack


def _text(value: str | None) -> bytes:
    if value is None:
        return _NULL
    data = value.encode()
    return _INT.pack(len(data)) + data


class PostgresBackend:
    """Binary COPY, then the day buckets and account totals the chunk changed. A chunk is
    written by a worker thread (which waits on the socket, releasing the GIL) while the
    caller stages the next one; never two statements at once on the connection: ``lock``
    runs only after ``wait``."""

    chunk_limit = 1_000_000

    def __init__(self, pg: Any) -> None:
        self.pg = pg
        self._days_since_2000: dict[dt.date, int] = {}
        self._texts: dict[str, bytes] = {}
        self._created_at: dt.datetime | None = None
        self._created_us = 0
        self._executor: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None

    def lock(
        self, codes: Sequence[str], keys: Sequence[str]
    ) -> tuple[list[LockedAccount], dict[str, Booked]]:
        pg = self.pg
        accounts = (
            [LockedAccount(*row) for row in pg.execute(_PG_LOCK, (db.pg_text_array(codes),))]
            if codes
            else []
        )
        booked = (
            {
                k: Booked(i, h)
                for k, i, h in pg.execute(_PG_BOOKED, (db.pg_text_array(keys),)).fetchall()
            }
            if keys
            else {}
        )
        return accounts, booked

    def _day(self, day: dt.date) -> int:
        found = self._days_since_2000.get(day)
        if found is None:
            found = self._days_since_2000[day] = (day - _PG_EPOCH_DATE).days
        return found

    def pack_entry(
        self,
        entry_id: bytes,
        key: str | None,
        digest: str,
        effective_date: dt.date,
        created_at: dt.datetime,
        description: str,
        metadata_json: str,
        event_type: str | None,
        event_id: str | None,
        posting_count: int,
    ) -> bytes:
        if created_at is not self._created_at:
            delta = created_at - _PG_EPOCH
            self._created_at = created_at
            self._created_us = (
                delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds
            )
        key_bytes = _NULL if key is None else _text(key)
        text = self._texts.get(description)
        if text is None:
            if len(self._texts) >= _CACHE_LIMIT:
                self._texts.clear()
            text = self._texts[description] = _text(description)
        return b"".join(
            (
                _ENTRY_HEAD(10, 16, entry_id),
                key_bytes,
                _ENTRY_MIDDLE(
                    64, digest.encode(), 4, self._day(effective_date), 8, self._created_us
                ),
                text,
                _EMPTY_OBJECT if metadata_json == "{}" else _text(metadata_json),
                _NULL if event_type is None else _text(event_type),
                _NULL if event_id is None else _text(event_id),
                _COUNT(4, posting_count),
            )
        )

    def pack_posting(
        self,
        entry_id: bytes,
        line: int,
        account_id: int,
        currency: str,
        side: str,
        amount: int,
        effective_date: dt.date,
        balance_after: int,
    ) -> tuple[int, bytes]:
        if side == "debit":
            return account_id, _POSTING_DEBIT(
                8, 16, entry_id, 4, line, 8, account_id, 3, currency.encode(), 5, b"debit",
                8, amount, 4, self._day(effective_date), 8, balance_after,
            )  # fmt: skip
        return account_id, _POSTING_CREDIT(
            8, 16, entry_id, 4, line, 8, account_id, 3, currency.encode(), 6, b"credit",
            8, amount, 4, self._day(effective_date), 8, balance_after,
        )  # fmt: skip

    def prepare(
        self,
        entries: list[bytes],
        postings: list[tuple[int, bytes]],
        totals: Totals,
        days: DayChanges,
    ) -> _PgChunk:
        # Postings in account order, stable (booking order within an account, so posting ids
        # follow it): the indexes on the account and the trigger's look-ups then go in order.
        postings.sort(key=itemgetter(0))
        rows = [_COPY_HEADER, *map(itemgetter(1), postings), _COPY_TRAILER]
        return _PgChunk(
            _COPY_HEADER + b"".join(entries) + _COPY_TRAILER if entries else b"",
            b"".join(rows) if entries else b"",
            [
                {
                    "d": day,
                    "a": db.pg_array(by_account),
                    "dr": db.pg_array(v[0] for v in by_account.values()),
                    "cr": db.pg_array(v[1] for v in by_account.values()),
                }
                for day, by_account in days.items()
            ],
            {
                "ids": db.pg_array(t[0] for t in totals),
                "dp": db.pg_array(t[1] for t in totals),
                "cp": db.pg_array(t[2] for t in totals),
                "now": clock.now(),
            }
            if totals
            else None,
        )

    def _write(self, chunk: _PgChunk) -> None:
        try:
            with self.pg.cursor() as cursor:
                if chunk.entries:
                    with cursor.copy(_PG_COPY_ENTRIES) as copy:
                        copy.write(chunk.entries)
                    with cursor.copy(_PG_COPY_POSTINGS) as copy:
                        copy.write(chunk.postings)
                for params in chunk.days:
                    cursor.execute(_PG_DAYS, params)
                if chunk.totals is not None:
                    cursor.execute(_PG_TOTALS, chunk.totals)
        except psycopg.errors.IntegrityError as exc:
            raise engine.integrity_to_domain(str(exc)) from exc

    def submit(self, prepared: _PgChunk) -> None:
        self.wait()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="ledger-bulk-write")
        self._pending = self._executor.submit(self._write, prepared)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def abandon(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            futures_wait([pending])
        self.finish()

    def finish(self) -> None:
        self.wait()
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None


class _PgChunk(NamedTuple):
    entries: bytes  # binary COPY data (empty: no rows)
    postings: bytes
    days: list[dict[str, Any]]  # MERGE parameters, one per effective date
    totals: dict[str, Any] | None  # UPDATE parameters


ACCOUNT: Table = engine.ACCOUNT
ENTRY: Table = engine.ENTRY
POSTING: Table = engine.POSTING

_UPDATE_POSTED = (
    update(ACCOUNT)
    .where(ACCOUNT.c.id == bindparam("b_id"))
    .values(
        debits_posted=bindparam("b_dp"),
        credits_posted=bindparam("b_cp"),
        updated_at=bindparam("b_at"),
    )
)


class PortableBackend:
    """Any database SQLAlchemy speaks (SQLite in practice): Core statements, written at once."""

    chunk_limit = PORTABLE_CHUNK_SIZE

    def __init__(self, session: Session) -> None:
        self.session = session

    def lock(
        self, codes: Sequence[str], keys: Sequence[str]
    ) -> tuple[list[LockedAccount], dict[str, Booked]]:
        session = self.session
        accounts = (
            [
                LockedAccount(*row)
                for row in session.execute(
                    select(*engine.LOCK_COLUMNS)
                    .where(Account.code.in_(list(codes)))
                    .order_by(Account.id)
                    .with_for_update()
                )
            ]
            if codes
            else []
        )
        booked = (
            {
                k: Booked(i, h)
                for k, i, h in session.execute(
                    select(Entry.idempotency_key, Entry.id, Entry.request_hash).where(
                        Entry.idempotency_key.in_(list(keys))
                    )
                )
                if k is not None
            }
            if keys
            else {}
        )
        return accounts, booked

    def pack_entry(self, *row: Any) -> EntryRow:
        return row

    def pack_posting(self, *row: Any) -> PostingRow:
        return row

    def prepare(
        self, entries: list[EntryRow], postings: list[PostingRow], totals: Totals, days: DayChanges
    ) -> tuple[list[EntryRow], list[PostingRow], Totals, DayChanges]:
        return entries, postings, totals, days

    def submit(self, prepared: tuple[list[EntryRow], list[PostingRow], Totals, DayChanges]) -> None:
        entries, postings, totals, days = prepared
        session = self.session
        if entries:
            self._insert(entries, postings)
        buckets = sorted((a, d, v) for d, by_account in days.items() for a, v in by_account.items())
        if buckets:
            db.upsert_add(
                session,
                engine.ACCOUNT_DAY,
                [
                    {"account_id": a, "day": d, "debits": v[0], "credits": v[1]}
                    for a, d, v in buckets
                ],
                key=("account_id", "day"),
                add=("debits", "credits"),
            )
        if totals:
            now = clock.now()
            session.execute(
                _UPDATE_POSTED,
                [{"b_id": i, "b_dp": dp, "b_cp": cp, "b_at": now} for i, dp, cp in sorted(totals)],
            )

    def _insert(self, entries: list[EntryRow], postings: list[PostingRow]) -> None:
        session = self.session
        try:
            session.execute(
                insert(ENTRY),
                [
                    {
                        "id": uuid.UUID(bytes=e[0]),
                        "idempotency_key": e[1],
                        "request_hash": e[2],
                        "effective_date": e[3],
                        "created_at": e[4],
                        "description": e[5],
                        "metadata": json.loads(e[6]),
                        "event_type": e[7],
                        "event_id": e[8],
                        "posting_count": e[9],
                    }
                    for e in entries
                ],
            )
            session.execute(
                insert(POSTING),
                [
                    {
                        "entry_id": uuid.UUID(bytes=p[0]),
                        "line": p[1],
                        "account_id": p[2],
                        "currency": p[3],
                        "side": p[4],
                        "amount": p[5],
                        "effective_date": p[6],
                        "balance_after": p[7],
                    }
                    for p in postings
                ],
            )
        except IntegrityError as exc:
            raise engine.integrity_to_domain(str(exc.orig)) from exc

    def wait(self) -> None:
        pass

    def abandon(self) -> None:
        pass

    def finish(self) -> None:
        pass


# --- the whole call --------------------------------------------------------------------------

# Called when a key is booked under a different request hash: raises IdempotencyConflict
# naming what differs (or returns if the stored entry turns out to be the same).
ConflictCheck = Callable[[Booked, BulkEntry, int], None]


def post_bulk(
    session: Session,
    entries: Iterable[BulkEntry],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_booked_differently: ConflictCheck,
) -> int:
    """Post ``entries`` in stream order inside the caller's transaction; return how many
    were written (entries whose key is booked with the same content are skipped). All or
    nothing: on any error nothing of this call remains and the error is raised."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    with _bulk_runtime():
        return _post_in_savepoint(session, entries, chunk_size, on_booked_differently)


_RUNTIME_LOCK = threading.Lock()
_RUNTIME_USERS = 0
_RUNTIME_SAVED: tuple[bool, float] = (True, 0.005)
# A chunk's writer thread needs the GIL for a moment after each statement and each block of
# COPY data; with the default 5 ms switch interval it waits that long behind the staging
# thread each time, and the server idles (measured: ~10 % of the wall time).
_SWITCH_INTERVAL = 0.0005


@contextlib.contextmanager
def _bulk_runtime() -> Iterator[None]:
    """While any bulk call runs in this process: the cyclic garbage collector is paused (a
    call creates no reference cycles, but holds a chunk of rows and a record per touched
    account, which the collector would traverse again and again: ~12 us per entry measured)
    and the interpreter hands the GIL over more often. Both are restored afterwards."""
    global _RUNTIME_USERS, _RUNTIME_SAVED
    with _RUNTIME_LOCK:
        if _RUNTIME_USERS == 0:
            _RUNTIME_SAVED = (gc.isenabled(), sys.getswitchinterval())
            gc.disable()
            sys.setswitchinterval(min(_RUNTIME_SAVED[1], _SWITCH_INTERVAL))
        _RUNTIME_USERS += 1
    try:
        yield
    finally:
        with _RUNTIME_LOCK:
            _RUNTIME_USERS -= 1
            if _RUNTIME_USERS == 0:
                collector, interval = _RUNTIME_SAVED
                sys.setswitchinterval(interval)
                if collector:
                    gc.enable()


def _post_in_savepoint(
    session: Session,
    entries: Iterable[BulkEntry],
    chunk_size: int,
    on_booked_differently: ConflictCheck,
) -> int:
    with session.begin_nested():
        pg = db.postgres_connection(session)
        backend: Backend = PostgresBackend(pg) if pg is not None else PortableBackend(session)
        try:
            return _post(
                backend,
                entries,
                min(chunk_size, backend.chunk_limit),
                calendar.business_date(session),
                on_booked_differently,
            )
        except BaseException:
            backend.abandon()
            raise


def _parsed_chunks(
    parser: Parser, entries: Iterable[BulkEntry], chunk_size: int
) -> Iterator[tuple[list[Parsed], set[str], set[str]]]:
    """The stream in chunks: parsed entries, their keys (unique within the chunk), codes."""
    iterator = iter(entries)
    offset = 0
    parse = parser.parse
    while chunk := list(islice(iterator, chunk_size)):
        parsed = [parse(entry, index) for index, entry in enumerate(chunk, start=offset)]
        offset += len(chunk)
        del chunk
        keys: set[str] = set()
        codes: set[str] = set()
        for p in parsed:
            key = p.key
            if key is not None:
                if key in keys:
                    raise ValidationFailed(
                        f"entries.{p.position}: idempotency key {key!r} repeats within the stream",
                        [FieldError(f"entries.{p.position}", "repeated idempotency key")],
                    )
                keys.add(key)
            for line in p.lines:
                codes.add(line[0])
        yield parsed, keys, codes


def _post(
    backend: Backend,
    entries: Iterable[BulkEntry],
    chunk_size: int,
    business_date: dt.date,
    on_booked_differently: ConflictCheck,
) -> int:
    """Chunk by chunk: lock the chunk's new accounts and read its booked keys, then write the
    previous chunk (in the background on PostgreSQL) while this one is staged. The keys of
    the chunk being written are not in the database yet: they are checked in memory."""
    stager = Stager(business_date, backend)
    accounts = stager.accounts
    stage = stager.stage
    written = 0
    held: Any = None  # the previous chunk, staged, not yet submitted
    held_keys: dict[str, tuple[bytes, str]] = {}
    for parsed, keys, codes in _parsed_chunks(Parser(), entries, chunk_size):
        backend.wait()
        # (The server sorts the arrays for its index scans and the lock takes rows in id order.)
        locked, booked = backend.lock(list(codes.difference(accounts)), list(keys))
        for account in locked:
            accounts[account.code] = account
        if held is not None:
            backend.submit(held)
        in_flight, held_keys = held_keys, {}
        created_at = clock.now()
        entry_rows: list[Any] = []
        posting_rows: list[Any] = []
        for p in parsed:
            key = p.key
            if key is not None:
                original = booked.get(key)
                if original is None and key in in_flight:
                    entry_id, digest = in_flight[key]
                    original = Booked(uuid.UUID(bytes=entry_id), digest)
                if original is not None:
                    if original.digest != p.digest:
                        backend.wait()  # the conflict is reported from the stored entry
                        on_booked_differently(original, p.entry, p.position)
                    continue
                held_keys[key] = (stage(p, created_at, entry_rows, posting_rows), p.digest)
            else:
                stage(p, created_at, entry_rows, posting_rows)
        held = backend.prepare(entry_rows, posting_rows, [], {}) if entry_rows else None
        written += len(entry_rows)
    if held is not None:
        backend.submit(held)
    # Totals and day buckets once per call, for every account it touched: an account that
    # appears in several chunks is updated once (measured: less server work than per chunk).
    totals, days = stager.take_changes()
    if totals:
        backend.submit(backend.prepare([], [], totals, days))
    backend.finish()
    return written
