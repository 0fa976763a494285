"""The posting engine shared by every write path (single entry, batch, reversal, holds); bulk
streams (``ledger/bulk.py``) apply its rules with its error builders in their own pipeline.

One shape for all of them: lock the touched accounts in primary-key order (one statement that
also reads the business date and the entries already booked under the request's keys),
validate and compute new totals and running balances in Python, then write entries, postings,
account totals and day buckets: on PostgreSQL as one statement, on SQLite one statement per
table. Validation in Python gives errors that name the field; the database stands behind it
(balance-limit CHECK, foreign keys, and on PostgreSQL the set-based triggers of migration 0002).
See docs/architecture.md for why the statements have this shape.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import psycopg
from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lendbridge.kit import calendar, clock, db
from lendbridge.kit.errors import ConcurrentRequest, DomainError, FieldError, field_error
from lendbridge.kit.ids import new_id
from lendbridge.kit.money import MAX_MINOR_UNITS
from lendbridge.ledger import errors
from lendbridge.ledger.models import Account, AccountDay, AccountStatus, Entry, Posting, Side
from lendbridge.ledger.schemas import EntryIn

ACCOUNT = cast(Table, Account.__table__)
ENTRY = cast(Table, Entry.__table__)
POSTING = cast(Table, Posting.__table__)
ACCOUNT_DAY = cast(Table, AccountDay.__table__)


@dataclass(slots=True)
class LockedAccount:
    id: int
    code: str
    currency: str
    normal_side: str
    status: str
    min_balance: int | None
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    dirty: bool = False

    @property
    def debit_normal(self) -> bool:
        return self.normal_side == Side.DEBIT

    def posted_balance(self) -> int:
        if self.debit_normal:
            return self.debits_posted - self.credits_posted
        return self.credits_posted - self.debits_posted

    def available(self) -> int:
        if self.debit_normal:
            return self.debits_posted - self.credits_posted - self.credits_pending
        return self.credits_posted - self.debits_posted - self.debits_pending

    def within_limit(self) -> bool:
        return self.min_balance is None or self.available() >= self.min_balance

    def post(self, side: str, amount: int) -> None:
        if side == Side.DEBIT:
            self.debits_posted = _checked_add(self.debits_posted, amount, self.code)
        else:
            self.credits_posted = _checked_add(self.credits_posted, amount, self.code)
        self.dirty = True

    def add_pending(self, side: str, amount: int) -> None:
        """Add (positive) or release (negative) a pending amount on one side."""
        if side == Side.DEBIT:
            self.debits_pending = _checked_add(self.debits_pending, amount, self.code)
        else:
            self.credits_pending = _checked_add(self.credits_pending, amount, self.code)
        self.dirty = True


def _checked_add(total: int, amount: int, code: str) -> int:
    result = total + amount
    if result > MAX_MINOR_UNITS:
        raise errors.AmountOverflow(f"account {code}: totals would exceed {MAX_MINOR_UNITS}")
    return result


LOCK_COLUMNS = (
    Account.id,
    Account.code,
    Account.currency,
    Account.normal_side,
    Account.status,
    Account.min_balance,
    Account.debits_posted,
    Account.credits_posted,
    Account.debits_pending,
    Account.credits_pending,
)


class WorkingSet:
    """The accounts one operation touches, locked until the transaction ends, the business
    date, and the entries already booked under the operation's idempotency keys."""

    def __init__(
        self,
        accounts: Iterable[LockedAccount],
        business_date: dt.date,
        booked: dict[str, tuple[uuid.UUID, str]] | None = None,
    ) -> None:
        self.by_code = {a.code: a for a in accounts}
        self.by_id = {a.id: a for a in self.by_code.values()}
        self.business_date = business_date
        self.booked = booked or {}

    def account(self, code: str, field_path: str) -> LockedAccount:
        found = self.by_code.get(code)
        if found is None:
            raise field_error(errors.UnknownAccount, field_path, f"no account has code {code!r}")
        return found

    def dirty(self) -> list[LockedAccount]:
        return sorted((a for a in self.by_id.values() if a.dirty), key=lambda a: a.id)


