"""Chart of accounts: open, look up, freeze, close."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lendbridge.kit import clock
from lendbridge.ledger import errors
from lendbridge.ledger.models import NORMAL_SIDE, Account, AccountStatus, AccountType, Side
from lendbridge.ledger.schemas import AccountIn, AccountOut

# Closing is final; frozen accounts may be reopened.
_ALLOWED_STATUS_CHANGES = {
    (AccountStatus.OPEN, AccountStatus.FROZEN),
    (AccountStatus.FROZEN, AccountStatus.OPEN),
    (AccountStatus.OPEN, AccountStatus.CLOSED),
    (AccountStatus.FROZEN, AccountStatus.CLOSED),
}


def to_out(account: Account) -> AccountOut:
    return AccountOut(
        code=account.code,
        name=account.name,
        type=AccountType(account.type),
        normal_side=Side(account.normal_side),
        currency=account.currency,
        status=AccountStatus(account.status),
        owner_type=account.owner_type,
        owner_id=account.owner_id,
        min_balance=account.min_balance,
        created_at=account.created_at,
    )


def open_account(session: Session, request: AccountIn) -> AccountOut:
    """Open an account. Opening the same code again with identical attributes returns it (so
    seeding the chart is idempotent); with different attributes it is a conflict."""
    existing = session.scalar(select(Account).where(Account.code == request.code))
    normal_side = (request.normal_side or NORMAL_SIDE[request.type]).value
    if existing is not None:
        same = (
            existing.name == request.name
            and existing.type == request.type.value
            and existing.currency == request.currency
            and existing.normal_side == normal_side
            and existing.owner_type == request.owner_type
            and existing.owner_id == request.owner_id
            and existing.min_balance == request.min_balance
        )
        if not same:
            raise errors.DuplicateAccount(f"account {request.code} exists with other attributes")
        return to_out(existing)
    now = clock.now()
    account = Account(
        code=request.code,
        name=request.name,
        type=request.type.value,
        normal_side=normal_side,
        currency=request.currency,
        status=AccountStatus.OPEN.value,
        owner_type=request.owner_type,
        owner_id=request.owner_id,
        min_balance=request.min_balance,
        debits_posted=0,
        credits_posted=0,
        debits_pending=0,
        credits_pending=0,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    session.flush()
    return to_out(account)


def _load(session: Session, code: str, *, lock: bool = False) -> Account:
    stmt = select(Account).where(Account.code == code)
    if lock:
        stmt = stmt.with_for_update()
    account = session.scalar(stmt)
    if account is None:
        raise errors.AccountNotFound(f"no account has code {code!r}")
    return account


def get_account(session: Session, code: str) -> AccountOut:
    return to_out(_load(session, code))


def list_accounts(
    session: Session,
    *,
    after: str | None = None,
    limit: int = 100,
    owner_type: str | None = None,
    owner_id: str | None = None,
) -> list[AccountOut]:
    stmt = select(Account).order_by(Account.code).limit(limit)
    if after is not None:
        stmt = stmt.where(Account.code > after)
    if owner_type is not None:
        stmt = stmt.where(Account.owner_type == owner_type)
    if owner_id is not None:
        stmt = stmt.where(Account.owner_id == owner_id)
    return [to_out(a) for a in session.scalars(stmt)]


def set_account_status(session: Session, code: str, status: AccountStatus) -> AccountOut:
    """Freeze, unfreeze or close. Closing needs a zero balance and nothing pending."""
    account = _load(session, code, lock=True)
    current = AccountStatus(account.status)
    if current == status:
        return to_out(account)
    if (current, status) not in _ALLOWED_STATUS_CHANGES:
        raise errors.IllegalStatusChange(f"account {code} cannot go from {current} to {status}")
    if status == AccountStatus.CLOSED and (
        account.debits_posted != account.credits_posted
        or account.debits_pending
        or account.credits_pending
    ):
        raise errors.IllegalStatusChange(
            f"account {code} has a balance or pending amounts; settle them before closing"
        )
    account.status = status.value
    account.updated_at = clock.now()
    session.flush()
    return to_out(account)
