"""The posting engine shared by every write path (single entry, batch, bulk stream, reversal,
holds).

One shape for all of them: lock the touched accounts in primary-key order (one statement that
also reads the business date), validate and compute new totals in Python, then write entries,
postings, account totals and day buckets with one statement each. Validation in Python gives
errors that name the field; the database's constraints (balance-limit CHECK, composite
currency key, deferred balance trigger on PostgreSQL) stand behind it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

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


_LOCK_COLUMNS = (
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
    """The accounts one operation touches, locked until the transaction ends."""

    def __init__(self, accounts: Iterable[LockedAccount], business_date: dt.date) -> None:
        self.by_code = {a.code: a for a in accounts}
        self.by_id = {a.id: a for a in self.by_code.values()}
        self.business_date = business_date

    def account(self, code: str, field_path: str) -> LockedAccount:
        found = self.by_code.get(code)
        if found is None:
            raise field_error(errors.UnknownAccount, field_path, f"no account has code {code!r}")
        return found

    def dirty(self) -> list[LockedAccount]:
        return sorted((a for a in self.by_id.values() if a.dirty), key=lambda a: a.id)


def lock_accounts(
    session: Session, *, codes: Iterable[str] = (), ids: Iterable[int] = ()
) -> WorkingSet:
    """Lock accounts by code or id in primary-key order (so two operations over the same
    accounts never deadlock) and read the business date in the same round trip."""
    code_list, id_list = sorted(set(codes)), sorted(set(ids))
    conditions = []
    if code_list:
        conditions.append(Account.code.in_(code_list))
    if id_list:
        conditions.append(Account.id.in_(id_list))
    if not conditions:
        return WorkingSet((), calendar.business_date(session))
    stmt = (
        select(*_LOCK_COLUMNS, calendar.business_date_column())
        .where(or_(*conditions))
        .order_by(Account.id)
        .with_for_update()
    )
    rows = session.execute(stmt).all()
    if not rows:
        return WorkingSet((), calendar.business_date(session))
    business_date = rows[0][-1]
    if business_date is None:
        raise RuntimeError("the business date is not initialised; run `lendbridge init`")
    accounts = (
        LockedAccount(
            id=r.id,
            code=r.code,
            currency=r.currency,
            normal_side=r.normal_side,
            status=r.status,
            min_balance=r.min_balance,
            debits_posted=r.debits_posted,
            credits_posted=r.credits_posted,
            debits_pending=r.debits_pending,
            credits_pending=r.credits_pending,
        )
        for r in rows
    )
    return WorkingSet(accounts, cast(dt.date, business_date))


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
    """Apply one entry to the working set's accounts, refusing it whole on the first problem."""
    staged: list[StagedPosting] = []
    problems: list[FieldError] = []
    for line, posting in enumerate(request.postings):
        path = f"{field_prefix}postings.{line}"
        account = ws.by_code.get(posting.account)
        if account is None:
            problems.append(
                FieldError(f"{path}.account", f"no account has code {posting.account!r}")
            )
            continue
        if account.currency != posting.currency:
            raise field_error(
                errors.CurrencyMismatch,
                f"{path}.currency",
                f"account {account.code} is in {account.currency}, not {posting.currency}",
            )
        if account.status != AccountStatus.OPEN:
            raise field_error(
                errors.AccountNotOpen,
                f"{path}.account",
                f"account {account.code} is {account.status}",
            )
        account.post(posting.side, posting.amount)
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
    if problems:
        raise errors.UnknownAccount(
            "; ".join(f"{p.field}: {p.message}" for p in problems), problems
        )
    for account in {p.account.id: p.account for p in staged}.values():
        if not account.within_limit():
            raise field_error(
                errors.BalanceLimitExceeded,
                f"{field_prefix}postings",
                f"account {account.code} would have available balance {account.available()}, "
                f"below its limit {account.min_balance}",
                account=account.code,
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
            raise field_error(
                errors.BalanceLimitExceeded,
                field_path,
                f"account {account.code} would have available balance {account.available()}, "
                f"below its limit {account.min_balance}",
                account=account.code,
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
    """Write staged entries and the working set's new totals: one statement per table."""
    now = clock.now()
    try:
        if entries:
            session.execute(insert(ENTRY), [_entry_row(e) for e in entries])
            session.execute(
                insert(POSTING),
                [
                    {
                        "entry_id": e.id,
                        "line": p.line,
                        "account_id": p.account.id,
                        "currency": p.currency,
                        "side": p.side,
                        "amount": p.amount,
                        "effective_date": e.effective_date,
                        "balance_after": p.balance_after,
                    }
                    for e in entries
                    for p in e.postings
                ],
            )
        dirty = ws.dirty()
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
    except IntegrityError as exc:
        raise _integrity_to_domain(exc) from exc
    for account in dirty:
        account.dirty = False


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


def _integrity_to_domain(exc: IntegrityError) -> DomainError:
    """A constraint the Python checks already cover fired anyway: a concurrent writer got
    there first (same idempotency key) or a bug. Either way, a clear error, never a 500."""
    message = str(exc.orig)
    if "idempotency_key" in message:
        return ConcurrentRequest(
            "another request with this idempotency key was committed meanwhile; retry to "
            "receive its result"
        )
    if "reverses_id" in message:
        return errors.AlreadyReversed("the entry has already been reversed")
    if "balance_limit" in message:
        return errors.BalanceLimitExceeded("a posting would take an account past its limit")
    raise exc