# PostgreSQL reads everything the operation needs in one statement: the locked accounts, the
# business date and the entries already booked under the request's idempotency keys. (The
# key lookup sees the snapshot from before the lock wait; a concurrent duplicate that commits
# during the wait is then stopped by the unique index and reported as ConcurrentRequest.)
_PG_LOCK = (
    "SELECT id, code, currency, normal_side, status, min_balance, debits_posted, "
    "credits_posted, debits_pending, credits_pending, "
    "(SELECT business_date FROM platform_business_date WHERE id = 1), "
    "(SELECT json_agg(json_build_array(idempotency_key, id, request_hash)) FROM ledger_entry "
    "WHERE idempotency_key = ANY(%s)) "
    "FROM ledger_account WHERE {key} = ANY(%s) ORDER BY id FOR UPDATE"
)
# One statement per lookup key, not "code = ANY OR id = ANY": prepared statements get generic
# plans, and a generic plan for the OR form scans the whole account table.
_PG_LOCK_BY_CODE = _PG_LOCK.format(key="code")
_PG_LOCK_BY_ID = _PG_LOCK.format(key="id")


def lock_accounts(
    session: Session,
    *,
    codes: Iterable[str] = (),
    ids: Iterable[int] = (),
    keys: Iterable[str] = (),
) -> WorkingSet:
    """Lock accounts by code or id in primary-key order (so two operations over the same
    accounts never deadlock), and read the business date and the entries already booked
    under ``keys``. The key lookup runs after the lock is granted, so a concurrent request
    with the same key that committed meanwhile is seen and replayed, not duplicated."""
    code_list, id_list, key_list = sorted(set(codes)), sorted(set(ids)), sorted(set(keys))
    if code_list and id_list:
        raise ValueError("lock accounts by code or by id, not both")
    pg = db.postgres_connection(session)
    if pg is not None:
        by_id = bool(id_list)
        sql = _PG_LOCK_BY_ID if by_id else _PG_LOCK_BY_CODE
        rows = pg.execute(sql, (key_list, id_list if by_id else code_list)).fetchall()
        if rows:
            booked_rows = rows[0][11] or []
            return WorkingSet(
                [LockedAccount(*row[:10]) for row in rows],
                rows[0][10],
                {k: (uuid.UUID(i), h) for k, i, h in booked_rows},
            )
    accounts = []
    if code_list or id_list:
        stmt = (
            select(*LOCK_COLUMNS)
            .where(or_(Account.code.in_(code_list), Account.id.in_(id_list)))
            .order_by(Account.id)
            .with_for_update()
        )
        accounts = [LockedAccount(*row) for row in session.execute(stmt)]
    booked_map: dict[str, tuple[uuid.UUID, str]] = {}
    if key_list:
        found = session.execute(
            select(Entry.idempotency_key, Entry.id, Entry.request_hash).where(
                Entry.idempotency_key.in_(key_list)
            )
        )
        booked_map = {k: (i, h) for k, i, h in found if k is not None}
    return WorkingSet(accounts, calendar.business_date(session), booked_map)


def request_hash(payload: EntryIn | Any) -> str:
    data = payload.model_dump_json() if hasattr(payload, "model_dump_json") else str(payload)
    return hashlib.sha256(data.encode()).hexdigest()


@dataclass(slots=True)
class StagedPosting:
    line: int
    account: LockedAccount
    side: str
    amount: int
    currency: str
    balance_after: int


@dataclass(slots=True)
class StagedEntry:
    """An entry validated against locked accounts, waiting to be written."""

    id: uuid.UUID
    effective_date: dt.date
    created_at: dt.datetime
    description: str
    metadata: dict[str, Any]
    event_type: str | None
    event_id: str | None
    idempotency_key: str | None
    request_hash: str
    postings: list[StagedPosting]
    reverses_id: uuid.UUID | None = None
    batch_id: uuid.UUID | None = None
    link_id: uuid.UUID | None = None
    hold_id: uuid.UUID | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def stage_entry(
    ws: WorkingSet,
    request: EntryIn,
    *,
    idempotency_key: str | None,
    field_prefix: str = "",
    now: dt.datetime | None = None,
    reverses_id: uuid.UUID | None = None,
    batch_id: uuid.UUID | None = None,
    link_id: uuid.UUID | None = None,
    hold_id: uuid.UUID | None = None,
) -> StagedEntry:
    """Apply one entry to the working set's accounts, refusing it whole on the first problem:
    unknown accounts (all of them), then line by line a currency that is not the account's, an
    account not open or 64-bit overflow, then balance limits in order of first appearance.
    ``ledger_post_entry()`` (migration 0003) applies the same rules in the same order."""
    unknown = [
        (line, posting.account)
        for line, posting in enumerate(request.postings)
        if posting.account not in ws.by_code
    ]
    if unknown:
        raise unknown_accounts_error(field_prefix, unknown)
    staged: list[StagedPosting] = []
    for line, posting in enumerate(request.postings):
        path = f"{field_prefix}postings.{line}"
        account = ws.by_code[posting.account]
        if account.currency != posting.currency:
            raise currency_mismatch_error(path, account.code, account.currency, posting.currency)
        if account.status != AccountStatus.OPEN:
            raise not_open_error(path, account.code, account.status)
        try:
            account.post(posting.side, posting.amount)
        except errors.AmountOverflow:
            raise overflow_error(path, account.code) from None
        staged.append(
            StagedPosting(
                line,
                account,
                posting.side,
                posting.amount,
                posting.currency,
                account.posted_balance(),
            )
        )
    for account in {p.account.id: p.account for p in staged}.values():
        if not account.within_limit():
            raise limit_error(
                f"{field_prefix}postings", account.code, account.available(), account.min_balance
            )
    return StagedEntry(
        id=new_id(),
        effective_date=request.effective_date or ws.business_date,
        created_at=now or clock.now(),
        description=request.description,
        metadata=dict(request.metadata),
        event_type=request.event_type,
        event_id=request.event_id,
        idempotency_key=idempotency_key,
        request_hash=request_hash(request),
        postings=staged,
        reverses_id=reverses_id,
        batch_id=batch_id,
        link_id=link_id,
        hold_id=hold_id,
    )


def check_limits(ws: WorkingSet, field_path: str) -> None:
    for account in ws.dirty():
        if not account.within_limit():
            raise limit_error(field_path, account.code, account.available(), account.min_balance)


# --- the errors of staging, shared with the PostgreSQL posting function's results ------------


def unknown_accounts_error(prefix: str, lines: Sequence[tuple[int, str]]) -> DomainError:
    problems = [
        FieldError(f"{prefix}postings.{line}.account", f"no account has code {code!r}")
        for line, code in lines
    ]
    return errors.UnknownAccount("; ".join(f"{p.field}: {p.message}" for p in problems), problems)


def currency_mismatch_error(path: str, code: str, account_currency: str, asked: str) -> DomainError:
    return field_error(
        errors.CurrencyMismatch,
        f"{path}.currency",
        f"account {code} is in {account_currency}, not {asked}",
    )


def not_open_error(path: str, code: str, status: str) -> DomainError:
    return field_error(errors.AccountNotOpen, f"{path}.account", f"account {code} is {status}")


def overflow_error(path: str, code: str) -> DomainError:
    return field_error(
        errors.AmountOverflow,
        f"{path}.amount",
        f"account {code}: totals would exceed {MAX_MINOR_UNITS}",
    )


def limit_error(path: str, code: str, available: int, minimum: int | None) -> DomainError:
    return field_error(
        errors.BalanceLimitExceeded,
        path,
        f"account {code} would have available balance {available}, below its limit {minimum}",
        account=code,
    )


_UPDATE_TOTALS = (
    update(ACCOUNT)
    .where(ACCOUNT.c.id == bindparam("b_id"))
    .values(
        debits_posted=bindparam("b_dp"),
        credits_posted=bindparam("b_cp"),
        debits_pending=bindparam("b_dpe"),
        credits_pending=bindparam("b_cpe"),
        updated_at=bindparam("b_at"),
    )
)


def write(session: Session, ws: WorkingSet, entries: Sequence[StagedEntry]) -> None:
    """Write staged entries and the working set's new totals: one statement per table (on
    PostgreSQL all of them in one statement)."""
    now = clock.now()
    dirty = ws.dirty()
    pg = db.postgres_connection(session)
    try:
        if pg is not None:
            _write_postgres(pg, entries, dirty, now)
        else:
            _write_portable(session, entries, dirty, now)
    except IntegrityError as exc:
        raise integrity_to_domain(str(exc.orig)) from exc
    except psycopg.errors.IntegrityError as exc:
        raise integrity_to_domain(str(exc)) from exc
    for account in dirty:
        account.dirty = False


def _write_portable(
    session: Session, entries: Sequence[StagedEntry], dirty: list[LockedAccount], now: dt.datetime
) -> None:
    if entries:
        session.execute(insert(ENTRY), [_entry_row(e) for e in entries])
        session.execute(insert(POSTING), [_posting_row(e, p) for e in entries for p in e.postings])
    if dirty:
        session.execute(
            _UPDATE_TOTALS,
            [
                {
                    "b_id": a.id,
                    "b_dp": a.debits_posted,
                    "b_cp": a.credits_posted,
                    "b_dpe": a.debits_pending,
                    "b_cpe": a.credits_pending,
                    "b_at": now,
                }
                for a in dirty
            ],
        )
    if entries:
        db.upsert_add(
            session,
            ACCOUNT_DAY,
            _day_buckets(entries),
            key=("account_id", "day"),
            add=("debits", "credits"),
        )


# On PostgreSQL all writes of an operation are one statement whose text never changes: each
# table's rows travel as one JSON document expanded with json_to_recordset(). The statement
# is prepared once per connection; its size and its parameter count do not grow with the
# number of rows, and encoding the rows is one call to the C JSON encoder per table.
_PG_WRITE = """
WITH new_entries AS (
    INSERT INTO ledger_entry (id, idempotency_key, request_hash, effective_date, created_at,
        description, metadata, event_type, event_id, reverses_id, batch_id, link_id, hold_id,
        posting_count)
    SELECT id, k, h, d, c, ds, m, et, ei, r, b, l, ho, n
    FROM json_to_recordset(%(entries)s::json) AS t(id uuid, k text, h text, d date,
        c timestamptz, ds text,
        m json, et text, ei text, r uuid, b uuid, l uuid, ho uuid, n int)
), new_postings AS (
    INSERT INTO ledger_posting (entry_id, line, account_id, currency, side, amount,
        effective_date, balance_after)
    SELECT e, l, a, c, s, m, d, b
    FROM json_to_recordset(%(postings)s::json) AS t(e uuid, l int, a bigint, c text, s text,
        m bigint, d date, b bigint)
), new_totals AS (
    UPDATE ledger_account AS a SET debits_posted = v.dp, credits_posted = v.cp,
        debits_pending = v.dpe, credits_pending = v.cpe, updated_at = %(now)s
    FROM json_to_recordset(%(totals)s::json) AS v(id bigint, dp bigint, cp bigint,
        dpe bigint, cpe bigint)
    -- The id list lets the planner find the rows through the primary key; it cannot estimate
    -- json_to_recordset's size and would otherwise hash-join against every account.
    WHERE a.id = v.id AND a.id = ANY(%(account_ids)s)
)
INSERT INTO ledger_account_day (account_id, day, debits, credits)
SELECT a, d, dr, cr FROM json_to_recordset(%(days)s::json) AS t(a bigint, d date, dr bigint,
    cr bigint)
ON CONFLICT (account_id, day) DO UPDATE SET debits = ledger_account_day.debits + excluded.debits,
    credits = ledger_account_day.credits + excluded.credits
"""


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, separators=(",", ":"), default=str)


def _write_postgres(
    pg: Any, entries: Sequence[StagedEntry], dirty: list[LockedAccount], now: dt.datetime
) -> None:
    """All writes of the operation in one statement. Constraint and trigger checks run at the
    end of the statement, so the new entries are visible to their postings' checks."""
    params = {
        "now": now,
        "entries": _json(
            [
                {
                    "id": str(e.id),
                    "k": e.idempotency_key,
                    "h": e.request_hash,
                    "d": e.effective_date.isoformat(),
                    "c": e.created_at.isoformat(),
                    "ds": e.description,
                    "m": e.metadata,
                    "et": e.event_type,
                    "ei": e.event_id,
                    "r": e.reverses_id,
                    "b": e.batch_id,
                    "l": e.link_id,
                    "ho": e.hold_id,
                    "n": len(e.postings),
                }
                for e in entries
            ]
        ),
        "postings": _json(
            [
                {
                    "e": str(e.id),
                    "l": p.line,
                    "a": p.account.id,
                    "c": p.currency,
                    "s": p.side,
                    "m": p.amount,
                    "d": e.effective_date.isoformat(),
                    "b": p.balance_after,
                }
                for e in entries
                for p in e.postings
            ]
        ),
        "account_ids": [a.id for a in dirty],
        "totals": _json(
            [
                {
                    "id": a.id,
                    "dp": a.debits_posted,
                    "cp": a.credits_posted,
                    "dpe": a.debits_pending,
                    "cpe": a.credits_pending,
                }
                for a in dirty
            ]
        ),
        "days": _json(
            [
                {
                    "a": d["account_id"],
                    "d": d["day"].isoformat(),
                    "dr": d["debits"],
                    "cr": d["credits"],
                }
                for d in _day_buckets(entries)
            ]
        ),
    }
    pg.execute(_PG_WRITE, params)


def _posting_row(e: StagedEntry, p: StagedPosting) -> dict[str, Any]:
    return {
        "entry_id": e.id,
        "line": p.line,
        "account_id": p.account.id,
        "currency": p.currency,
        "side": p.side,
        "amount": p.amount,
        "effective_date": e.effective_date,
        "balance_after": p.balance_after,
    }


def _entry_row(e: StagedEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "idempotency_key": e.idempotency_key,
        "request_hash": e.request_hash,
        "effective_date": e.effective_date,
        "created_at": e.created_at,
        "description": e.description,
        "metadata": e.metadata,
        "event_type": e.event_type,
        "event_id": e.event_id,
        "reverses_id": e.reverses_id,
        "batch_id": e.batch_id,
        "link_id": e.link_id,
        "hold_id": e.hold_id,
        "posting_count": len(e.postings),
    }


def _day_buckets(entries: Sequence[StagedEntry]) -> list[dict[str, Any]]:
    buckets: dict[tuple[int, dt.date], list[int]] = defaultdict(lambda: [0, 0])
    for e in entries:
        for p in e.postings:
            bucket = buckets[(p.account.id, e.effective_date)]
            bucket[0 if p.side == Side.DEBIT else 1] += p.amount
    # Sorted so concurrent upserts of the same buckets take row locks in one order.
    return [
        {"account_id": account_id, "day": day, "debits": d, "credits": c}
        for (account_id, day), (d, c) in sorted(buckets.items())
    ]


def integrity_to_domain(message: str) -> DomainError:
    """A constraint the Python checks already cover fired anyway: a concurrent writer got
    there first (same idempotency key) or a bug. Either way, a clear error, never a 500."""
    if "idempotency_key" in message:
        return ConcurrentRequest(
            "another request with this idempotency key was committed meanwhile; retry to "
            "receive its result"
        )
    if "reverses_id" in message:
        return errors.AlreadyReversed("the entry has already been reversed")
    if "balance_limit" in message:
        return errors.BalanceLimitExceeded("a posting would take an account past its limit")
    raise RuntimeError(f"unexpected constraint violation: {message}")
